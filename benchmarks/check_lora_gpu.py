"""Issue 16's device check: every precision × memory mode takes a LoRA the announced way (CUDA).

    python -m benchmarks.check_lora_gpu [--device cuda]

The CPU tests cover fp32, fp8 storage, GGUF and group offloading without streams; this runs the rest
on the demo models on a GPU, through the session as a job does: bf16, fp8 storage, fp8 compute
(merged), GGUF, int8 and nf4, each on the device and with group offloading (CUDA streams). For each:
the announced method, whether the LoRA changes the output, whether weight 0 gives exactly the output
without it, and whether the base model was loaded once for the adapter ways (twice for merged). One
line per combination; a combination the machine cannot run says why instead of stopping the check.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import torch

from framepack_desktop.engine.errors import UserError
from framepack_desktop.engine.lora_ref import lora_ref
from framepack_desktop.engine.models.demo import TRANSFORMER_CONFIG
from framepack_desktop.engine.models.layout import CHECKPOINTS_DIR
from framepack_desktop.engine.models.loader import load_transformer, resolve_models_dir
from framepack_desktop.engine.models.lora import lora_method
from framepack_desktop.engine.models.lora_demo import draw_lora, write_lora
from framepack_desktop.engine.models.lora_formats import KOHYA_DIFFUSERS
from framepack_desktop.engine.models.offload import Offload
from framepack_desktop.engine.models.policy import base_placement
from framepack_desktop.engine.session import ModelSession

PRECISIONS = {"bf16": {}, "fp8": {"transformer_precision": "fp8"}, "fp8 compute": {"fp8_compute": True},
              "gguf": {"transformer_precision": "gguf"}, "int8": {"transformer_precision": "int8"},
              "nf4": {"transformer_precision": "nf4"}}
# The tests' helpers: one model call's inputs, and a GGUF writer (the gguf package's own writer).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
MEMORY = {"gpu": {"memory": "gpu"}, "group_offload": {"memory": "group_offload", "offload": Offload(use_stream=True)}}


def inputs(model, place):
    from test_loader import _framepack_inputs

    def moved(v):
        if not torch.is_tensor(v):
            return v
        return v.to(place.device, place.transformer_dtype) if v.is_floating_point() else v.to(place.device)

    return {k: moved(v) for k, v in _framepack_inputs(model).items()}


def with_gguf(models: Path, work: Path) -> Path:
    from test_models_loading import write_gguf

    copy = work / "models"
    if not copy.exists():
        shutil.copytree(models, copy)
        folder = copy / CHECKPOINTS_DIR / "original"
        folder.mkdir(parents=True)
        write_gguf(folder / "framepack-Q8_0.gguf", load_transformer(models, "original", "cpu", torch.float32).state_dict())
    return copy


def check(models: Path, place, ref) -> str:
    session = ModelSession(prompt_cache_dir=None)
    with torch.no_grad():
        plain = session.transformer(models, "original", place)
        x = inputs(plain, place)
        before = plain(**x)[0].float()
        after = session.transformer(models, "original", place, (ref,))(**x)[0].float()
        zero = session.transformer(models, "original", place, (replace(ref, weight=0.0),))(**x)[0].float()
    changed = float((after - before).abs().mean() / before.abs().mean())
    return (f"{lora_method(place).kind:<8} loads {session.transformer_loads}  LoRA changes the output by "
            f"{changed:.3f} (mean, relative)  weight 0 exact: {torch.equal(zero, before)}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cuda")
    args = p.parse_args()
    device = torch.device(args.device)
    work = Path(tempfile.mkdtemp(prefix="check-lora-"))
    models = resolve_models_dir("demo")
    config = dict(TRANSFORMER_CONFIG)
    ref = lora_ref(write_lora(work / "a.safetensors", draw_lora(config, 1), config, KOHYA_DIFFUSERS), 1.0)
    for precision, fields in PRECISIONS.items():
        folder = with_gguf(models, work) if precision == "gguf" else models
        for memory, mem_fields in MEMORY.items():
            place = replace(base_placement(device), **fields, **mem_fields)
            try:
                line = check(folder, place, ref)
            except (UserError, RuntimeError, ValueError, NotImplementedError) as e:
                line = f"cannot run here: {type(e).__name__}: {str(e).splitlines()[0][:160]}"
            print(f"{precision:<12} {memory:<14} {line}", flush=True)


if __name__ == "__main__":
    main()
