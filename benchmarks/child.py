"""Run one CLI render as a child process and watch it: peak RSS, RSS over time, phase timestamps.

Each job runs in a fresh process so its peak resident memory is its own: `ru_maxrss` from
`os.wait4` is the kernel's high-water mark for exactly that child (`RUSAGE_CHILDREN` would be the
maximum over every child so far). A thread polls the child's RSS with psutil so the peak can be
attributed to a phase, and another reads the CLI's progress lines (stderr, one per status, finished
step bar and decoded section) with arrival times, which gives the phase boundaries to the millisecond.
On a machine with an NVIDIA GPU a third thread asks `nvidia-smi` for the child's GPU memory (what
the driver reports for that process: torch's reserved memory plus the CUDA context), so a job's peak
VRAM is measured from outside the same way. Nothing here imports torch: the parent stays small and
does not compete with the child for memory.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
POLL_S = 0.05
VRAM_POLL_S = 0.5


@dataclass
class ChildRun:
    """What one child process did: its exit code, its kernel peak RSS, samples and progress lines."""

    returncode: int
    wall_s: float
    max_rss_bytes: int
    rss: list[tuple[float, int]] = field(default_factory=list)      # (seconds since start, bytes)
    lines: list[tuple[float, str]] = field(default_factory=list)    # (seconds since start, text)
    vram: list[tuple[float, int]] = field(default_factory=list)     # (seconds since start, bytes); GPU only

    @property
    def max_vram_bytes(self) -> int | None:
        return max((v for _, v in self.vram), default=0) if self.vram else None

    def peak_between(self, a: float, b: float) -> int:
        """Highest polled RSS in [a, b] seconds (0 when no sample fell inside)."""
        return max((r for t, r in self.rss if a <= t <= b), default=0)


def child_env() -> dict[str, str]:
    """The environment of a child: the repository importable, no GPU surprises from the parent's shell."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def run_cli(args: list[str]) -> ChildRun:
    """`python -m framepack_desktop ARGS` in a fresh process, watched until it exits."""
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "framepack_desktop", *args],
        cwd=REPO, env=child_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True, bufsize=1,
    )
    run = ChildRun(returncode=-1, wall_s=0.0, max_rss_bytes=0)
    done = threading.Event()

    def read_lines() -> None:
        for line in proc.stderr:
            run.lines.append((time.monotonic() - start, line.rstrip("\n")))

    def poll_rss() -> None:
        watched = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                run.rss.append((time.monotonic() - start, watched.memory_info().rss))
            except (psutil.NoSuchProcess, psutil.ZombieProcess):
                return
            done.wait(POLL_S)

    def poll_vram() -> None:
        while not done.is_set():
            used = gpu_memory_of(proc.pid)
            if used is not None:
                run.vram.append((time.monotonic() - start, used))
            done.wait(VRAM_POLL_S)

    threads = [threading.Thread(target=read_lines, daemon=True), threading.Thread(target=poll_rss, daemon=True)]
    if shutil.which("nvidia-smi"):
        threads.append(threading.Thread(target=poll_vram, daemon=True))
    for t in threads:
        t.start()
    _, status, usage = os.wait4(proc.pid, 0)
    done.set()
    proc.returncode = os.waitstatus_to_exitcode(status)
    for t in threads:
        t.join()
    proc.stderr.close()
    run.returncode = proc.returncode
    run.wall_s = time.monotonic() - start
    run.max_rss_bytes = usage.ru_maxrss * 1024  # Linux reports kilobytes
    return run


def gpu_memory_of(pid: int) -> int | None:
    """Bytes of GPU memory the driver attributes to process `pid` (None when it holds none yet)."""
    out = subprocess.run(
        ["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
        capture_output=True, text=True, check=False,
    ).stdout
    used = [int(mib) * 2 ** 20 for line in out.splitlines() if "," in line
            for p, mib in [line.split(",", 1)] if p.strip() == str(pid) and mib.strip().isdigit()]
    return sum(used) if used else None
