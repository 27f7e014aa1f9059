"""Cost of byte-identical MP4s: the writer's settings against x264's own defaults.

Two runs of one job must give the same bytes. x264's processor-specific code made this build's
output differ from run to run, and its output depends on its thread count, so the writer asks for
processor-independent output and fixes the thread count (`mp4.X264_PARAMS`, `mp4.X264_THREADS`).
This encodes the same frames, in one run, with x264's defaults (threads chosen per core) and with
the writer's settings, three times each: encode time (best of three), file size, and whether the
three files are identical.

    python -m benchmarks.bench_mp4_determinism [--frames 145] [--width 832 --height 480]
"""
from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from framepack_desktop.engine.video.mp4 import X264_PARAMS, X264_THREADS, write_mp4


def moving_frames(n: int, width: int, height: int) -> list[np.ndarray]:
    """Smooth moving content (gradients and a square), closer to a video than noise is."""
    y, x = np.mgrid[0:height, 0:width]
    frames = []
    for i in range(n):
        f = np.stack([(x + 3 * i) % 256, (y + 2 * i) % 256, ((x + y) // 2 + i) % 256], axis=-1).astype(np.uint8)
        s = (40 + 5 * i) % (width - 64)
        f[100:164, s:s + 64] = 255
        frames.append(f)
    return frames


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=145)
    ap.add_argument("--width", type=int, default=832)
    ap.add_argument("--height", type=int, default=480)
    args = ap.parse_args()
    frames = moving_frames(args.frames, args.width, args.height)
    settings = {
        "x264 defaults (threads per core)": dict(threads=0, x264_params=""),
        f"writer ({X264_PARAMS}, {X264_THREADS} threads)": dict(threads=X264_THREADS, x264_params=X264_PARAMS),
        f"{X264_PARAMS}, one thread": dict(threads=1, x264_params=X264_PARAMS),
    }
    rows = {}
    with tempfile.TemporaryDirectory() as d:
        for name, kwargs in settings.items():
            times, hashes, size = [], set(), 0
            for k in range(3):
                path = Path(d, f"{k}.mp4")
                t = time.perf_counter()
                write_mp4(path, frames, args.width, args.height, metadata='{"bench": true}', **kwargs)
                times.append(time.perf_counter() - t)
                data = path.read_bytes()
                hashes.add(hashlib.sha256(data).hexdigest())
                size = len(data)
            rows[name] = (min(times), size, len(hashes) == 1)
    base_t, base_size, _ = next(iter(rows.values()))
    print(f"{args.frames} frames {args.width}x{args.height}, CRF 16, {os.cpu_count()} CPUs")
    for name, (t, size, same) in rows.items():
        print(f"  {name:40s} {t:6.2f} s ({t / base_t:4.2f}x)  {size / 1e6:6.2f} MB ({size / base_size:4.2f}x)"
              f"  3 runs identical: {same}")


if __name__ == "__main__":
    main()
