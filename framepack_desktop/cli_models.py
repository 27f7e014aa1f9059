"""`framepack-desktop models list | download | verify | demo`: the model store from the command line.

    models list     [--models DIR] [--variant original|f1|all]
    models download [--models DIR] [--variant original|f1|all] [--precision bf16|fp8] [--finishing]
    models verify   [--models DIR] [--variant original|f1|all] [--hashes]
    models demo     [DIR]
    models calibrate-magcache [--models DIR] [--variant original|f1|all] [--image PNG] [--prompt TEXT]
                    [--sections N] [--steps N] [--resolution R] [--device D]

The models folder is `--models DIR` ("demo" for the demo set), else the one chosen in the
settings, else the app's default folder. Nothing here imports torch: listing, verifying and
downloading read files and headers only. Exit status: 0 fine, 1 a problem (printed as one
message), 130 stopped by Ctrl+C (a download then resumes on the next run).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .engine.choices import VARIANTS
from .settings import models_folder

EXIT_OK, EXIT_FAILED, EXIT_CANCELLED = 0, 1, 130
GB = 1e9


def add_models_commands(subparsers) -> argparse.ArgumentParser:
    """Add the `models` command and its subcommands to an argparse subparsers object."""
    m = subparsers.add_parser("models", help="list, download, verify models; build the demo set")
    sub = m.add_subparsers(dest="models_command", required=True)

    def common(p: argparse.ArgumentParser, variant: str) -> None:
        p.add_argument("--models", help="models folder ('demo' for the demo set; default: the app's)")
        p.add_argument("--variant", choices=(*VARIANTS.names, "all"), default=variant,
                       help=f"which transformer: original, f1 or all (default {variant})")

    common(sub.add_parser("list", help="what is present and missing, with sizes"), "all")
    d = sub.add_parser("download", help="download the models from the Hugging Face hub (resumable)")
    common(d, "original")
    d.add_argument("--precision", choices=("bf16", "fp8"), default="bf16",
                   help="bf16: the public diffusers repos (25.7 GB transformer); fp8: a community fp8 export (16.3 GB)")
    d.add_argument("--finishing", action="store_true",
                   help="instead, fetch only the optional finishing models: RIFE 4.6 and Real-ESRGAN x2/x4 (~150 MB)")
    v = sub.add_parser("verify", help="find missing, cut-off or damaged files")
    common(v, "all")
    v.add_argument("--hashes", action="store_true", help="also recompute the download checksums (slow)")
    demo = sub.add_parser("demo", help="build the tiny random-weight demo models (they make noise; for testing)")
    demo.add_argument("dir", nargs="?", help="where (default: the app's demo models folder)")
    c = sub.add_parser("calibrate-magcache", help="record the MagCache step cache's ratios for a model (once)")
    common(c, "original")
    c.add_argument("--image", help="start image of the calibration job (default: a synthetic picture)")
    c.add_argument("--prompt", help="its prompt (default: a person walking through a park)")
    c.add_argument("--sections", type=int, default=3, help="sections sampled; their ratios are averaged (default 3)")
    c.add_argument("--steps", type=int, default=25, help="steps per section (default 25, the app's default)")
    c.add_argument("--resolution", type=int, default=640, help="resolution class (default 640)")
    c.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:1 ...")
    return m


def run_models_command(args: argparse.Namespace) -> int:
    """Run `models <subcommand>`; user errors are printed as one line and give exit status 1."""
    from .engine.errors import UserError

    try:
        if args.models_command == "demo":
            return _demo(args)
        folder = models_folder(args.models)
        variants = VARIANTS.names if args.variant == "all" else (args.variant,)
        if args.models and args.models_command == "verify" and not folder.is_dir():
            from .engine.errors import BadSettings

            raise BadSettings(f"The models folder '{folder}' does not exist: check the path, or fetch the models "
                              f"into it with framepack-desktop models download --models \"{folder}\".")
        if args.models_command == "calibrate-magcache":
            return _calibrate(folder, variants, args)
        if args.models_command == "list":
            return _list(folder, variants)
        if args.models_command == "verify":
            return _verify(folder, variants, args.hashes)
        if args.models_command == "download":
            return _download(folder, variants, args.precision, args.finishing)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_FAILED


def _demo(args) -> int:
    from .engine.atomic import translate_write_errors
    from .engine.errors import BadSettings
    from .engine.models.demo import build_demo_models
    from .engine.models.loader import demo_models_dir

    target = Path(args.dir) if args.dir else demo_models_dir()
    blocker = next((p for p in (target, *target.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise BadSettings(f"'{blocker}' is a file: the demo models need a folder. Choose a new or empty folder.")
    with translate_write_errors(target):
        path = build_demo_models(target)
    print(f"demo models (random weights: their videos are noise) in {path}")
    from .loras_cli import write_demo_loras_for

    folder = write_demo_loras_for(path)
    print(f"demo LoRAs for them, one per file format, in {folder}")
    return EXIT_OK


def _list(folder: Path, variants: tuple[str, ...]) -> int:
    from .engine.models.layout import is_demo
    from .engine.models.store import inventory, to_download

    entries = inventory(folder, variants)
    if not folder.is_dir():
        print(f"The models folder {folder} does not exist (yet): everything below is missing. "
              f"framepack-desktop models download --models \"{folder}\" makes it and fetches them.")
    print(f"Models in {folder}" + (" (demo set: tiny random weights, videos are noise)" if is_demo(folder) else ""))
    print(f"  {'component':<18} {'variant':<9} {'status':<8} {'size':>18}  where")
    for e in entries:
        variant = e.variant if e.name == "transformer" else "-"
        status = "present" if e.present else ("partial" if e.size else "missing")
        size = _size(e.size) if e.present else f"{_size(e.size)} of {_size(e.expected)}" if e.size else f"({_size(e.expected)})"
        where = f"{e.where} (hub cache)" if e.in_hub_cache else str(e.where)
        print(f"  {e.name:<18} {variant:<9} {status:<8} {size:>18}  {where}")
    missing = to_download(entries)
    if missing:
        print(f"About {missing / GB:.1f} GB to download: framepack-desktop models download --variant "
              f"{'all' if len(variants) > 1 else variants[0]}")
    else:
        print("Everything is here.")
    return EXIT_OK


def _verify(folder: Path, variants: tuple[str, ...], hashes: bool) -> int:
    from .engine.models.verify import has_checksum, verify_models

    checked: list[Path] = []
    problems = verify_models(folder, variants, hashes=hashes, on_file=checked.append)
    for p in problems:
        print(f"  {p}")
    if problems:
        print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {folder} ({len(checked)} files checked). "
              "Delete damaged files, then: framepack-desktop models download", file=sys.stderr)
        return EXIT_FAILED
    if hashes and not any(has_checksum(folder, path) for path in checked):
        print(f"error: no checksums to compare: the {len(checked)} files in {folder} were not fetched by `models "
              "download` (it records them), so only their sizes and headers were checked, and those are fine.",
              file=sys.stderr)
        return EXIT_FAILED
    print(f"All {len(checked)} files in {folder} are complete.")
    return EXIT_OK


def _download(folder: Path, variants: tuple[str, ...], precision: str, finishing: bool = False) -> int:
    import os

    from .cli_progress import Throttle, stop_on_ctrl_c
    from .engine.models.download import download_models
    from .engine.models.finishing import download_finishing
    from .engine.models.errors import DownloadCancelled

    throttle = Throttle()

    def progress(done: float, total: float, text: str) -> None:
        if throttle.due(done >= total):
            percent = 100 * done / total if total else 100
            print(f"\r{done / GB:7.2f} / {total / GB:.2f} GB ({percent:5.1f}%)  {text[-60:]:<60}", end="",
                  file=sys.stderr, flush=True)

    with stop_on_ctrl_c("stopping (Ctrl+C again to quit at once); the download resumes next time") as cancel:
        try:
            endpoint = os.environ.get("HF_ENDPOINT") or None
            if finishing:
                placed = download_finishing(folder, progress=progress, cancel=cancel, endpoint=endpoint)
                print("\n" + "\n".join(f"  {p}" for p in placed), file=sys.stderr)
            else:
                download_models(folder, variants, precision, progress=progress, cancel=cancel, endpoint=endpoint)
        except DownloadCancelled as e:
            print(f"\n{e}", file=sys.stderr)
            return EXIT_CANCELLED
    print(f"\nModels are in {folder}.", file=sys.stderr)
    return EXIT_OK


def _calibrate(folder: Path, variants: tuple[str, ...], args: argparse.Namespace) -> int:
    """Calibrate MagCache for each variant; Ctrl+C stops after the current step, storing nothing."""
    from .cli_progress import Progress, stop_on_ctrl_c
    from .engine.calibrate import PROMPT, calibrate_magcache
    from .engine.errors import BadSettings

    if args.sections < 1 or args.steps < 2:
        raise BadSettings("Calibration needs at least 1 section of at least 2 steps.")
    with stop_on_ctrl_c("stopping after this step; nothing is stored (Ctrl+C again to quit at once)") as cancel:
        for variant in variants:
            print(f"calibrating MagCache for the {variant} model ({args.sections} sections of {args.steps} steps)",
                  file=sys.stderr)
            result = calibrate_magcache(str(folder), variant, image=args.image, prompt=args.prompt or PROMPT,
                                        sections=args.sections, steps=args.steps, resolution=args.resolution,
                                        device=args.device, cancel=cancel, on_event=Progress(sys.stderr).show)
            print(f"{variant}: {len(result.ratios)} ratios from {result.sections} sections -> {result.path}")
    return EXIT_OK


def _size(n: int) -> str:
    return f"{n / GB:.1f} GB" if n >= 0.1 * GB else f"{n / 1e6:.1f} MB"
