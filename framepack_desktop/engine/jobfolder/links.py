"""A job folder is written only inside itself: a part of it that is a symbolic link is refused.

A link inside a job folder (its frame store, log, sections...) would make the app write wherever
the link points: a document truncated and filled with frames. The folder's parts are checked
before anything is written, and the files are opened with no-follow semantics (`atomic.NO_FOLLOW`)
so a link made while the job runs is refused too.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import UserError

PARTS = ("sections", "frames", "frames/frames.bin", "frames/frames.json", "log.txt", "job.json", "state.json",
         "decoded.json", ".lock")


class LinkInJobFolder(UserError):
    """A part of a job folder is a symbolic link."""


def refuse_links(job_dir: Path) -> None:
    """Raise LinkInJobFolder naming the first part of `job_dir` that is a symbolic link."""
    parts = [job_dir / p for p in PARTS]
    sections = job_dir / "sections"
    if sections.is_dir() and not sections.is_symlink():
        parts += sorted(sections.iterdir())
    for path in parts:
        if path.is_symlink():
            raise LinkInJobFolder(
                f"'{path}' in the job folder is a symbolic link: this app never writes through a link in a "
                "job folder. Remove the link (or put the real file or folder there) and try again."
            )
