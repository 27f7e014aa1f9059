"""Speed and memory of each finishing step at 832x480 (the 640 bucket's landscape size), on this machine.

    python -m benchmarks.bench_post [--short 20] [--long 60] [--json OUT]

Each step runs in a fresh process (`--child`), so its peak RSS is its own (the kernel's high-water
mark, `ru_maxrss`), on a synthetic 30 fps clip with moving texture. A step's figure is the whole
pipeline's output rate (decode, the step, H.264 encode, progress), measured from the first written
frame to the last, beside the baseline measured in the same run: the same clip decoded and
re-encoded with no step. Memory must not grow with length: every cheap step runs at two lengths
and both peaks are reported. The model steps (RIFE, Real-ESRGAN) use random weights at the public
models' real sizes (their speed does not depend on the values) on a few frames only.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 832, 480
MB = 1e6

# name, plan fields, output suffix, short/long lengths (None: the --short/--long given)
STEPS = [
    ("baseline: decode + H.264 encode", {}, ".mp4", None),
    ("trim to the middle half", {"trim": "TRIM"}, ".mp4", None),
    ("loop ping-pong", {"loop": "pingpong"}, ".mp4", None),
    ("loop crossfade", {"loop": "crossfade"}, ".mp4", None),
    ("upscale x2 Lanczos", {"upscale": 2}, ".mp4", None),
    ("upscale x4 Lanczos", {"upscale": 4}, ".mp4", None),
    ("interpolate x2 optical flow", {"interpolate": 2}, ".mp4", None),
    ("interpolate x4 optical flow", {"interpolate": 4}, ".mp4", None),
    ("export WebM VP9", {"format": "webm"}, ".webm", None),
    ("export MOV ProRes", {"format": "mov-prores"}, ".mov", None),
    ("export GIF", {"format": "gif"}, ".gif", None),
    ("export PNG frames", {"format": "png"}, "", None),
    ("interpolate x2 RIFE (v4.6 size)", {"interpolate": 2, "interpolator": "RIFE"}, ".mp4", (3, 5)),
    ("upscale x2 Real-ESRGAN (x2plus size)", {"upscale": 2, "upscaler": "ESRGAN2"}, ".mp4", (1, 2)),
    ("upscale x4 Real-ESRGAN (x4plus size)", {"upscale": 4, "upscaler": "ESRGAN4"}, ".mp4", (1, 2)),
]


def write_clip(path: Path, frames: int) -> Path:
    """A textured pattern sliding 3 px right per frame (optical flow and codecs get real work)."""
    import av
    import numpy as np

    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH + 3 * frames]
    rng = np.random.default_rng(0)
    big = (128 + 60 * np.sin(xx / 9.0) * np.cos(yy / 13.0))[..., None] + rng.normal(0, 12, (HEIGHT, WIDTH + 3 * frames, 3))
    big = big.clip(0, 255).astype(np.uint8)
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=30, options={"crf": "16"})
        s.width, s.height, s.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for i in range(frames):
            f = av.VideoFrame.from_ndarray(np.ascontiguousarray(big[:, 3 * i:3 * i + WIDTH]), format="rgb24")
            f.pts = i
            c.mux(s.encode(f.reformat(format="yuv420p")))
        c.mux(s.encode(None))
    return path


def write_models(folder: Path) -> dict[str, str]:
    """Random weights at the public sizes: RIFE v4.6 (flownet.pkl), RealESRGAN_x2plus / x4plus."""
    import torch

    from framepack_desktop.engine.post.ifnet import IFNet
    from framepack_desktop.engine.post.rrdbnet import RRDBNet

    folder.mkdir(parents=True, exist_ok=True)
    paths = {"RIFE": folder / "flownet.pkl", "ESRGAN2": folder / "x2.pth", "ESRGAN4": folder / "x4.pth"}
    torch.save(IFNet().state_dict(), paths["RIFE"])
    torch.save({"params_ema": RRDBNet(scale=2).state_dict()}, paths["ESRGAN2"])
    torch.save({"params_ema": RRDBNet(scale=4).state_dict()}, paths["ESRGAN4"])
    return {k: str(v) for k, v in paths.items()}


def child(args: argparse.Namespace) -> None:
    """Run one plan in this process; print a JSON line with times and memory."""
    import psutil

    from framepack_desktop.engine.post import PostPlan, run_post

    plan = PostPlan(**json.loads(args.plan))
    times: list[float] = []
    rss_before = psutil.Process().memory_info().rss
    started = time.perf_counter()
    run_post(args.input, Path(args.out), plan, progress=lambda p: times.append(time.perf_counter()))
    total = time.perf_counter() - started
    steady = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else len(times) / total
    print(json.dumps({"frames": len(times), "total_s": total, "fps": steady, "first_frame_s": times[0] - started,
                      "rss_before_mb": rss_before / MB,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MB}))


def run_step(clip: Path, out: Path, plan: dict) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p))
    done = subprocess.run([sys.executable, "-m", "benchmarks.bench_post", "--child", "--input", str(clip),
                           "--out", str(out), "--plan", json.dumps(plan)],
                          cwd=REPO, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--short", type=int, default=20)
    p.add_argument("--long", type=int, default=60)
    p.add_argument("--json")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--input", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    p.add_argument("--plan", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return child(args)

    import torch

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        models = write_models(tmp / "models")
        clips: dict[int, Path] = {}
        print(f"{'step':<40} {'frames':>13} {'fps':>13} {'x baseline':>10} {'peak RSS MB':>15}")
        baseline = None
        for n, (name, plan, suffix, lengths) in enumerate(STEPS):
            row = {"step": name, "runs": []}
            for length in lengths or (args.short, args.long):
                clip = clips.get(length) or clips.setdefault(length, write_clip(tmp / f"clip{length}.mp4", length))
                fields = {k: models.get(v, v) if isinstance(v, str) else v for k, v in plan.items()}
                if fields.get("trim") == "TRIM":
                    fields["trim"] = f"{length // 4}f:{3 * length // 4}f"
                row["runs"].append({"length": length, **run_step(clip, tmp / f"out{n}-{length}{suffix}", fields)})
            fps = row["runs"][-1]["fps"]
            if baseline is None:
                baseline = fps
            row["vs_baseline"] = fps / baseline
            results.append(row)
            frames = "/".join(str(r["frames"]) for r in row["runs"])
            rates = "/".join(f"{r['fps']:.2f}" for r in row["runs"])
            peaks = "/".join(f"{r['peak_rss_mb']:.0f}" for r in row["runs"])
            print(f"{name:<40} {frames:>13} {rates:>13} {row['vs_baseline']:>10.2f} {peaks:>15}", flush=True)
    info = {"cpu_threads": torch.get_num_threads(), "torch": torch.__version__, "size": f"{WIDTH}x{HEIGHT}",
            "load_average": os.getloadavg(), "steps": results}
    if args.json:
        Path(args.json).write_text(json.dumps(info, indent=1))


if __name__ == "__main__":
    main()
