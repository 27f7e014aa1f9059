"""What this computer has: GPU memory, RAM, the Windows commit limit, disk, quantization packages.

A `Machine` is a plain value, so the memory policy is a pure function of it and the tests can
describe any computer (6 GB laptop GPU with 16 GB RAM, 80 GB server card) without owning one.

Windows refuses allocations beyond its commit limit (RAM plus pagefile) even when pages could be
dropped: that is why the original app needed a 50 GB pagefile. There the limit and what is left
of it come from `GlobalMemoryStatusEx` (ullTotalPageFile / ullAvailPageFile are the commit limit
and the commit still available). Elsewhere the kernel overcommits, and what can be held is the
available RAM plus free swap.
"""
from __future__ import annotations

import ctypes
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .quantize import has_package

if TYPE_CHECKING:
    import torch

GIB = 1024 ** 3


@dataclass(frozen=True)
class Machine:
    device: str = "cpu"                     # "cuda" or "cpu"
    gpu_name: str = ""
    vram_total: int = 0
    vram_free: int = 0
    ram_total: int = 0
    ram_available: int = 0
    commit_available: int | None = None     # bytes that may still be allocated (RAM + pagefile/swap)
    disk_free: int | None = None            # on the drive of the models folder
    windows: bool = False
    bitsandbytes: bool = False
    torchao: bool = False

    @property
    def holdable(self) -> int:
        """Bytes this process may still allocate in RAM: the commit left, or available RAM + swap."""
        return self.commit_available if self.commit_available is not None else self.ram_available


class _MemoryStatusEx(ctypes.Structure):
    _fields_ = [
        ("dwLength", ctypes.c_uint32),  # DWORD: 32 bits on Windows (c_ulong is 64 on Linux)
        ("dwMemoryLoad", ctypes.c_uint32),
        ("ullTotalPhys", ctypes.c_ulonglong),
        ("ullAvailPhys", ctypes.c_ulonglong),
        ("ullTotalPageFile", ctypes.c_ulonglong),
        ("ullAvailPageFile", ctypes.c_ulonglong),
        ("ullTotalVirtual", ctypes.c_ulonglong),
        ("ullAvailVirtual", ctypes.c_ulonglong),
        ("ullAvailExtendedVirtual", ctypes.c_ulonglong),
    ]


def windows_commit(global_memory_status_ex=None) -> tuple[int, int]:
    """(commit limit, commit available) in bytes, from GlobalMemoryStatusEx."""
    call = global_memory_status_ex or ctypes.windll.kernel32.GlobalMemoryStatusEx
    status = _MemoryStatusEx()
    status.dwLength = ctypes.sizeof(_MemoryStatusEx)
    if not call(ctypes.byref(status)):
        raise OSError("GlobalMemoryStatusEx failed")
    return int(status.ullTotalPageFile), int(status.ullAvailPageFile)


def probe(device: "torch.device", models_dir: Path | None = None) -> Machine:
    """Measure this computer now (free VRAM on `device` when it is a CUDA device)."""
    import psutil
    import torch

    vm = psutil.virtual_memory()
    windows = sys.platform == "win32"
    if windows:
        commit = windows_commit()[1]
    else:
        commit = vm.available + psutil.swap_memory().free
    fields = dict(
        ram_total=vm.total, ram_available=vm.available, commit_available=commit, windows=windows,
        disk_free=_disk_free(models_dir) if models_dir is not None else None,
        bitsandbytes=has_package("bitsandbytes"), torchao=has_package("torchao"),
    )
    if device.type == "cuda" and torch.cuda.is_available():
        index = device.index if device.index is not None else torch.cuda.current_device()
        free, total = torch.cuda.mem_get_info(index)
        fraction = torch.cuda.get_per_process_memory_fraction(index)
        name = torch.cuda.get_device_name(index)
        if fraction < 1:
            name += f" (this process capped to {fraction * total / 1024 ** 3:.1f} GB)"
        total, free = capped_vram(total, free, torch.cuda.memory_reserved(index), fraction)
        return Machine("cuda", name, total, free, **fields)
    return Machine("cpu", **fields)


def capped_vram(total: int, free: int, reserved: int, fraction: float) -> tuple[int, int]:
    """(total, free) GPU memory this process may use under torch's per-process memory fraction
    (`torch.cuda.set_per_process_memory_fraction`: how the benchmarks simulate a 6 or 8 GB card
    on a large one, and how a user can leave the rest of a shared GPU alone)."""
    if fraction >= 1:
        return total, free
    allowed = int(total * fraction)
    return allowed, max(0, min(free, allowed - reserved))


def _disk_free(folder: Path) -> int:
    probe_dir = Path(folder)
    while not probe_dir.exists() and probe_dir != probe_dir.parent:
        probe_dir = probe_dir.parent
    return shutil.disk_usage(probe_dir if probe_dir.exists() else os.getcwd()).free
