"""Issue 19: one command that checks and times every CUDA path of the app on one NVIDIA GPU.

    python -m benchmarks.gpu_suite                     # docs/benchmarks/<date>-<gpu>.json and .md
    python -m benchmarks.gpu_suite --wheels /wheels    # first install these wheels (no index, no internet)
    python -m benchmarks.gpu_suite --budget-s 300      # skip what would not fit in 5 minutes
    python -m benchmarks.gpu_suite --only bf16,compile # some items (the others are recorded as not chosen)
    python -m benchmarks.gpu_suite --plan              # the items and their expected seconds; runs nothing
    python -m benchmarks.gpu_suite --dry-run           # the same code on the CPU at demo sizes, in seconds (CI)

GPU time comes in minutes, so everything runs as one command within a wall-time budget (default
510 s, leaving the last of nine minutes to write the results), model construction included: the
clock starts before the wheels are installed and torch is imported. The items run in the order
of benchmarks/suite_items.py; each is independent: a failure is recorded with its traceback and
the suite goes on, an item whose expected seconds (counted FLOPs, then the measured s/it) would
not fit what is left is skipped and says so, and an item that overruns three times its estimate
(at least a minute, never past the budget) is stopped by an alarm. At the end one screen sums up;
the JSON holds every figure and the Markdown the table for docs/BENCHMARKS.md.

Only wheels given with `--wheels` are installed (`pip install --no-index`): the machines this runs
on have no internet. Without a GPU only `--dry-run` and `--plan` run.
"""
from __future__ import annotations

import argparse
import json
import re
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

DEFAULT_BUDGET_S = 510.0
REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / "docs" / "benchmarks"


class ItemTimeout(Exception):
    """An item ran past its time limit (raised by the alarm)."""


def install_wheels(folder: Path) -> dict:
    """pip-install every wheel in `folder` from that folder only; recorded like an item."""
    wheels = sorted(folder.glob("*.whl"))
    start = time.monotonic()
    if not wheels:
        return {"key": "wheels", "title": f"install wheels from {folder}", "status": "failed", "seconds": 0.0,
                "error": f"no .whl files in {folder}"}
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--find-links", str(folder),
                           *map(str, wheels)], capture_output=True, text=True)
    record = {"key": "wheels", "title": f"install wheels from {folder}", "seconds": time.monotonic() - start,
              "status": "ok" if proc.returncode == 0 else "failed", "result": {"wheels": [w.name for w in wheels]}}
    if proc.returncode:
        record["error"] = f"pip exited with {proc.returncode}"
        record["traceback"] = (proc.stdout + proc.stderr)[-4000:]
    return record


class Suite:
    """Runs items against the budget, each in its own try, and keeps their records."""

    def __init__(self, budget_s: float, started: float, only: set[str] | None,
                 after_failure: Callable[[], None] = lambda: None):
        self.budget_s, self.started, self.only = budget_s, started, only
        self.after_failure = after_failure      # e.g. drop shared models a failed item may have left half-changed
        self.records: list[dict] = []

    def left(self) -> float:
        return self.budget_s - (time.monotonic() - self.started)

    def run(self, item, rig, unavailable: type[Exception]) -> dict:
        record = {"key": item.key, "title": item.title}
        if self.only is not None and item.key not in self.only:
            record.update(status="skipped", why="not chosen (--only)")
            return self._keep(record)
        try:
            estimate = float(item.cost(rig))
        except Exception as e:  # noqa: BLE001 - an estimate that cannot be made is that item's failure
            record.update(status="failed", error=f"estimate: {type(e).__name__}: {e}", traceback=traceback.format_exc())
            return self._keep(record)
        record["estimate_s"] = estimate
        left = self.left()
        if estimate > left:
            record.update(status="skipped", why=f"expected {estimate:.0f} s, {max(left, 0):.0f} s of the budget left")
            return self._keep(record)
        limit = max(1, int(min(left, max(3 * estimate, 60.0))))
        start = time.monotonic()
        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(limit)
        try:
            record.update(status="ok", result=item.run(rig))
        except unavailable as e:
            record.update(status="unavailable", why=str(e))
        except ItemTimeout:
            record.update(status="failed", error=f"stopped after {limit} s (over 3x its estimate)",
                          traceback=traceback.format_exc())
        except Exception as e:  # noqa: BLE001 - every failure is recorded and the suite goes on
            record.update(status="failed", error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc())
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
            record["seconds"] = time.monotonic() - start
        if record["status"] == "failed":
            self.after_failure()
        return self._keep(record)

    def _keep(self, record: dict) -> dict:
        self.records.append(record)
        print(f"  {record['status']:<11} {record['key']:<22} {record.get('seconds', 0):7.1f} s  "
              f"{record.get('why') or record.get('error') or ''}"[:160], file=sys.stderr, flush=True)
        return record


