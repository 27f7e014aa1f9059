"""Issue 16's LoRA switching benchmark (CPU): changing the LoRA set between jobs against reloading the model.

    python -m benchmarks.bench_lora [--double 1] [--single 2] [--rank 32] [--work DIR] [--json OUT]

Two models, each measured in this one run: the demo transformer, and a random-weight FramePack
transformer at the released width (hidden 3072, 24 heads) with fewer blocks (default 1 double + 2
single, 1.04B parameters, 2.1 GB in bf16: what fits next to the other agents on this 2-core, 24 GB
machine), saved as the bf16 diffusers folder (`bench_loading.build`). For each: the baseline is
`loader.load_transformer` from disk in float32, as the session loads it on the CPU (every weight cast,
so a real copy; the page cache warm: the best case for a reload). A bf16 load on the CPU is no
baseline: it maps the file and copies nothing until first use. Against it,
what the session does between two jobs (`apply_loras`): a first LoRA, a switch to another file,
a weight change, two LoRAs at once, and back to none. Two LoRAs (kohya over diffusers names, and
the HunyuanVideo layout) of rank `--rank` cover every block layer. Each figure is the median of 3.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

REPEATS = 3


def timed(fn, repeats: int = REPEATS) -> float:
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def measure(models: Path, loras_dir: Path, rank: int, dtype) -> dict:
    import torch

    from framepack_desktop.engine.lora_ref import lora_ref
    from framepack_desktop.engine.models import loader
    from framepack_desktop.engine.models.lora import apply_loras, model_config
    from framepack_desktop.engine.models.lora_demo import draw_lora, write_lora
    from framepack_desktop.engine.models.lora_formats import HUNYUAN, KOHYA_DIFFUSERS

    def load():
        return loader.load_transformer(models, "original", "cpu", dtype)

    model = load()
    config = model_config(model)
    a = lora_ref(write_lora(loras_dir / "a.safetensors", draw_lora(config, 1, rank), config, KOHYA_DIFFUSERS), 1.0)
    b = lora_ref(write_lora(loras_dir / "b.safetensors", draw_lora(config, 2, rank), config, HUNYUAN), 1.0)
    reload = timed(load)
    params = sum(p.numel() for p in model.parameters())

    def cycle(target):
        def run():
            apply_loras(model, (), dtype)           # start from no LoRA each time
            apply_loras(model, target[0], dtype)
            start = time.perf_counter()
            apply_loras(model, target[1], dtype)
            return time.perf_counter() - start
        return statistics.median(run() for _ in range(REPEATS))

    with torch.no_grad():
        figures = {
            "first LoRA (none -> a)": cycle(((), (a,))),
            "switch file (a -> b)": cycle(((a,), (b,))),
            "weight change (a 1.0 -> 0.6)": cycle(((a,), (a.__class__(a.path, a.sha256, 0.6),))),
            "add a second (a -> a + b)": cycle(((a,), (a, b))),
            "back to none (a + b -> none)": cycle(((a, b), ())),
        }
    return {"parameters": params, "lora_file_mb": Path(a.path).stat().st_size / 1e6,
            "reload_s": reload, "switch_s": figures}


def main() -> None:
    import torch

    from framepack_desktop.engine.models.loader import resolve_models_dir

    from .bench_loading import build

    p = argparse.ArgumentParser()
    p.add_argument("--double", type=int, default=1)
    p.add_argument("--single", type=int, default=2)
    p.add_argument("--rank", type=int, default=32)
    p.add_argument("--work", type=Path)
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    torch.set_grad_enabled(False)
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-lora-"))
    results = {"demo": measure(resolve_models_dir("demo"), work / "loras-demo", 4, torch.float32)}
    wide = work / "wide"
    if not (wide / "transformer").exists():
        build(wide, args.double, args.single)
    results[f"full width, {args.double} double + {args.single} single blocks (float32)"] = measure(
        wide, work / "loras-wide", args.rank, torch.float32)
    for name, r in results.items():
        print(f"\n{name}: {r['parameters'] / 1e9:.3f}B parameters, LoRA files {r['lora_file_mb']:.2f} MB")
        print(f"  {'reload the transformer from disk (warm cache)':<48} {r['reload_s'] * 1000:9.1f} ms   1.00x")
        for what, s in r["switch_s"].items():
            print(f"  {what:<48} {s * 1000:9.1f} ms   {s / r['reload_s']:.3f}x")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
