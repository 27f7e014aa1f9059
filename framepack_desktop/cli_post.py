"""`framepack-desktop post IN --out OUT [...]`: finish a video without a window (issue 18).

    post IN.mp4 --out OUT.mp4 [--interpolate 2|4] [--interpolator flow|rife|FILE]
         [--upscale 2|4] [--upscaler lanczos|realesrgan|MODEL_FILE] [--loop pingpong|crossfade]
         [--trim START:END] [--format mp4|webm|mov-prores|gif|png] [--every K]
         [--models DIR] [--overwrite]

The same `run_post` as the window's Finish panel. Exit status: 0 written, 1 a problem (one line),
130 stopped by Ctrl+C (nothing is left behind).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_CANCELLED = 0, 1, 130


def add_post_command(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("post", help="finish a video: interpolate, upscale, loop, trim, export")
    p.add_argument("input", help="the video to finish (any format FFmpeg reads)")
    p.add_argument("--out", required=True, help="the result (a folder for --format png); never the input")
    p.add_argument("--interpolate", type=int, choices=(2, 4), default=1, help="multiply the frame rate")
    p.add_argument("--interpolator", default="flow",
                   help="flow (OpenCV optical flow, default), rife (the models folder's rife/flownet.pkl) "
                        "or a RIFE 4.x file")
    p.add_argument("--upscale", type=int, choices=(2, 4), default=1, help="multiply width and height")
    p.add_argument("--upscaler", default="lanczos",
                   help="lanczos (default), realesrgan (the models folder's upscale_models/RealESRGAN_x{2,4}plus.pth) "
                        "or an ESRGAN-family model file")
    p.add_argument("--loop", choices=("pingpong", "crossfade"), help="make the video loop")
    p.add_argument("--trim", help="keep START:END, in seconds (1.5:4) or frames (45f:120f); a side may be empty")
    p.add_argument("--format", default="mp4", choices=("mp4", "webm", "mov-prores", "gif", "png"))
    p.add_argument("--every", type=int, default=1, help="with --format png: keep every K-th frame")
    p.add_argument("--models", help="models folder for rife / realesrgan ('demo' for the demo set)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    return p


def run_post_command(args: argparse.Namespace) -> int:
    from .cli_progress import Throttle, format_seconds, stop_on_ctrl_c
    from .engine.errors import JobCancelled
    from .engine.post import PostPlan, run_post

    plan = PostPlan(trim=args.trim, loop=args.loop, upscale=args.upscale, upscaler=args.upscaler,
                    interpolate=args.interpolate, interpolator=args.interpolator, format=args.format,
                    every=args.every)
    throttle = Throttle()

    def progress(p) -> None:
        if throttle.due(p.done >= p.total):
            rate = p.done / p.seconds if p.seconds else 0.0
            eta = (p.total - p.done) / rate if rate else None
            print(f"\r{p.done}/{p.total} frames  {rate:5.1f} fps  ETA {format_seconds(eta)}", end="",
                  file=sys.stderr, flush=True)

    started = time.monotonic()
    with stop_on_ctrl_c("stopping (Ctrl+C again to quit at once)...") as cancel:
        try:
            out = run_post(args.input, Path(args.out), plan, models_dir=_models_dir(args.models), cancel=cancel,
                           progress=progress, overwrite=args.overwrite)
        except JobCancelled:
            print("\nstopped; nothing was written", file=sys.stderr)
            return EXIT_CANCELLED
    print(f"\n{plan.describe()}: wrote {out} in {format_seconds(time.monotonic() - started)}", file=sys.stderr)
    return EXIT_OK


def _models_dir(spec: str | None) -> Path:
    """`--models`, else the settings' folder; the demo set is (re)built on first use, as for a render."""
    from .cli_models import models_folder

    if spec and spec.strip().lower() == "demo":
        from .engine.models.loader import resolve_models_dir

        return resolve_models_dir(spec)
    return models_folder(spec)
