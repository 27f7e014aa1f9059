"""A job's working folder: what has been sampled and decoded, kept so that nothing is lost.

Every section's latents are saved (atomically) as soon as it is sampled, tagged with a
fingerprint of everything that section depended on (the job's plan, `engine/plan.py`), one file per take
(`files.py`). The folder of a running job is locked (`lock.py`, `folder.py`); takes can be listed,
chosen and pruned (`takes.py`); folders whose video was never finished are found for the window's
offer to continue them (`unfinished.py`); `engine/jobfile.py` reads the folder's job.
"""
from .files import DamagedTake, SectionFiles, Take
from ..jobfile import load_job
from ..plan import job_fingerprint, section_fingerprints, timeline_fingerprint
from .folder import JobFolder
from .lock import JobBusy, is_running
from .takes import job_with_take, list_takes, prune_takes
from .unfinished import JobScan, UnfinishedJob, find_unfinished_jobs, scan_job_folders

__all__ = [
    "DamagedTake", "JobBusy", "JobFolder", "JobScan", "SectionFiles", "Take", "UnfinishedJob", "find_unfinished_jobs",
    "is_running", "job_fingerprint", "job_with_take", "list_takes", "load_job", "prune_takes", "scan_job_folders",
    "section_fingerprints", "timeline_fingerprint",
]
