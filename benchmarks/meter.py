"""Timing and memory of benchmark phases, and the device's peak bf16 rate for MFU.

A phase is timed on the wall clock with the GPU synchronised at both ends (CUDA work is
asynchronous; without a sync a phase would end before its kernels do). Its peak VRAM is torch's
allocator high-water mark since the phase began (allocated = live tensors, reserved = what the
caching allocator holds, closer to what nvidia-smi shows). Its peak RSS comes from a thread that
polls this process's resident memory, and the process's kernel high-water mark is read at the end.
"""
from __future__ import annotations

import resource
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

import psutil
import torch

GB = 1e9
POLL_S = 0.05

# Dense bf16 tensor-core peaks (TFLOP/s, no sparsity) from the vendors' data sheets, matched
# against torch.cuda.get_device_name() in this order (the first substring found wins).
BF16_PEAK_TFLOPS = (
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H100", 989.0),        # SXM5 ("NVIDIA H100 80GB HBM3")
    ("H200", 989.0),
    ("H800", 989.0),
    ("A100", 312.0),
    ("A800", 312.0),
    ("L40S", 362.0),
    ("L4", 121.0),
    ("RTX 5090", 209.5),
    ("RTX 4090", 165.2),
    ("RTX 3090", 71.0),
)


def device_label(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import platform

    return f"CPU {platform.machine()} ({psutil.cpu_count(logical=True)} threads, torch uses {torch.get_num_threads()})"


def bf16_peak_flops(device: torch.device, override_tflops: float | None = None) -> float | None:
    """FLOP/s of the device at dense bf16; None when unknown (CPUs: pass --peak-tflops)."""
    if override_tflops:
        return override_tflops * 1e12
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((tflops * 1e12 for key, tflops in BF16_PEAK_TFLOPS if key in name), None)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass
class PhaseResult:
    name: str
    seconds: float
    peak_rss_gb: float
    peak_vram_gb: float | None = None
    peak_vram_reserved_gb: float | None = None


class Meter:
    """Phases of a benchmark run, each with its time and memory peaks."""

    def __init__(self, device: torch.device):
        self.device = device
        self.phases: list[PhaseResult] = []
        self._process = psutil.Process()
        self._peak_rss = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            rss = self._process.memory_info().rss
            with self._lock:
                self._peak_rss = max(self._peak_rss, rss)
            self._stop.wait(POLL_S)

    @contextmanager
    def phase(self, name: str):
        """Time the block and record its memory peaks as phase `name`."""
        sync(self.device)
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        with self._lock:
            self._peak_rss = self._process.memory_info().rss
        start = time.perf_counter()
        yield
        sync(self.device)
        seconds = time.perf_counter() - start
        with self._lock:
            rss = max(self._peak_rss, self._process.memory_info().rss)
        result = PhaseResult(name, seconds, rss / GB)
        if self.device.type == "cuda":
            result.peak_vram_gb = torch.cuda.max_memory_allocated(self.device) / GB
            result.peak_vram_reserved_gb = torch.cuda.max_memory_reserved(self.device) / GB
        self.phases.append(result)

    def close(self) -> dict[str, float | None]:
        """Stop polling; the whole run's peaks."""
        self._stop.set()
        self._thread.join()
        return {
            "max_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GB,
            "max_vram_gb": max((p.peak_vram_gb or 0.0 for p in self.phases), default=0.0) if self.device.type == "cuda" else None,
            "max_vram_reserved_gb": max((p.peak_vram_reserved_gb or 0.0 for p in self.phases), default=0.0)
            if self.device.type == "cuda" else None,
        }
