"""Where a job's resident memory goes, section by section (the diagnosis behind bench_memory's slope).

    python -m benchmarks.rss_trace [--seconds 30] [--resolution 320] [--models DIR] [--json OUT]
    MALLOC_MMAP_THRESHOLD_=65536 python -m benchmarks.rss_trace ...   # the same without glibc's heap reuse

Runs one job in this process (the runner's generator, as the CLI drives it) and after every
decoded section records: RSS now and its peak since the previous section (polled); glibc's own accounting (`mallinfo2`: bytes handed out from its heaps,
bytes free but kept in them, bytes in separate mmaps); the size of the history latents the runner
keeps (computed from the method's arithmetic: they are not visible from outside); and the number of
live tensors and Python objects. Growth that shows in "heap in use" is data the process holds;
growth in "heap free" is fragmentation (memory freed but not given back to the system).
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

MB = 1e6


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


def malloc_stats() -> dict[str, float] | None:
    """glibc's heap accounting in MB (None off glibc): in use, free but kept, separately mmapped."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
    except (OSError, AttributeError):
        return None
    info = libc.mallinfo2()
    return {"heap_in_use_mb": info.uordblks / MB, "heap_free_mb": info.fordblks / MB, "mmapped_mb": info.hblkhd / MB}


def live_tensors() -> tuple[int, float]:
    """Count and MB of tensors reachable from Python (what the engine holds, models included)."""
    import torch

    count, nbytes = 0, 0
    for obj in gc.get_objects():
        if isinstance(obj, torch.Tensor) and not obj.is_meta:
            count += 1
            nbytes += obj.untyped_storage().nbytes()
    return count, nbytes / MB


def trace(args: argparse.Namespace) -> dict:
    from framepack_desktop.engine import events as ev
    from framepack_desktop.engine.job import Job
    from framepack_desktop.engine.runner import run_job
    from framepack_desktop.engine.sampling.context import HISTORY_LEN

    from .bench_memory import make_image

    work = Path(args.workdir or tempfile.mkdtemp(prefix="fpd-rss-trace-"))
    image = make_image(work / "start.png")
    job = Job(image=str(image), prompt="a fox walks through snow", output=str(work / "trace.mp4"), seconds=args.seconds,
              resolution=args.resolution, steps=args.steps, teacache=0.0, models=args.models, device="cpu")
    process = psutil.Process()
    peak = {"rss": 0}
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            peak["rss"] = max(peak["rss"], process.memory_info().rss)
            stop.wait(0.05)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    rows = []
    started = time.monotonic()
    latent_bytes = None
    for event in run_job(job):
        if isinstance(event, ev.JobStarted):
            latent_bytes = 16 * (event.height // 8) * (event.width // 8) * 4
        if isinstance(event, ev.SectionDecoded):
            history = HISTORY_LEN + (event.order + 1) * job.window  # latents in the runner's history
            tensors, tensor_mb = live_tensors()
            row = {"order": event.order, "seconds": round(time.monotonic() - started, 1),
                   "rss_mb": process.memory_info().rss / MB, "peak_rss_mb": peak["rss"] / MB,
                   "history_mb": history * latent_bytes / MB,
                   "tensors": tensors, "tensor_mb": tensor_mb, "python_objects": len(gc.get_objects()),
                   **(malloc_stats() or {})}
            rows.append(row)
            peak["rss"] = 0
            print(" ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()),
                  file=sys.stderr, flush=True)
        if isinstance(event, (ev.Failed, ev.Cancelled)):
            raise RuntimeError(f"the job did not finish: {event}")
    stop.set()
    poller.join()
    return {"date": time.strftime("%Y-%m-%d"), "job": job.to_dict(), "rows": rows, "slopes": slopes(rows)}


def slopes(rows: list[dict]) -> dict[str, float]:
    """MB per section of each column over the middle sections (first and last decode differ in size)."""
    import numpy as np

    middle = rows[1:-1]
    if len(middle) < 2:
        return {}
    x = np.arange(len(middle))
    return {k: float(np.polyfit(x, [r[k] for r in middle], 1)[0])
            for k in middle[0] if k.endswith("_mb") or k in ("tensors", "python_objects")}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--resolution", type=int, default=320)
    p.add_argument("--steps", type=int, default=1)
    p.add_argument("--models", default="demo")
    p.add_argument("--workdir")
    p.add_argument("--json")
    args = p.parse_args(argv)
    result = trace(args)
    print(json.dumps(result["slopes"], indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
