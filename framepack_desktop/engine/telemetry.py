"""How much GPU memory and RAM are in use: the numbers behind the window's VRAM meter.

Device-wide VRAM comes from NVML when nvidia-ml-py is installed (it sees every process on the
GPU, like nvidia-smi), else from `torch.cuda.mem_get_info`. The app's own share is what torch's
caching allocator holds (`memory_reserved`) and uses (`memory_allocated`). Without a GPU every
VRAM field is None and the device is called "CPU". A sample is a plain frozen dataclass; nothing
here knows about Qt, so the CLI can print the same numbers.

By default torch is used only if something already imported it: a meter ticking in the GUI
thread must not stall for seconds on a first `import torch` (the window imports the engine, and
so torch, once at start). The CLI passes `import_torch=True`.
"""
from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass
from types import ModuleType

import psutil

GIB = 1024 ** 3


@dataclass(frozen=True)
class Telemetry:
    device: str                         # GPU name, or "CPU"
    vram_used: int | None = None        # bytes in use on the whole device (all processes)
    vram_total: int | None = None
    app_reserved: int | None = None     # bytes torch's allocator holds for this process
    app_allocated: int | None = None    # bytes of live tensors in this process
    ram_used: int = 0                   # system RAM in use
    ram_total: int = 0
    app_rss: int = 0                    # this process's resident memory
    source: str = "none"                # "nvml", "torch" or "none"

    @property
    def has_gpu(self) -> bool:
        return self.vram_total is not None

    def vram_text(self) -> str:
        if not self.has_gpu:
            return "VRAM n/a"
        text = f"VRAM {gib(self.vram_used)} / {gib(self.vram_total)} GB"
        if self.app_reserved is not None:
            text += f" (app {gib(self.app_reserved)})"
        return text

    def ram_text(self) -> str:
        return f"RAM {gib(self.ram_used)} / {gib(self.ram_total)} GB (app {gib(self.app_rss)})"


def gib(n: int | None) -> str:
    return "n/a" if n is None else f"{n / GIB:.1f}"


def _torch(import_it: bool) -> ModuleType | None:
    if import_it and "torch" not in sys.modules:
        try:
            return importlib.import_module("torch")
        except ImportError:
            return None
    return sys.modules.get("torch")


def _nvml() -> ModuleType | None:
    try:
        import pynvml
    except ImportError:
        return None
    return pynvml


class TelemetrySampler:
    """Takes samples; keeps NVML initialised between them (init costs milliseconds, a read µs)."""

    def __init__(self, device_index: int = 0, import_torch: bool = False):
        self.device_index = device_index
        self.import_torch = import_torch
        self._nvml_handle = None
        self._nvml_failed = False
        self._process = psutil.Process(os.getpid())

    def sample(self) -> Telemetry:
        vm = psutil.virtual_memory()
        ram = dict(ram_used=vm.total - vm.available, ram_total=vm.total, app_rss=self._process.memory_info().rss)
        app_reserved, app_allocated = self._torch_app_share()
        nv = self._nvml_sample()
        if nv is not None:
            name, used, total = nv
            return Telemetry(name, used, total, app_reserved, app_allocated, source="nvml", **ram)
        torch = _torch(self.import_torch)
        if torch is not None and torch.cuda.is_available():
            free, total = torch.cuda.mem_get_info(self.device_index)
            name = torch.cuda.get_device_name(self.device_index)
            return Telemetry(name, total - free, total, app_reserved, app_allocated, source="torch", **ram)
        return Telemetry("CPU", **ram)

    def _torch_app_share(self) -> tuple[int | None, int | None]:
        torch = _torch(self.import_torch)
        if torch is None or not torch.cuda.is_available() or not torch.cuda.is_initialized():
            return None, None
        return torch.cuda.memory_reserved(self.device_index), torch.cuda.memory_allocated(self.device_index)

    def _nvml_sample(self) -> tuple[str, int, int] | None:
        if self._nvml_failed:
            return None
        nvml = _nvml()
        if nvml is None:
            self._nvml_failed = True
            return None
        try:
            if self._nvml_handle is None:
                nvml.nvmlInit()
                self._nvml_handle = nvml.nvmlDeviceGetHandleByIndex(self.device_index)
            mem = nvml.nvmlDeviceGetMemoryInfo(self._nvml_handle)
            name = nvml.nvmlDeviceGetName(self._nvml_handle)
        except nvml.NVMLError:
            # No NVIDIA driver or no such device: fall back to torch for good.
            self._nvml_failed = True
            return None
        return (name.decode() if isinstance(name, bytes) else name), int(mem.used), int(mem.total)


def sample(import_torch: bool = True) -> Telemetry:
    """One sample with a fresh sampler (the CLI; the window keeps its own sampler)."""
    return TelemetrySampler(import_torch=import_torch).sample()
