"""A job's input images: named by absolute path, pinned by the sha256 of their bytes.

The first run records each image's digest in the job (job.json, the MP4's metadata). A later run
of the same job (resume, continue) finds the image by its path and checks the digest, so a picture
that is gone or was changed is reported with what to do, never silently turned into another video
(every section sampled again from a different picture).
"""
from __future__ import annotations

from pathlib import Path

from .errors import BadImage
from .hashing import file_sha256
from .job import Job


class PinnedImageProblem(BadImage):
    """A recorded input image is gone or changed; `field` names the Job field ("image", "end_image")
    so that a caller can ask where the picture is now."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


_WHAT = {"image": ("start image", "--image"), "end_image": ("end image", "--end-image")}


def pin_inputs(job: Job) -> Job:
    """`job` with each input image's digest recorded; BadImage when a recorded image is gone or
    changed. An image never recorded and missing is left to the image loader to report."""
    changes = {}
    for name, (what, flag) in _WHAT.items():
        path, recorded = getattr(job, name), getattr(job, f"{name}_sha256")
        if not path:
            continue
        if not Path(path).is_file():
            if recorded:
                raise PinnedImageProblem(
                    f"The {what} '{path}' of this job is gone. Put it back there to continue with the saved "
                    f"sections, or choose the file where it is now ({_choose(job, flag)}; the same picture keeps "
                    "every saved section).", name)
            continue
        digest = file_sha256(path)
        if recorded and digest != recorded:
            raise PinnedImageProblem(
                f"The {what} '{path}' changed since this job started (its bytes differ), and the saved sections "
                "were made from the old picture. Put the old picture back to continue them, or choose it where it "
                f"is now ({_choose(job, flag)}); to make a video of the new picture, start a new job.", name)
        changes[f"{name}_sha256"] = digest
    return job.replace(**changes)


def _choose(job: Job, flag: str) -> str:
    return f"command line: framepack-desktop resume \"{job.job_dir}\" {flag} FILE"
