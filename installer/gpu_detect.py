"""Which PyTorch build this computer needs, decided from what `nvidia-smi` reports.

The original FramePack bundle shipped one old CUDA build of torch, and RTX 50 cards crashed with
"no kernel image is available": their sm_120 kernels exist only in CUDA 12.8+ builds. Those same
12.8 builds dropped Maxwell, Pascal and Volta (sm_50..sm_70), so one build cannot serve every card.
We ask the driver for each GPU's compute capability and pick the PyTorch wheel index that has
kernels for the best GPU in the machine.

Plain standard library: this runs under a freshly installed Python before anything else exists.
The decisions are ordinary functions of text so that tests can feed them any `nvidia-smi` output.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

QUERY_FIELDS = "name,compute_cap,memory.total,driver_version"
NVIDIA_SMI_ARGS = (f"--query-gpu={QUERY_FIELDS}", "--format=csv,noheader,nounits")
NVIDIA_SMI_TIMEOUT_S = 60

TORCH_INDEX = "https://download.pytorch.org/whl/"
MIN_CUDA_CAPABILITY = (5, 0)     # oldest GPU (Maxwell) that the CUDA 12.6 builds still support
CU128_MIN_CAPABILITY = (7, 5)    # CUDA 12.8 builds start at Turing
BLACKWELL_CAPABILITY = (10, 0)   # Blackwell (B100/B200 sm_100, RTX 50 sm_120) needs CUDA 12.8+
MIN_DRIVER_MAJOR = 528           # CUDA 12.x wheels need driver 528.33+ on Windows
MIN_VRAM_MIB = 6 * 1024          # FramePack's stated minimum: 6 GB

DRIVER_URL = "https://www.nvidia.com/drivers"
CPU_IS_SLOW = (
    "FramePack Desktop will use the CPU build of PyTorch: the app installs and opens, but "
    "generating video on the CPU is impractically slow (hours for a few seconds of video)."
)


@dataclass(frozen=True)
class Gpu:
    """One line of nvidia-smi's answer. `capability` is None when the driver reports [N/A]."""
    name: str
    capability: tuple[int, int] | None
    memory_mib: int | None
    driver: str

    @property
    def sm(self) -> str:
        return f"sm_{self.capability[0]}{self.capability[1]}" if self.capability else "sm_?"


@dataclass(frozen=True)
class NvidiaSmiResult:
    """What running nvidia-smi gave: `path` None when it is not installed."""
    path: str | None
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""


@dataclass(frozen=True)
class TorchChoice:
    """The PyTorch build to install: `tag` is the wheel index name and the local version label."""
    tag: str
    reason: str
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def index_url(self) -> str:
        return TORCH_INDEX + self.tag

    @property
    def is_cuda(self) -> bool:
        return self.tag.startswith("cu")


def find_nvidia_smi(env: dict[str, str], windows: bool) -> str | None:
    """nvidia-smi on PATH, or where older Windows drivers put it (not on PATH)."""
    found = shutil.which("nvidia-smi", path=env.get("PATH", ""))
    if found or not windows:
        return found
    for base in (env.get("ProgramW6432"), env.get("ProgramFiles")):
        if base:
            candidate = Path(base) / "NVIDIA Corporation" / "NVSMI" / "nvidia-smi.exe"
            if candidate.is_file():
                return str(candidate)
    return None