def _alarm(signum, frame):
    raise ItemTimeout


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--budget-s", type=float, default=DEFAULT_BUDGET_S,
                   help=f"wall-time budget in seconds, model construction included (default {DEFAULT_BUDGET_S:g})")
    p.add_argument("--wheels", type=Path, help="install the wheels in this folder first (pip --no-index)")
    p.add_argument("--out", type=Path, help=f"where the JSON and Markdown go (default {OUT_DIR.relative_to(REPO)}; "
                                            "a dry run writes only when given)")
    p.add_argument("--only", help="comma-separated item keys to run (see --plan)")
    p.add_argument("--dry-run", action="store_true", help="the same code paths on the CPU at tiny sizes")
    p.add_argument("--plan", action="store_true", help="print the items and expected seconds at full size; run nothing")
    p.add_argument("--peak-tflops", type=float, help="the GPU's dense bf16 peak, when the meter's table lacks it")
    args = p.parse_args(argv)

    records = [install_wheels(args.wheels)] if args.wheels else []
    import torch

    from .meter import device_label
    from .suite_items import Unavailable, items
    from .suite_report import markdown, plan_table, summary
    from .suite_rig import DRY, FULL, Rig

    if args.plan:
        rig = Rig(FULL, torch.device("cpu"), peak_tflops=args.peak_tflops)
        print(plan_table(rig, items(rig)))
        return 0
    if not args.dry_run and not torch.cuda.is_available():
        print("error: no CUDA GPU here: the suite needs one (use --dry-run to check it on the CPU, --plan to see it)",
              file=sys.stderr)
        return 1
    device = torch.device("cpu") if args.dry_run else torch.device("cuda")
    rig = Rig(DRY if args.dry_run else FULL, device, peak_tflops=args.peak_tflops)
    plan = items(rig)
    only = set(args.only.split(",")) if args.only else None
    unknown = sorted((only or set()) - {item.key for item in plan})
    if unknown:
        print(f"error: no item {', '.join(unknown)}; the items are {', '.join(i.key for i in plan)}", file=sys.stderr)
        return 1
    suite = Suite(args.budget_s, started, only, rig.drop_all)
    suite.records.extend(records)
    print(f"GPU suite on {rig.scale.name}, budget {args.budget_s:.0f} s", file=sys.stderr)
    for item in plan:
        suite.run(item, rig, Unavailable)
    result = {"date": time.strftime("%Y-%m-%d %H:%M"), "scale": rig.scale.name, "budget_s": args.budget_s,
              "wall_s": time.monotonic() - started, "items": suite.records}
    out = args.out or (None if args.dry_run else OUT_DIR)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        name = f"{time.strftime('%Y-%m-%d')}-{slug(device_label(device))}" + ("-dry-run" if args.dry_run else "")
        (out / f"{name}.json").write_text(json.dumps(result, indent=1, default=str) + "\n", encoding="utf-8")
        (out / f"{name}.md").write_text(markdown(result) + "\n", encoding="utf-8")
        result["written"] = str(out / name)
    print(summary(result))
    return 0 if all(r["status"] != "failed" for r in suite.records) else 1


if __name__ == "__main__":
    sys.exit(main())
