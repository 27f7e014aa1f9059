"""Reopening a job's frame store so that it holds exactly what decoded.json says, or starting anew.

decoded.json lists, in sampling order, the fingerprints of the sections whose frames are in the
store (for an extension, first a marker for the old video's frames). On start the runner keeps the
longest prefix of that list that agrees with this job's chain AND whose frames the store really
holds; every section after it is decoded again from its saved latents (never sampled again).
- resume: the whole list is kept; a crash in the middle of a store write shortens it by one;
- a redo or a switched take: the list differs from the chain, the store starts anew;
- decoded.json, frames.json or frames.bin missing or damaged: reported, the store starts anew;
- frames whose checksum fails (bytes damaged in place): reported, decoded again from where they are.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .jobfolder import JobFolder
from .video.framestore import FrameStore, FrameStoreCorrupt

Span = tuple[int, int]


@dataclass
class OpenedStore:
    store: FrameStore
    decoded: list[str]                      # the kept prefix of the chain's entries
    notes: list[str] = field(default_factory=list)


def _covers(ranges: tuple[Span, ...], span: Span) -> bool:
    a, b = span
    return a >= b or any(lo <= a and b <= hi for lo, hi in ranges)


def open_job_store(folder: JobFolder, entries: list[str], spans: list[Span], num_frames: int,
                   height: int, width: int) -> OpenedStore:
    """The job's frame store and how many of `entries` it holds.

    `spans[k]` is the frame range the store holds once the first k entries are decoded.
    """
    path = folder.path / "frames"
    notes: list[str] = []
    decoded = folder.decoded()
    store = None
    if decoded is None:
        if (path / "frames.json").exists():
            notes.append("The decode progress file (decoded.json) was missing or damaged: the frames are made "
                         "again from the saved sections, which are all kept.")
    else:
        store, problem = _open(path)
        if problem and decoded:
            notes.append(f"The frame store was damaged ({problem}): the frames are made again from the saved "
                         "sections, which are all kept.")
        if store and (store.num_frames, store.height, store.width) != (num_frames, height, width):
            store.close()
            store = None
    keep = 0
    if store is not None and decoded:
        damaged = store.drop_damaged()
        if damaged:
            notes.append(f"{len(damaged)} frames in the frame store failed their checksum (damaged on disk): "
                         "they are made again from the saved sections, which are all kept.")
        agreed = 0
        while agreed < min(len(decoded), len(entries)) and decoded[agreed] == entries[agreed]:
            agreed += 1
        keep = agreed
        while keep > 0 and not _covers(store.valid_ranges, spans[keep]):
            keep -= 1
        if agreed == len(decoded) and keep < len(decoded) - 1:
            # A write cut short by a crash costs the last section; losing more means damage.
            notes.append("The frame store holds fewer frames than recorded: the missing ones are made "
                         "again from the saved sections, which are all kept.")
        if keep:
            # A redo (or another take): the frames of the sections before the first changed one
            # stay; those of the old take after it are no longer valid. Nor are frames beyond a
            # damaged one: they are decoded again with the sections after it.
            store.keep_only(*spans[keep])
    if store is None or keep == 0:
        if store is not None:
            store.close()
        folder.set_decoded([])
        store = FrameStore.create(path, num_frames, height, width)
        keep = 0
    if decoded is None or keep != len(decoded):
        folder.set_decoded(entries[:keep])
    for note in notes:
        folder.log(note)
    return OpenedStore(store, entries[:keep], notes)


def _open(path: Path) -> tuple[FrameStore | None, str]:
    if not (path / "frames.json").exists() and not (path / "frames.bin").exists():
        return None, "it was missing"
    try:
        return FrameStore.open(path), ""
    except FrameStoreCorrupt as e:
        return None, str(e)
    except OSError as e:
        return None, f"{e.filename}: {e.strerror}"
