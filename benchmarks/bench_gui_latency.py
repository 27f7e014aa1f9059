"""How long the window's GUI thread makes a 10 ms timer wait during a demo generation, against the
same timer idle in the same run.

Runs the window test that drives a generation (tests/test_ui_main_window.py, "keeps serving its
timer") with GUI_LATENCY_OUT set, then reports the timer's gaps: median, 99th percentile and the
longest, idle and busy, and their ratios. On a shared machine the absolute figures move with the
load; the ratio to the idle baseline of the same run is the figure to compare.

    python -m benchmarks.bench_gui_latency
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        out = Path(d, "gaps.json")
        env = dict(os.environ, GUI_LATENCY_OUT=str(out), QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "tests/test_ui_main_window.py", "-k", "keeps_serving_its_timer"],
                       cwd=ROOT, env=env, check=True)
        gaps = json.loads(out.read_text())
    rows = {}
    for name in ("idle", "busy"):
        g = np.array(gaps[name]) * 1000
        rows[name] = (np.median(g), np.percentile(g, 99), g.max(), len(g))
    print(f"{'':6s} {'median ms':>10s} {'p99 ms':>8s} {'max ms':>8s} {'ticks':>6s}")
    for name, (med, p99, mx, n) in rows.items():
        print(f"{name:6s} {med:10.1f} {p99:8.1f} {mx:8.1f} {n:6d}")
    (im, ip, ix, _), (bm, bp, bx, _) = rows["idle"], rows["busy"]
    print(f"ratio  {bm / im:10.2f} {bp / ip:8.2f} {bx / ix:8.2f}")


if __name__ == "__main__":
    main()
