"""What a section costs between its decode and its frames in the store: crossfade, uint8, write.

    python -m benchmarks.bench_section_output [--device cuda] [--repeats 5] [--json out.json]

Issue 7 wants a section on the timeline within 1 s of its sampling; the VAE decode is most of
that, and this is the rest. A decoded 640-class chunk (69 frames at 544x704) is crossfaded with
the previous chunk's 33 raw frames, turned into uint8 and written (with fsync) to the frame store.

Two ways, measured in the same run on the same random frames:
- baseline: the engine before this benchmark: frames moved to the CPU as float32, the crossfade
  and the uint8 conversion in numpy (single-threaded), then the store write;
- ours: the engine's `blend.join_chunk`: the crossfade and the conversion where the decoder left
  the frames (torch, the GPU on a GPU machine, all cores on the CPU), only uint8 frames moved to
  the CPU, then the same write.
Reported: the median of `--repeats` runs for each, and ours as a ratio of the baseline.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from framepack_desktop.engine.video.blend import crossfade, join_chunk, pixels_to_uint8
from framepack_desktop.engine.video.framestore import FrameStore

from .meter import device_label, sync

FRAMES, HEIGHT, WIDTH, OVERLAP = 69, 544, 704, 33


def baseline(pixels: torch.Tensor, previous: np.ndarray) -> np.ndarray:
    raw = pixels[0].float().permute(1, 2, 3, 0).cpu().numpy()
    mixed = np.concatenate([raw[:-OVERLAP], crossfade(raw[-OVERLAP:], previous)], axis=0)
    return pixels_to_uint8(mixed)


def ours(pixels: torch.Tensor, previous: np.ndarray) -> np.ndarray:
    """The engine's own path: the runner's decode output handed to `join_chunk`."""
    return join_chunk(pixels[0].float().permute(1, 2, 3, 0), previous, new_is_earlier=True)


def timed(way, pixels: torch.Tensor, previous: np.ndarray, store: FrameStore) -> tuple[float, float, np.ndarray]:
    """(seconds to uint8, seconds including the store write, the frames)."""
    work = pixels.clone()
    sync(work.device)
    start = time.perf_counter()
    frames = way(work, previous)
    converted = time.perf_counter()
    store.write(0, frames)
    return converted - start, time.perf_counter() - start, frames


def measure(args: argparse.Namespace) -> dict:
    device = torch.device(args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu"))
    gen = torch.Generator("cpu").manual_seed(0)
    pixels = (torch.rand(1, 3, FRAMES, HEIGHT, WIDTH, generator=gen) * 2.2 - 1.1).to(device)
    previous = np.random.default_rng(0).uniform(-1, 1, (OVERLAP, HEIGHT, WIDTH, 3)).astype(np.float32)
    folder = Path(tempfile.mkdtemp(prefix="fpd-bench-output-"))
    store = FrameStore.create(folder / "frames", FRAMES, HEIGHT, WIDTH)
    rows: dict[str, list[tuple[float, float]]] = {"baseline (numpy on the CPU)": [], "ours (torch on the device)": []}
    results = {}
    for _ in range(args.repeats):          # interleaved, so load on the machine hits both alike
        for name, way in zip(rows, (baseline, ours)):
            convert_s, total_s, frames = timed(way, pixels, previous, store)
            rows[name].append((convert_s, total_s))
            results[name] = frames
    store.close()
    same = np.array_equal(*results.values())
    out = {"date": time.strftime("%Y-%m-%d %H:%M"), "device": device_label(device), "frames": FRAMES,
           "size": [HEIGHT, WIDTH], "overlap": OVERLAP, "repeats": args.repeats, "identical_frames": same}
    for name, times in rows.items():
        out[name] = {"to_uint8_s": statistics.median(t[0] for t in times),
                     "with_store_write_s": statistics.median(t[1] for t in times)}
    base, new = out["baseline (numpy on the CPU)"], out["ours (torch on the device)"]
    out["ratio_to_uint8"] = new["to_uint8_s"] / base["to_uint8_s"]
    out["ratio_with_write"] = new["with_store_write_s"] / base["with_store_write_s"]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="auto")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--json")
    args = p.parse_args(argv)
    out = measure(args)
    print(f"{out['date']}  {out['device']}  {out['frames']} frames {out['size'][0]}x{out['size'][1]}, "
          f"crossfade over {out['overlap']}, median of {out['repeats']}")
    for name in ("baseline (numpy on the CPU)", "ours (torch on the device)"):
        row = out[name]
        print(f"{name:30} to uint8 {row['to_uint8_s']:.3f} s   with the store write {row['with_store_write_s']:.3f} s")
    print(f"ours / baseline: {out['ratio_to_uint8']:.2f}x to uint8, {out['ratio_with_write']:.2f}x with the write; "
          f"identical frames: {out['identical_frames']}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