def run_nvidia_smi(env: dict[str, str] | None = None, windows: bool | None = None) -> NvidiaSmiResult:
    """Ask the driver about every GPU. Never raises: a failure is an answer too."""
    env = dict(os.environ) if env is None else env
    windows = os.name == "nt" if windows is None else windows
    path = find_nvidia_smi(env, windows)
    if path is None:
        return NvidiaSmiResult(path=None)
    try:
        done = subprocess.run([path, *NVIDIA_SMI_ARGS], capture_output=True, env=env,
                              timeout=NVIDIA_SMI_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return NvidiaSmiResult(path, None, "", f"no answer within {NVIDIA_SMI_TIMEOUT_S} s")
    except OSError as e:
        return NvidiaSmiResult(path, None, "", f"could not start it: {e}")
    return NvidiaSmiResult(path, done.returncode, _text(done.stdout), _text(done.stderr))


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace").strip()


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def parse_gpus(stdout: str) -> list[Gpu]:
    """GPUs from `--query-gpu=name,compute_cap,memory.total,driver_version` CSV lines.

    Lines that are not four fields with a plausible name are skipped, so error text printed on
    stdout yields no GPU rather than a fake one.
    """
    gpus = []
    for line in stdout.splitlines():
        parts = [p.strip() for p in line.rsplit(",", 3)]
        if len(parts) != 4 or not parts[0]:
            continue
        name, cap_text, mem_text, driver = parts
        cap = None
        major, dot, minor = cap_text.partition(".")
        if dot and major.isdigit() and minor.isdigit():
            cap = (int(major), int(minor))
        elif "N/A" not in cap_text:
            continue
        mem = _number(mem_text)
        gpus.append(Gpu(name, cap, int(mem) if mem is not None else None, driver))
    return gpus


NO_DRIVER_ADVICE = (f"If this computer has an NVIDIA GPU, install its current driver from {DRIVER_URL} "
                    "and run this installer again.")


def _cpu(reason: str, why: str, advice: str = NO_DRIVER_ADVICE) -> TorchChoice:
    return TorchChoice("cpu", reason, (f"{why} {CPU_IS_SLOW} {advice}".strip(),))


def _cuda_capability(gpu: Gpu) -> tuple[int, int]:
    """The capability to plan for; [N/A] is guessed from the name (only RTX 50 matters)."""
    if gpu.capability is not None:
        return gpu.capability
    return (12, 0) if "RTX 50" in gpu.name.upper() else CU128_MIN_CAPABILITY


def choose_torch(smi: NvidiaSmiResult) -> TorchChoice:
    """The build for the best NVIDIA GPU found, with warnings a user should see."""
    if smi.path is None:
        return _cpu("nvidia-smi not found", "No NVIDIA GPU was found (nvidia-smi is not installed).")
    if smi.returncode != 0:
        detail = (smi.stderr or smi.stdout or "no output").splitlines()[0][:200]
        return _cpu("nvidia-smi failed",
                    f"nvidia-smi failed (exit code {smi.returncode}: {detail}), so no usable NVIDIA "
                    "GPU was found.")
    gpus = parse_gpus(smi.stdout)
    if not gpus:
        return _cpu("no GPU in nvidia-smi output",
                    f"nvidia-smi listed no GPU it could describe ({smi.stdout[:200]!r}).")
    best = max(gpus, key=_cuda_capability)
    cap = _cuda_capability(best)
    if cap < MIN_CUDA_CAPABILITY:
        return _cpu("GPU too old for PyTorch CUDA builds",
                    f"{best.name} ({best.sm}) is older than any GPU the current PyTorch CUDA builds "
                    "support (compute capability 5.0 or newer).",
                    "FramePack needs an NVIDIA GPU of the GTX 900 series or newer (RTX 30 or newer "
                    "recommended).")
    if cap >= BLACKWELL_CAPABILITY:
        tag, reason = "cu128", f"{best.name} ({best.sm}) needs a CUDA 12.8+ build"
    else:
        tag, reason = "cu126", f"{best.name} ({best.sm}) runs the CUDA 12.6 build"
    return TorchChoice(tag, reason, tuple(_gpu_warnings(tag, best, gpus)))


def _gpu_warnings(tag: str, best: Gpu, gpus: list[Gpu]) -> list[str]:
    warnings = []
    if best.memory_mib is not None and best.memory_mib < MIN_VRAM_MIB:
        warnings.append(
            f"{best.name} has {best.memory_mib / 1024:.1f} GB of memory; FramePack needs about 6 GB. "
            "Generation may fail with out-of-memory errors or run very slowly.")
    driver_major = best.driver.partition(".")[0]
    if driver_major.isdigit() and int(driver_major) < MIN_DRIVER_MAJOR:
        warnings.append(
            f"The NVIDIA driver {best.driver} is too old for the CUDA 12 builds of PyTorch (needs "
            f"{MIN_DRIVER_MAJOR} or newer): update it from {DRIVER_URL}; no reinstall is needed after.")
    if tag == "cu128":
        left_out = [g for g in gpus if g.capability is not None and g.capability < CU128_MIN_CAPABILITY]
        for g in left_out:
            warnings.append(f"{g.name} ({g.sm}) is not supported by the CUDA 12.8 build chosen for "
                            f"{best.name}; the app will use {best.name}.")
    return warnings
