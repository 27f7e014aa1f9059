"""Install or update FramePack Desktop in one folder, with the PyTorch build this GPU needs.

The Windows installer unpacks uv.exe, this script and the app's wheel, installs a uv-managed
Python and runs this script with it (see FramePackDesktop.nsi). Everything then lives under the
install folder, so the uninstaller can remove it all and nothing leaks into the user's PATH:

    <install>/python     uv-managed Python      <install>/venv         the app's environment
    <install>/uv-cache   uv's download cache    <install>/install.log  everything this script did

Every command and its output goes to install.log, the file a user sends when something fails.
Running it again updates in place: the environment is kept, the app is reinstalled from the new
wheel, and PyTorch is replaced only when the GPU now needs a different build.

Plain standard library, run as a script; the decisions are functions the tests call directly.
"""
from __future__ import annotations

import argparse
import email.parser
import json
import logging
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePath, PureWindowsPath

from gpu_detect import DRIVER_URL, TorchChoice, choose_torch, run_nvidia_smi

APP_DIR_NAME = "FramePackDesktop"
DEFAULT_PYTHON = "3.12"
LOG_NAME = "install.log"
WARNINGS_NAME = "install-warnings.txt"
GUI_SCRIPT = "framepack-desktop"
VC_REDIST_URL = "https://aka.ms/vs/17/release/vc_redist.x64.exe"

PROBE = Path(__file__).resolve().with_name("probe.py")


class InstallError(Exception):
    """A step failed; the message names what failed and what the user can do about it."""


@dataclass(frozen=True)
class Layout:
    """Where everything goes inside the install folder."""
    root: PurePath
    windows: bool

    @property
    def venv(self) -> PurePath:
        return self.root / "venv"

    @property
    def python_dir(self) -> PurePath:
        return self.root / "python"

    @property
    def cache_dir(self) -> PurePath:
        return self.root / "uv-cache"

    @property
    def log(self) -> PurePath:
        return self.root / LOG_NAME

    @property
    def warnings(self) -> PurePath:
        return self.root / WARNINGS_NAME

    @property
    def setup_dir(self) -> PurePath:
        """What the installer unpacked: uv.exe, this script, the wheel."""
        return self.root / "setup"

    @property
    def constraint(self) -> PurePath:
        return self.setup_dir / "torch-constraint.txt"

    @property
    def venv_python(self) -> PurePath:
        return self.venv / ("Scripts/python.exe" if self.windows else "bin/python")

    @property
    def launcher(self) -> PurePath:
        """The no-console launcher uv makes from the wheel's [project.gui-scripts] entry."""
        return self.venv / (f"Scripts/{GUI_SCRIPT}.exe" if self.windows else f"bin/{GUI_SCRIPT}")

    def uv_env(self, env: dict[str, str]) -> dict[str, str]:
        """uv keeps its Pythons and its cache in here; another active environment must not leak in."""
        out = {k: v for k, v in env.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONHOME")}
        out.update(UV_PYTHON_INSTALL_DIR=str(self.python_dir), UV_CACHE_DIR=str(self.cache_dir))
        return out


@dataclass(frozen=True)
class WheelInfo:
    path: PurePath
    name: str
    version: str
    torch_requirement: str


def default_install_dir(env: dict[str, str], windows: bool) -> PurePath:
    """Per-user programs folder on Windows (no admin rights needed), XDG data folder elsewhere."""
    if windows:
        if not env.get("LOCALAPPDATA"):
            raise InstallError("LOCALAPPDATA is not set, so there is no per-user programs folder: "
                               "pass --install-dir.")
        return PureWindowsPath(env["LOCALAPPDATA"]) / "Programs" / APP_DIR_NAME
    data = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".local" / "share")
    return Path(data) / APP_DIR_NAME


def read_wheel(path: Path) -> WheelInfo:
    """Name, version and torch requirement from the wheel's METADATA."""
    try:
        with zipfile.ZipFile(path) as z:
            meta_name = next(n for n in z.namelist()
                             if n.count("/") == 1 and n.endswith(".dist-info/METADATA"))
            meta = email.parser.Parser().parsestr(z.read(meta_name).decode("utf-8"))
    except (OSError, zipfile.BadZipFile, StopIteration) as e:
        raise InstallError(f"{path} is not a readable wheel ({e or 'no METADATA'}): download the "
                           "installer again.") from e
    torch = "torch"
    for req in meta.get_all("Requires-Dist") or []:
        spec, _, marker = req.partition(";")
        name = re.match(r"\s*([A-Za-z0-9._-]+)", spec)
        if name and name.group(1).lower() == "torch" and "extra" not in marker:
            torch = spec.replace("(", "").replace(")", "").strip()
            break
    return WheelInfo(path, meta["Name"], meta["Version"], torch)


def local_label(version: str | None) -> str | None:
    """'2.9.1+cu128' -> 'cu128': which wheel index an installed torch came from."""
    if version is None or "+" not in version:
        return None
    return version.partition("+")[2]


