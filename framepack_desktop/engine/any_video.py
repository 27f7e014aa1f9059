"""Continuing any video (not only ours): the job that goes on from a clip with F1.

A clip from anywhere has no saved latents, so its last frames are VAE-encoded into the F1 history
when the job runs (history_seed.AnyVideo). The job records the clip's length in frames at the
job's rate, so its timeline (and every section's frames) is known before a model loads, and a clip
changed since is noticed.
"""
from __future__ import annotations

from .job import Job
from .video.clip import open_clip


def video_job(job: Job) -> Job:
    """`job` (with `video` set) made into a continuation of that clip: F1, no start image, the
    clip's frame count; BadVideo for a file that cannot serve, BadSettings for settings that cannot."""
    clip = open_clip(job.video, job.fps)
    return job.replace(variant="f1", image="", end_image=None, extend_frames=clip.frames).validate()
