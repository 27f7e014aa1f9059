"""Write a models folder with random weights in the real layout, for benchmarking real jobs at full size.

    python -m benchmarks.random_models_dir DIR [--full-size] [--device cuda] [--variants original f1]

The speed harness measures one section in-process; the memory targets (RSS flat with length,
peak VRAM of a 60 s job within 2 % of a 5 s job's) need whole jobs through the CLI, which loads
from a models folder. This writes one without downloading anything: every part is built with
random weights on `--device` (`bench_models.RandomModels`, never whole on the CPU) and saved with
`save_pretrained` where the loader looks for it (`engine/models/layout.py`); tokenizers come from
the demo set, the SigLIP preprocessing is written at the model's input size. The folder is marked
as a demo set (`DEMO_MODELS.txt`): its videos are noise, and the app says so. At full size it takes
about 43 GB of disk (transformer 25.7 GB in bf16, Llama 15 GB in fp16).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import torch

from framepack_desktop.engine.job import Job
from framepack_desktop.engine.models.layout import DEMO_MARKER, component_dir
from framepack_desktop.engine.models.loader import resolve_models_dir
from framepack_desktop.engine.models.policy import choose_placement
from framepack_desktop.engine.session import free_memory

from .bench_models import RandomModels


def write(root: Path, full_size: bool, device: torch.device, variants: list[str]) -> Path:
    demo_dir = resolve_models_dir("demo")
    place = choose_placement(Job(image="-", prompt="-", output="-.mp4", device=str(device)))
    source = RandomModels(full_size, place, demo_dir)
    for name in ("tokenizer", "tokenizer_2"):
        shutil.copytree(component_dir(demo_dir, name), component_dir(root, name), dirs_exist_ok=True)

    text = source.text_encoders()
    text.llama.save_pretrained(component_dir(root, "text_encoder"))
    text.clip.save_pretrained(component_dir(root, "text_encoder_2"))
    del text
    free_memory()

    image = source.image_encoder()
    image.model.save_pretrained(component_dir(root, "image_encoder"))
    features = component_dir(root, "feature_extractor")
    shutil.copytree(component_dir(demo_dir, "feature_extractor"), features, dirs_exist_ok=True)
    config_path = features / "preprocessor_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    size = image.model.config.image_size
    config["size"] = {"height": size, "width": size}
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    del image
    free_memory()

    vae = source.vae()
    vae.save_pretrained(component_dir(root, "vae"), safe_serialization=True)
    del vae
    free_memory()

    for variant in variants:
        transformer = source.transformer()
        transformer.save_pretrained(component_dir(root, "transformer", variant), safe_serialization=True)
        del transformer
        free_memory()

    (root / DEMO_MARKER).write_text(
        f"FramePack Desktop benchmark models: {source.label}, in the layout of the real ones.\n"
        "Videos made with them are noise; they exist to measure speed and memory without a download.\n",
        encoding="utf-8",
    )
    return root


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("dir")
    p.add_argument("--full-size", action="store_true")
    p.add_argument("--device", default="auto")
    p.add_argument("--variants", nargs="+", default=["original"], choices=["original", "f1"])
    args = p.parse_args(argv)
    device = torch.device(args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu"))
    root = write(Path(args.dir), args.full_size, device, args.variants)
    print(f"random-weight models ({'full' if args.full_size else 'demo'} size) in {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
