"""The plan of a job: its sections in sampling and time order, derived once from the Job.

Each section's prompt, seed, noise draw, frame span and fingerprint; which frames the frame store
holds after each decode. The runner samples by it, the job folder names and finds its takes by
it, the window draws it on the timeline before and while the job runs: one computation, so the
three cannot disagree. torch-free, like the Job (the window imports it).

Reading the disk is lazy: the fingerprints hash the input images, and an extension's noise draws
and root fingerprint come from the job(s) it extends; a plan drawn for the form does neither.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from . import fingerprint
from .job import Job
from .sampling.order import frames_of, sampling_orders
from .sampling.prompts import prompts_for_sections


@dataclass(frozen=True)
class SectionPlan:
    """One section as planned (what JobStarted carries and the timeline draws)."""
    section: int          # time index
    order: int            # sampling position, 0 = first sampled
    start_frame: int      # first frame of this section's time range in the final video
    end_frame: int        # one past its last frame
    prompt: str
    seed: int
    anchor: str | None = None   # the keyframe image anchoring it; None: the start image
    blend: tuple[str, float] | None = None  # (the prompt it fades from, that prompt's weight)


@dataclass(frozen=True)
class Plan:
    """A job's sections. `prompts` are per time index (`Plan.of` resolves them from the job)."""

    job: Job
    prompts: tuple[str, ...]

    @classmethod
    def of(cls, job: Job) -> "Plan":
        """The plan of a job; BadSettings when its prompts cannot be resolved."""
        return cls(job, tuple(section_prompts(job)))

    @classmethod
    def draft(cls, job: Job) -> "Plan":
        """The plan of a form still being filled in: with no prompt yet, sections show none."""
        if not job.prompt.strip():
            return cls(job, ("",) * job.num_sections)
        return cls.of(job)

    # ----- order and spans -----
    @cached_property
    def orders(self) -> list[int]:
        """Time indices in the order they are sampled."""
        return sampling_orders(self.job.variant, self.job.num_sections)

    @cached_property
    def sections(self) -> tuple[SectionPlan, ...]:
        """Every section, in time order."""
        job, orders = self.job, self.orders
        anchors, blends = section_anchors(job), section_blends(job, self.prompts)
        return tuple(SectionPlan(s, orders.index(s), *job.section_frames(s), self.prompts[s], job.seed_for(s),
                                 anchors[s], blends[s]) for s in range(job.num_sections))

    @property
    def in_sampling_order(self) -> tuple[SectionPlan, ...]:
        return tuple(self.sections[s] for s in self.orders)

    def decoded_spans(self) -> list[tuple[int, int]]:
        """The frame range the frame store holds after k entries of decoded.json, for each k.

        A continued video's first entry is the old video's frames; then every section adds its
        window after them. F1 grows forwards from the start latent; the original backwards from the end.
        """
        job, w, n = self.job, self.job.window, self.job.num_sections
        if job.continues:
            return [(0, 0)] + [(0, job.extend_frames + 4 * w * k) for k in range(n + 1)]
        if job.variant == "f1":
            return [(0, 0)] + [(0, frames_of(1 + k * w)) for k in range(1, n + 1)]
        counts = [k * w + (1 if k == n else 0) for k in range(1, n + 1)]
        return [(0, 0)] + [(job.num_frames - frames_of(c), job.num_frames) for c in counts]

    # ----- noise -----
    @cached_property
    def extended_sections(self) -> int:
        """Sections sampled for the video this job extends, all the way back (0 for a new video):
        an extension continues their noise draws, so extending an F1 video gives the same latents
        as having made it longer in the first place."""
        return sum(each.num_sections for each in _extended_jobs(self.job))

    def noise_draw(self, section: int) -> int:
        """Which draw of the section's seeded CPU generator is its initial noise."""
        return self.sections[section].order + self.extended_sections

    # ----- fingerprints -----
    @cached_property
    def root(self) -> str:
        """The job's fingerprint: settings, images, extended video (reads the images)."""
        extended = self.job.extend_from and Plan.of(_extended_jobs(self.job)[0]).last_print
        return fingerprint.settings_digest(self.job, extended or "")

    @cached_property
    def prints(self) -> dict[int, str]:
        """Fingerprint per time index, chained in sampling order."""
        return _chain(self.root, self.job, self.orders, list(self.prompts))

    @property
    def last_print(self) -> str:
        """One digest of all of the job's latents: its last-sampled section's fingerprint."""
        return self.prints[self.orders[-1]]

    def previous(self, section: int) -> str:
        """The fingerprint a section's take was chained on (the root for the first sampled)."""
        order = self.orders.index(section)
        return self.root if order == 0 else self.prints[self.orders[order - 1]]


