"""Timestamped prompts: which text drives which part of the video.

A user writes one prompt per moment of the video:

    [0s] a woman waves at the camera
    [2.5s] she turns around
         and walks away          <- continues the 2.5 s prompt
    [1:05] she sits down         <- minutes:seconds

Each section is conditioned on the prompt in force at its start time. Text with no timestamp
is one prompt for the whole video; text above the first timestamp applies from 0 s; if the
first timestamp is later than 0 s, its prompt also covers the start (a video needs a prompt
from its first frame).
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ..errors import BadSettings

# "[2.5s]", "[3.2 s]", "[4 sec]", "[2,5s]", "[0]", "[1:05]", "[1:05.5 s]" at the start of a line.
_STAMP = re.compile(
    r"""^\s*\[\s*
        (?:(\d+)\s*:\s*)?                     # minutes:
        (\d+(?:[.,]\d*)?|[.,]\d+)             # seconds, decimal point or comma
        \s*(?:s|secs?|seconds?)?\s*\]
        \s*(.*)$""",
    re.IGNORECASE | re.VERBOSE,
)
# Lines that open like a timestamp that _STAMP does not read ("[0-2s]", "[1m30s]", "[2s: waves]").
# Sent to the model as text they would silently do nothing, so they are reported instead;
# bracketed words such as "[3D render]" are left alone.
_ALMOST_STAMP = re.compile(
    r"""^\s*\[(?:
        [\d\s.,:;smin-]*\d[\d\s.,:;smin-]*\]    # only digits, units and separators
        | \s*\d[\d.,:]*\s*(?:s|secs?|seconds?)?\s*:  # a timestamp with its text inside the brackets
    )""",
    re.IGNORECASE | re.VERBOSE,
)
# Section start times are computed (e.g. 36 frames / 30 fps); a timestamp typed as the same
# moment must not miss its section by float round-off.
_TIME_TOLERANCE = 1e-6


def parse_timed_prompt(text: str) -> list[tuple[float, str]]:
    """(start seconds, prompt) pairs sorted by time; the first always starts at 0.0."""
    entries: list[tuple[float, list[str], str]] = []  # (time, text parts, the stamp as typed)
    preamble: list[str] = []
    for line in text.splitlines():
        match = _STAMP.match(line)
        if match:
            minutes, seconds, rest = match.groups()
            entries.append((_seconds(minutes, seconds, line), [rest.strip()], line.strip()))
        elif _ALMOST_STAMP.match(line):
            raise BadSettings(
                f"'{line.strip()}' starts like a timestamp but is not one this app reads: "
                "write [2s], [2.5 s] or [1:05] (minutes:seconds) at the start of the line."
            )
        elif line.strip():
            (entries[-1][1] if entries else preamble).append(line.strip())

    if not entries:
        if not preamble:
            raise BadSettings("The prompt is empty: describe the motion you want.")
        return [(0.0, " ".join(preamble))]

    for _, parts, typed in entries:
        if not any(parts):
            raise BadSettings(
                f"The timestamp line '{typed}' has no prompt: write what happens from that moment "
                "after the timestamp, or delete the line."
            )
    timed = sorted(((time, " ".join(p for p in parts if p)) for time, parts, _ in entries), key=lambda e: e[0])
    for (a, _), (b, _) in zip(timed, timed[1:]):
        if b - a <= _TIME_TOLERANCE:
            raise BadSettings(f"Two prompts start at {a:g} s: merge them into one line or change one timestamp.")
    if preamble:
        if timed[0][0] <= _TIME_TOLERANCE:
            raise BadSettings(
                "The text above the first timestamp already applies from 0 s, and there is also a "
                "[0s] prompt: move that text under [0s] or delete the [0s] line."
            )
        return [(0.0, " ".join(preamble)), *timed]
    return [(0.0, timed[0][1]), *timed[1:]]


def prompts_for_sections(
    text: str, section_starts: Sequence[float], overrides: Mapping[int, str] = {}
) -> list[str]:
    """The prompt of each section (TIME index): the one in force at its start time, unless the
    section has its own prompt in `overrides` (blank overrides count as none)."""
    own = {index: prompt.strip() for index, prompt in overrides.items() if prompt.strip()}
    for index in own:
        if not 0 <= index < len(section_starts):
            raise BadSettings(
                f"There is a prompt for section {index}, but the video has only sections 0 to "
                f"{len(section_starts) - 1}: remove that section prompt or make the video longer."
            )
    if not text.strip():
        missing = [index for index in range(len(section_starts)) if index not in own]
        if missing:
            raise BadSettings(
                f"The prompt is empty and section {missing[0]} has no prompt of its own: "
                "describe the motion you want."
            )
        return [own[index] for index in range(len(section_starts))]
    timed = parse_timed_prompt(text)
    return [own.get(index) or _prompt_at(timed, start) for index, start in enumerate(section_starts)]


def _prompt_at(timed: list[tuple[float, str]], seconds: float) -> str:
    current = timed[0][1]
    for start, prompt in timed:
        if start <= seconds + _TIME_TOLERANCE:
            current = prompt
    return current


def _seconds(minutes: str | None, seconds: str, line: str) -> float:
    value = float(seconds.replace(",", "."))
    if minutes is None:
        return value
    if value >= 60:
        raise BadSettings(
            f"The timestamp in '{line.strip()}' has {value:g} in its seconds place: "
            "write minutes:seconds with seconds below 60, e.g. [1:05]."
        )
    return int(minutes) * 60 + value


def unused_timestamps(text: str, section_starts: Sequence[float]) -> list[float]:
    """Timestamps of `text` that no section starts at or after: their prompts are never used (a
    prompt changes only where a section begins), so the user is told instead of left guessing."""
    if not text.strip() or not section_starts:
        return []
    last = max(section_starts)
    return [start for start, _ in parse_timed_prompt(text) if start > last + _TIME_TOLERANCE]