def venv_command(uv: str, layout: Layout, python_version: str) -> list[str]:
    """--allow-existing keeps an installed environment (and its 3 GB of PyTorch) on updates."""
    return [uv, "venv", "--python", python_version, "--managed-python", "--allow-existing",
            str(layout.venv)]


def torch_command(uv: str, layout: Layout, choice: TorchChoice, requirement: str,
                  reinstall: bool) -> list[str]:
    """PyTorch from its own index only, the way PyTorch documents it; the app comes later."""
    cmd = [uv, "pip", "install", "--python", str(layout.venv_python), "--index-url", choice.index_url]
    if reinstall:
        cmd += ["--reinstall-package", "torch"]
    return cmd + [requirement]


def app_command(uv: str, layout: Layout, wheel: WheelInfo) -> list[str]:
    """The app from PyPI, with torch pinned to the build just installed.

    Without the pin an app that asks for a newer torch would get PyPI's, which on Windows is the
    CPU build: better a clear resolver error in the log than a silent switch to the CPU.
    """
    return [uv, "pip", "install", "--python", str(layout.venv_python), "--constraints",
            str(layout.constraint), "--reinstall-package", wheel.name, str(wheel.path)]


def arch_supported(capability: tuple[int, int], arch_list: list[str]) -> bool:
    """Kernels for sm_XY run on the same major with a higher minor; compute_XY (PTX) on newer GPUs."""
    for arch in arch_list:
        kind, _, num = arch.partition("_")
        if not num.isdigit() or len(num) < 2:
            continue
        major, minor = int(num[:-1]), int(num[-1])
        if kind == "sm" and major == capability[0] and minor <= capability[1]:
            return True
        if kind == "compute" and (major, minor) <= capability:
            return True
    return False


def review_torch(report: dict, choice: TorchChoice) -> list[str]:
    """Warnings from what the installed torch says about this machine."""
    warnings = []
    if choice.is_cuda and not report["cuda_available"]:
        warnings.append(
            f"PyTorch {report['torch']} is installed but cannot use the GPU "
            f"(torch.cuda.is_available() is False). Update the NVIDIA driver from {DRIVER_URL}, "
            "then start the app again.")
    for device in report["devices"]:
        cap = tuple(device["capability"])
        if not arch_supported(cap, report["arch_list"]):
            warnings.append(
                f"{device['name']} (sm_{cap[0]}{cap[1]}) has no kernels in PyTorch {report['torch']} "
                f"(built for {', '.join(report['arch_list'])}): generation would fail with 'no "
                "kernel image is available'. Please send install.log with a bug report.")
    return warnings


def new_log(path: Path) -> logging.Logger:
    """A logger private to this run: all detail to the file, messages to stdout (installer window)."""
    log = logging.Logger("framepack-desktop-bootstrap", logging.INFO)
    to_file = logging.FileHandler(path, mode="a", encoding="utf-8")
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s"))
    to_screen = logging.StreamHandler(sys.stdout)
    to_screen.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(to_file)
    log.addHandler(to_screen)
    return log


class Steps:
    """Runs the commands, logging each command line and every line of its output."""

    def __init__(self, log: logging.Logger, env: dict[str, str]):
        self.log = log
        self.env = env

    def run(self, cmd: list[str], failure: str) -> str:
        self.log.info("run: %s", subprocess.list2cmdline(cmd))
        start = time.monotonic()
        try:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    env=self.env, stdin=subprocess.DEVNULL)
        except OSError as e:
            raise InstallError(f"{failure}: could not start {cmd[0]} ({e}).") from e
        lines = []
        for raw in proc.stdout:
            line = raw.decode("utf-8", errors="replace").rstrip()
            lines.append(line)
            self.log.info("    %s", line)
        rc = proc.wait()
        self.log.info("exit code %d after %.1f s", rc, time.monotonic() - start)
        output = "\n".join(lines)
        if rc != 0:
            raise InstallError(f"{failure} (exit code {rc}).{_hint(output)}")
        return output

    def probe(self, python: PurePath, *args: str, failure: str):
        """The JSON that probe.py prints (its last line), run by the environment's Python."""
        output = self.run([str(python), str(PROBE), *args], failure)
        lines = [line for line in output.splitlines() if line.strip()]
        try:
            return json.loads(lines[-1])
        except (IndexError, json.JSONDecodeError) as e:
            raise InstallError(f"{failure}: unexpected output {output[-300:]!r}.") from e


def _hint(output: str) -> str:
    """What to do about the failures users actually meet."""
    text = output.lower()
    if "winerror 126" in text or "dll load failed" in text:
        return (" A Windows system library is missing: install the Microsoft Visual C++ "
                f"Redistributable ({VC_REDIST_URL}) and run the installer again.")
    if any(s in text for s in ("failed to fetch", "dns error", "connection", "timed out", "network")):
        return (" The download failed: check the internet connection (and proxy settings: "
                "HTTPS_PROXY) and run the installer again; finished downloads are kept.")
    if "no space left" in text or "os error 112" in text:
        return " The disk is full: free some space and run the installer again."
    return " See the lines above for uv's explanation."