def section_starts(job: Job) -> list[float]:
    """When each section (time index) starts, in seconds; an extension's count from its own start."""
    return [4 * job.window * s / job.fps for s in range(job.num_sections)]


def section_prompts(job: Job) -> list[str]:
    """Each section's prompt (time index); an extension's timestamps count from its own start."""
    return prompts_for_sections(job.prompt, section_starts(job), job.section_prompts)


def section_anchors(job: Job) -> list[str | None]:
    """Each section's keyframe image (time index), None where the start image anchors it.

    A keyframe belongs to the section holding its time; it anchors that section and the later
    ones up to the next keyframe (eichi's method, DESIGN.md section 4). Of two keyframes in one
    section the later one wins.
    """
    out: list[str | None] = [None] * job.num_sections
    span = 4 * job.window
    for t, image in sorted(job.keyframes.items()):
        first = min(int(round(t * job.fps, 6) // span), job.num_sections - 1)
        out[first:] = [image] * (job.num_sections - first)
    return out


def section_blends(job: Job, prompts: tuple[str, ...] | list[str]) -> list[tuple[str, float] | None]:
    """Each section's prompt blend (time index): (the prompt before the change, its weight), or None.

    Where the prompt changes at section b, sections b .. b+N-1 (N = `job.prompt_blend`, as long as
    the new prompt lasts) weigh the old prompt N/(N+1), (N-1)/(N+1) ... 1/(N+1): the change starts
    at its timestamp and is complete N sections later.
    """
    n, blend = len(prompts), job.prompt_blend
    out: list[tuple[str, float] | None] = [None] * n
    for b in range(1, n if blend > 0 else 0):
        if prompts[b] == prompts[b - 1]:
            continue
        for k in range(blend):
            if b + k >= n or prompts[b + k] != prompts[b]:
                break
            out[b + k] = (prompts[b - 1], 1 - (k + 1) / (blend + 1))
    return out


def _links(job: Job, prompts: list[str]) -> list[tuple]:
    """What steers each section beyond its seed and prompt, as it enters its link."""
    anchors, blends = section_anchors(job), section_blends(job, prompts)
    return [((fingerprint.file_digest(a),) if a else ()) + (tuple(b) if b else ()) for a, b in zip(anchors, blends)]


def _chain(root: str, job: Job, orders: list[int], prompts: list[str]) -> dict[int, str]:
    previous, out, extras = root, {}, _links(job, prompts)
    for section in orders:
        previous = fingerprint.link(previous, section, job.seed_for(section), prompts[section], extras[section])
        out[section] = previous
    return out


def _extended_jobs(job: Job) -> list[Job]:
    """The jobs `job` extends, nearest first (reads their job folders)."""
    from .jobfile import load_job

    out = []
    while (out[-1] if out else job).extend_from:
        out.append(load_job(Path((out[-1] if out else job).extend_from)))
    return out


def job_fingerprint(job: Job) -> str:
    """The root of a job's chain (`Plan.root`)."""
    return Plan(job, ()).root


def section_fingerprints(job: Job, orders: list[int], prompts: list[str]) -> dict[int, str]:
    """Fingerprint per time index of `job` sampled in `orders` with `prompts` (per time index)."""
    return _chain(job_fingerprint(job), job, orders, prompts)


def timeline_fingerprint(job: Job) -> str:
    """One digest of all of a job's latents (`Plan.last_print`)."""
    return Plan.of(job).last_print
