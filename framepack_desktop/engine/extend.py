"""Going on from a finished video: extending it by N seconds, or a new job from one of its frames.

Extend: F1 samples forwards with the history packed from the latents before the window, so a
finished video's latents (in time order, from its job folder) are exactly the history F1 needs
to continue it, whichever variant made it: both variants' timelines are the start image's latent
followed by the sections' latents. The extension is an F1 job whose history starts with those
latents (`Job.extend_from`); its sections' frames are crossfaded onto the old video's last frames
and the result is one video, old + new.

Continue from here: the chosen frame becomes the start image of a new job with the same
settings; the prompt in force at that moment becomes its prompt from 0 s.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import torch
from PIL import Image

from .atomic import atomic_path
from .errors import BadSettings
from .job import Job
from .jobfile import read_job
from .jobfolder import SectionFiles, load_job
from .outputs import fresh_file
from .plan import Plan, section_prompts
from .sampling.order import latents_of
from .sampling.prompts import parse_timed_prompt, prompts_for_sections
from .video.framestore import FrameStore, FrameStoreCorrupt


@dataclass(frozen=True)
class ExtensionBase:
    """The finished video an extension continues: its job, folder and frames."""
    job: Job
    job_dir: Path
    marker: str         # decoded.json's first entry once its frames are in the new frame store
    frames: int

    @property
    def latent_count(self) -> int:
        return latents_of(self.frames)

    def latents(self, start_latent: torch.Tensor) -> torch.Tensor:
        """Every latent of the old video in time order [1, C, T, h, w]; the start latent first."""
        out = _timeline(self.job, self.job_dir, start_latent)
        if out.shape[2] != self.latent_count or out.shape[-2:] != start_latent.shape[-2:]:
            raise BadSettings(
                f"The saved sections in '{self.job_dir}' do not fit this extension (a different size or "
                "length). Extend the video with the settings it was made with."
            )
        return out

    def copy_frames(self, store: FrameStore) -> None:
        """Write the old video's frames into frames [0, frames) of the extension's store."""
        source = self.job_dir / "frames"
        try:
            old = FrameStore.open(source)
        except (FrameStoreCorrupt, OSError) as e:
            raise self._frames_missing() from e
        with old:
            if (old.height, old.width) != (store.height, store.width) or not any(
                a == 0 and b >= self.frames for a, b in old.valid_ranges
            ):
                raise self._frames_missing()
            for lo in range(0, self.frames, 16):
                store.write(lo, old.read_range(lo, min(lo + 16, self.frames)))

    def _frames_missing(self) -> BadSettings:
        return BadSettings(
            f"The frames of the video to extend are missing from '{self.job_dir}'. Finish that job first "
            f"(framepack-desktop resume \"{self.job_dir}\"), then extend it."
        )


def extension_base(job: Job) -> ExtensionBase:
    """The video `job` extends; raises BadSettings when its folder cannot serve as history."""
    job_dir = Path(job.extend_from)
    if not (job_dir / "sections").is_dir():
        raise BadSettings(
            f"'{job_dir}', the job folder of the video to extend, is missing. Extending needs the saved "
            "sections: keep the '.job' folder beside the video."
        )
    old = load_job(job_dir)
    if old.num_frames != job.extend_frames:
        raise BadSettings(
            f"The video in '{job_dir}' has {old.num_frames} frames, not the {job.extend_frames} this "
            "extension was made for: it was changed since. Extend it again."
        )
    for folder, each in _lineage(old, job_dir):
        plan, files = Plan.of(each), SectionFiles(folder)
        missing = [s for s in range(each.num_sections) if not files.exists(s, plan.prints[s])]
        if missing:
            raise BadSettings(
                f"Section {missing[0] + 1} of the job in '{folder}' was never finished. Finish that job first "
                f"(framepack-desktop resume \"{folder}\"), then extend it."
            )
    return ExtensionBase(old, job_dir, "base:" + Plan.of(old).last_print, old.num_frames)


def _lineage(job: Job, job_dir: Path) -> list[tuple[Path, Job]]:
    """A job and, for an extension, the jobs it extends, newest first."""
    out = [(job_dir, job)]
    while out[-1][1].extend_from:
        folder = Path(out[-1][1].extend_from)
        out.append((folder, load_job(folder)))
    return out


def _timeline(job: Job, job_dir: Path, start_latent: torch.Tensor) -> torch.Tensor:
    """A finished job's latents in time order (an extension's include what it extended)."""
    parts = [start_latent.float().cpu()]
    for folder, each in reversed(_lineage(job, job_dir)):
        plan, files = Plan.of(each), SectionFiles(folder)
        for section in range(each.num_sections):
            latents = files.load(section, plan.prints[section])
            if latents is None:
                raise BadSettings(f"Section {section + 1} of the job in '{folder}' is missing: resume that job first.")
            parts.append(latents.float())
    return torch.cat(parts, dim=2)


def _source_job(source: str | os.PathLike) -> tuple[Job, Path]:
    """A job and its folder from a job folder or a video this app made (its folder beside it)."""
    source = Path(source)
    if source.is_dir():
        return load_job(source), source
    job = read_job(source)
    beside = source.with_name(source.stem + ".job")
    return (load_job(beside), beside) if (beside / "sections").is_dir() else (job, job.job_dir)


def extend_job(source: str | os.PathLike, seconds: float, output: str | os.PathLike,
               prompt: str | None = None, **changes) -> Job:
    """A job that adds `seconds` to the video `source` (its MP4 or job folder) with F1.

    The extension keeps the old job's settings (models, resolution, steps, seed...), except the
    variant (F1) and the end image (none: F1 has no end frame). Its prompt defaults to the old
    timed prompt from the old video's end on (what a longer video would have used); timestamps in
    `prompt` count from the extension's start.
    """
    old, job_dir = _source_job(source)
    if prompt is None:  # go on with the old timed prompt, as a longer video would have
        prompt = _prompt_from(old, 4 * old.window * old.num_sections)
    job = old.replace(
        variant="f1", seconds=float(seconds), output=str(output), prompt=prompt, end_image=None,
        section_seeds={}, section_prompts={}, extend_from=str(job_dir), extend_frames=old.num_frames,
    ).replace(**changes)
    return job.validate()


def job_from_frame(source: str | os.PathLike, frame_index: int, output: str | os.PathLike) -> Job:
    """A new job starting from frame `frame_index` of `source` (a job folder or a video).

    The frame is saved losslessly beside `output` as `<name>-start.png` (`-start-2.png`... when
    that name is taken: an existing file is never replaced) and becomes the start
    image; settings are the source job's, without its section overrides. The prompt in force at
    that frame applies from 0 s and later timestamps move back by the frame's time.
    """
    job, job_dir = _source_job(source)
    if not 0 <= frame_index < job.num_frames:
        raise BadSettings(f"Frame {frame_index} is outside the video's {job.num_frames} frames.")
    frame = _read_frame(job, job_dir, Path(source), frame_index)
    output = Path(output)
    image = fresh_file(output.with_name(output.stem + "-start.png"))
    with atomic_path(image) as temp:
        Image.fromarray(frame).save(temp, format="PNG")
    return job.replace(
        image=str(image), output=str(output), prompt=_prompt_from(job, frame_index),
        section_seeds={}, section_prompts={}, extend_from=None, extend_frames=0,
    )


def _prompt_from(job: Job, local: int) -> str:
    """The job's prompt as seen from frame `local` of its own sections (an extension's count from
    its first new frame): the prompt in force there from 0 s, later timestamps moved back."""
    section = min(local // (4 * job.window), job.num_sections - 1)
    t0 = local / job.fps
    if job.section_prompts.get(section, "").strip() or not job.prompt.strip():
        return section_prompts(job)[section]
    timed = parse_timed_prompt(job.prompt)
    now = prompts_for_sections(job.prompt, [t0])[0]
    later = [(t - t0, text) for t, text in timed if t > t0 + 1e-6]
    if not later:
        return now
    return "\n".join([f"[0s] {now}"] + [f"[{t:.3f}s] {text}" for t, text in later])


def _read_frame(job: Job, job_dir: Path, source: Path, index: int) -> np.ndarray:
    """The frame from the job's frame store (exact), else decoded from the video file."""
    try:
        with FrameStore.open(job_dir / "frames") as store:
            if store.is_valid(index) and store.num_frames == job.num_frames:
                return store.read(index)
    except (FrameStoreCorrupt, OSError):
        pass
    video = source if source.is_file() else Path(job.output)
    if not video.is_file():
        raise BadSettings(f"The frames of '{job_dir}' are gone and so is its video '{video}'; nothing to start from.")
    with av.open(str(video)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i == index:
                return frame.to_ndarray(format="rgb24")
    raise BadSettings(f"'{video}' has fewer than {index + 1} frames.")