def install(wheel_path: Path, layout: Layout, uv: str, python_version: str,
            env: dict[str, str], log: logging.Logger) -> list[str]:
    """Every step of an install or update; returns the warnings the user should see."""
    wheel = read_wheel(wheel_path)
    log.info("=== %s %s: install/update in %s", wheel.name, wheel.version, layout.root)
    log.info("bootstrap Python %s on %s", platform.python_version(), platform.platform())
    log.info("free disk space: %.1f GB", shutil.disk_usage(layout.root).free / 1e9)
    uv_env = layout.uv_env(env)
    log.info("UV_PYTHON_INSTALL_DIR=%s UV_CACHE_DIR=%s", uv_env["UV_PYTHON_INSTALL_DIR"],
             uv_env["UV_CACHE_DIR"])
    steps = Steps(log, uv_env)
    steps.run([uv, "--version"], "uv does not run")

    smi = run_nvidia_smi(env, layout.windows)
    log.info("nvidia-smi: %s, exit code %s", smi.path or "not found", smi.returncode)
    for line in (smi.stdout + "\n" + smi.stderr).strip().splitlines():
        log.info("    %s", line)
    choice = choose_torch(smi)
    log.info("PyTorch build: %s from %s (%s)", choice.tag, choice.index_url, choice.reason)
    for w in choice.warnings:
        log.warning("%s", w)

    steps.run(venv_command(uv, layout, python_version),
              f"Could not create the Python {python_version} environment in {layout.venv}")
    had = steps.probe(layout.venv_python, "torch-version",
                      failure="The new Python environment does not run")
    reinstall = had is not None and local_label(had) != choice.tag
    log.info("PyTorch already installed: %s%s", had or "none",
             f" -> replacing it with the {choice.tag} build" if reinstall else "")
    steps.run(torch_command(uv, layout, choice, wheel.torch_requirement, reinstall),
              f"Could not install PyTorch ({choice.tag}) from {choice.index_url}")
    torch_version = steps.probe(layout.venv_python, "torch-version",
                                failure="Could not read the installed PyTorch version")
    if local_label(torch_version) != choice.tag:
        raise InstallError(f"PyTorch {torch_version} was installed, but the {choice.tag} build was "
                           "wanted. Please send install.log with a bug report.")
    Path(layout.constraint).parent.mkdir(parents=True, exist_ok=True)
    Path(layout.constraint).write_text(f"torch=={torch_version}\n", encoding="utf-8")

    steps.run(app_command(uv, layout, wheel), f"Could not install {wheel.name} {wheel.version}")
    if not Path(layout.launcher).is_file():
        raise InstallError(f"The app launcher {layout.launcher} was not created. Please send "
                           "install.log with a bug report.")
    report = steps.probe(layout.venv_python, "verify", wheel.name,
                         failure="PyTorch or the app does not load")
    log.info("PyTorch %s, CUDA %s, GPU usable: %s %s", report["torch"], report["cuda"],
             report["cuda_available"], [d["name"] for d in report["devices"]])
    found = review_torch(report, choice)
    for w in found:
        log.warning("%s", w)
    return list(choice.warnings) + found


def parse_args(argv: list[str] | None, env: dict[str, str], windows: bool) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Install or update FramePack Desktop from its wheel.")
    p.add_argument("--wheel", required=True, type=Path, help="the app's wheel file")
    p.add_argument("--install-dir", type=Path, help="default: the per-user programs folder")
    p.add_argument("--uv", default=shutil.which("uv"), help="path to uv (default: uv on PATH)")
    p.add_argument("--python-version", default=DEFAULT_PYTHON)
    args = p.parse_args(argv)
    if args.install_dir is None:
        try:
            args.install_dir = Path(default_install_dir(env, windows))
        except InstallError as e:
            p.error(str(e))
    if not args.uv:
        p.error("uv was not found: pass --uv")
    return args


def main(argv: list[str] | None = None) -> int:
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")
    env = dict(os.environ)
    windows = os.name == "nt"
    args = parse_args(argv, env, windows)
    layout = Layout(args.install_dir.resolve(), windows)
    Path(layout.root).mkdir(parents=True, exist_ok=True)
    Path(layout.warnings).unlink(missing_ok=True)
    log = new_log(Path(layout.log))
    try:
        return _install_and_report(args, layout, env, log)
    except Exception:
        log.exception("INSTALL FAILED: the bootstrap itself crashed; please send this file (%s) "
                      "with your report", layout.log)
        raise
    finally:
        for handler in log.handlers:
            handler.close()


def _install_and_report(args: argparse.Namespace, layout: Layout, env: dict[str, str],
                        log: logging.Logger) -> int:
    """Exit code 0 when installed (warnings go to install-warnings.txt for the installer to show)."""
    try:
        warnings = install(args.wheel.resolve(), layout, args.uv, args.python_version, env, log)
    except InstallError as e:
        log.error("INSTALL FAILED: %s", e)
        log.error("Please send this file with your report: %s", layout.log)
        return 1
    if warnings:
        # UTF-16 because the installer reads it with NSIS's FileReadUTF16LE.
        Path(layout.warnings).write_text("\r\n".join(warnings) + "\r\n", encoding="utf-16-le")
    log.info("Done: FramePack Desktop is installed in %s", layout.root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
