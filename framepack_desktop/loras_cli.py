"""`framepack-desktop loras list`, `render --lora PATH[:WEIGHT]`, and the demo LoRAs of `models demo`.

    loras list [--models DIR] [--variant original|f1] [--folder DIR]

Lists the LoRA folder (the settings' choice, else the app's data folder): each file's name, format,
rank, how many of its layers apply to the chosen transformer, and size; refused files say why. Files are
judged from their headers against a `meta` skeleton of the transformer: no weights are read.
"""
from __future__ import annotations

import argparse
from pathlib import Path

EXIT_OK = 0


def add_loras_commands(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("loras", help="list the LoRA folder")
    sub = p.add_subparsers(dest="loras_command", required=True)
    lst = sub.add_parser("list", help="name, format, rank, layers that apply and size of each LoRA file")
    lst.add_argument("--models", help="models folder the LoRAs are judged against ('demo'; default: the app's)")
    lst.add_argument("--variant", choices=("original", "f1"), default="original")
    lst.add_argument("--folder", help="LoRA folder (default: the one in the settings)")
    return p


def run_loras_command(args: argparse.Namespace) -> int:
    from .settings import models_folder
    from .settings import lora_folders
    from .engine.models.sources import transformer_config

    folder = Path(args.folder).expanduser() if args.folder else lora_folders()[0]
    config = transformer_config(models_folder(args.models), args.variant)
    for line in list_lines(folder, config):
        print(line)
    return EXIT_OK


def list_lines(folder: Path, config: dict) -> list[str]:
    """The table `loras list` prints."""
    from .engine.lora_ref import LORA_SUFFIXES
    from .engine.models.lora_formats import inspect_lora

    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in LORA_SUFFIXES) if folder.is_dir() else []
    if not files:
        return [f"No LoRA files in {folder} (put .safetensors LoRAs there, or run `framepack-desktop models demo`)."]
    lines = [f"LoRAs in {folder}", f"  {'name':<28} {'format':<38} {'rank':>4} {'layers':>11} {'size':>9}"]
    for path in files:
        info = inspect_lora(path, config)
        size = f"{info.nbytes / 1e6:.1f} MB" if info.nbytes >= 1e6 else f"{info.nbytes / 1e3:.0f} kB"
        if info.refused:
            lines.append(f"  {info.name:<28} refused: {info.refused}")
            continue
        layers = f"{info.applied}/{info.layers}"
        lines.append(f"  {info.name:<28} {info.format_name:<38} {info.rank:>4} {layers:>11} {size:>9}")
    return lines


def loras_from_args(values: list[str]) -> tuple:
    """`--lora PATH[:WEIGHT]` values into the Job's LoRA records (each file hashed now)."""
    from .engine.lora_ref import lora_ref, parse_lora_arg

    return tuple(lora_ref(path, weight) for path, weight in map(parse_lora_arg, values))


def write_demo_loras_for(models_dir: Path) -> Path:
    """The demo LoRAs for the demo transformer of `models_dir`, in `demo/` of the LoRA folder."""
    from .settings import lora_folders
    from .engine.models.lora_demo import write_demo_loras
    from .engine.models.sources import transformer_config

    folder = lora_folders()[0] / "demo"
    write_demo_loras(folder, transformer_config(models_dir, "original"))
    return folder
