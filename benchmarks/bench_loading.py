"""Issue 3's loading benchmark (CPU): how much RAM each loading path of the transformer takes.

    python -m benchmarks.bench_loading [--double 1] [--single 2] [--work DIR] [--json OUT]

Builds a random-weight FramePack transformer at the released width (hidden 3072, 24 heads) with
fewer blocks (default 1 double + 2 single: 1.04B parameters, 2.1 GB in bf16), saved as the public
repo's bf16 diffusers folder in 400 MB shards. Then each loading path runs in a fresh process
and reports its load time, the kernel's peak RSS (VmHWM, which counts mapped file pages too), the
peak of anonymous memory during the load (RssAnon polled every 5 ms: RAM the process owns,
counted against the Windows commit limit) and, after the load, anonymous versus file-backed
resident memory (RssFile: mapped weights in the page cache, which the OS may drop and re-read).

Paths: diffusers' `from_pretrained` (baseline), ours in bf16 (as stored), ours cast to fp32, fp8
cast in RAM, fp8 making the saved form, fp8 from the saved form.

With `--vae`, also the demo VAE's decode of a section's largest chunk (2w+1 = 19 latents at
416x960, 73 frames) on the CPU, in one pass and by frames (diffusers' default), each in a fresh
process: the measurement behind the policy's one-pass choice on the CPU and its decode estimate.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASES = ("diffusers-bf16", "bf16", "fp32", "fp8-in-ram", "fp8-first", "fp8-saved")
VAE_CASES = ("vae-one-pass", "vae-by-frames")
MB = 1e6


def build(models: Path, double: int, single: int) -> int:
    import torch
    from diffusers import HunyuanVideoFramepackTransformer3DModel

    from framepack_desktop.engine.models.demo import REAL_TRANSFORMER_CONFIG
    from framepack_desktop.engine.models.layout import component_dir

    folder = component_dir(models, "transformer")
    config = dict(REAL_TRANSFORMER_CONFIG, num_layers=double, num_single_layers=single)
    torch.manual_seed(0)
    model = HunyuanVideoFramepackTransformer3DModel(**config).to(torch.bfloat16)
    model.save_pretrained(folder, safe_serialization=True, max_shard_size="400MB")
    return sum(p.numel() for p in model.parameters())


def child(case: str, models: Path, prepared: Path) -> dict:
    """One loading path in this (fresh) process; returns its measurements."""
    import threading

    import torch

    from framepack_desktop.engine.models import loader

    torch.set_grad_enabled(False)
    peak_anon = [0]
    done = threading.Event()

    def poll():
        while not done.wait(0.005):
            peak_anon[0] = max(peak_anon[0], _status()["RssAnon"])

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    start = time.monotonic()
    if case == "diffusers-bf16":
        from diffusers import HunyuanVideoFramepackTransformer3DModel

        from framepack_desktop.engine.models.layout import component_dir

        model = HunyuanVideoFramepackTransformer3DModel.from_pretrained(component_dir(models, "transformer"),
                                                                        torch_dtype=torch.bfloat16)
    elif case in ("bf16", "fp32"):
        model = loader.load_transformer(models, "original", "cpu", getattr(torch, {"bf16": "bfloat16", "fp32": "float32"}[case]))
    else:
        root = None if case == "fp8-in-ram" else prepared
        model = loader.load_transformer(models, "original", "cpu", torch.bfloat16, precision="fp8", prepared_root=root)
    seconds = time.monotonic() - start
    done.set()
    poller.join()
    status = _status()
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    return dict(case=case, seconds=round(seconds, 2), weights_mb=round(weights / MB), peak_rss_mb=round(status["VmHWM"] / MB),
                peak_anon_mb=round(max(peak_anon[0], status["RssAnon"]) / MB), anon_mb=round(status["RssAnon"] / MB),
                file_mb=round(status["RssFile"] / MB))


def vae_child(case: str) -> dict:
    import torch

    from framepack_desktop.engine.models import estimates, loader
    from framepack_desktop.engine.models.demo import build_demo_models

    torch.set_grad_enabled(False)
    vae = loader.load_vae(build_demo_models(loader.demo_models_dir()), "cpu", torch.float32)
    vae.use_framewise_decoding = case == "vae-by-frames"
    latents = torch.randn(1, 16, 19, 52, 120, generator=torch.Generator().manual_seed(0))
    before = _status()["VmHWM"]
    start = time.monotonic()
    frames = vae.decode(latents).sample.shape[2]
    seconds = time.monotonic() - start
    sizes = estimates.Sizes(**{**estimates.REAL.__dict__, "vae_channels": vae.config.block_out_channels[0]})
    estimate = estimates.vae_decode_bytes(sizes, 416, 960, 9, 4, case == "vae-by-frames", False)
    return dict(case=case, frames=frames, seconds=round(seconds, 2), peak_delta_mb=round((_status()["VmHWM"] - before) / MB),
                estimate_mb=round(estimate / MB))


def _status() -> dict[str, int]:
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if value.strip().endswith("kB"):
            fields[key] = int(value.split()[0]) * 1024
    return fields


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--double", type=int, default=1)
    p.add_argument("--single", type=int, default=2)
    p.add_argument("--work", type=Path)
    p.add_argument("--json", type=Path)
    p.add_argument("--vae", action="store_true", help="also time the demo VAE's decode, one pass and by frames")
    p.add_argument("--child", choices=CASES + VAE_CASES, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child in VAE_CASES:
        print(json.dumps(vae_child(args.child)))
        return 0
    if args.child:
        print(json.dumps(child(args.child, args.work / "models", args.work / "prepared")))
        return 0
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-loading-"))
    params = build(work / "models", args.double, args.single)
    print(f"random transformer: {params / 1e9:.2f}B parameters, {2 * params / MB:.0f} MB in bf16, in {work}")
    baseline = subprocess.run([sys.executable, "-c", "import torch, diffusers, framepack_desktop.engine.models.loader;"
                               "from pathlib import Path;"
                               "print([l for l in Path('/proc/self/status').read_text().splitlines() if l.startswith('VmHWM')][0])"],
                              capture_output=True, text=True, check=True).stdout.split()[1]
    print(f"a process that only imports torch and diffusers: peak RSS {int(baseline) * 1024 / MB:.0f} MB")
    rows = []
    for case in CASES:
        out = subprocess.run([sys.executable, "-m", "benchmarks.bench_loading", "--child", case, "--work", str(work)],
                             capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        rows.append(json.loads(out))
        r = rows[-1]
        print(f"{r['case']:<15} {r['seconds']:6.2f} s  weights {r['weights_mb']:5d} MB  peak RSS {r['peak_rss_mb']:5d} MB  "
              f"peak anon {r['peak_anon_mb']:5d} MB  after: anon {r['anon_mb']:5d} MB, file-backed {r['file_mb']:5d} MB")
    for case in VAE_CASES if args.vae else ():
        out = subprocess.run([sys.executable, "-m", "benchmarks.bench_loading", "--child", case],
                             capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        rows.append(json.loads(out))
        r = rows[-1]
        print(f"{r['case']:<15} {r['seconds']:6.2f} s  {r['frames']} frames  peak RSS +{r['peak_delta_mb']} MB "
              f"(estimate {r['estimate_mb']} MB)")
    if args.json:
        args.json.write_text(json.dumps({"params": params, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
