"""File work for build.sh: stage the wheel's sources, assemble the installer payload, name things.

build.sh runs the tools (pip, makensis); this script does what is easier to get right in Python,
and refuses to build an installer whose parts disagree (wheel version vs. __version__, a missing
GUI entry point the shortcuts would point at).

    build_tools.py stage-source ROOT DEST
    build_tools.py payload --root ROOT --app-wheel-dir DIR --uv-wheel-dir DIR --payload DIR --out-dir DIR
        (prints makensis -D options, one per line)
"""
from __future__ import annotations

import argparse
import ast
import configparser
import re
import shutil
import sys
import zipfile
from pathlib import Path, PureWindowsPath

from bootstrap import (APP_DIR_NAME, DEFAULT_PYTHON, GUI_SCRIPT, LOG_NAME, WARNINGS_NAME, InstallError,
                       Layout, read_wheel)

INSTALLER_DIR = Path(__file__).resolve().parent
BOOTSTRAP_FILES = ("bootstrap.py", "gpu_detect.py", "probe.py")
# What the wheel is built from. Copying only these into a clean folder keeps setuptools' in-tree
# build/ (which can smuggle deleted modules into a wheel) and stray files out of the installer.
SOURCE_FILES = ("pyproject.toml", "setup.py", "setup.cfg", "MANIFEST.in", "README.md", "LICENSE",
                "main.py")
SOURCE_DIRS = ("framepack_desktop",)
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")


class BuildError(Exception):
    """The parts of the installer disagree; the message says which and how to fix it."""


def module_constant(path: Path, name: str) -> str:
    """A string constant assigned at the top level of a module, read without importing it."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            return node.value.value
    raise BuildError(f"{path} has no top-level {name} = '...'")


def vi_version(version: str) -> str:
    """Windows file versions are four numbers: '0.2.0rc1' -> '0.2.0.0'."""
    release = re.match(r"\d+(\.\d+)*", version)
    if not release:
        raise BuildError(f"version {version!r} does not start with a number")
    numbers = release.group(0).split(".")
    return ".".join((numbers + ["0"] * 4)[:4])


def stage_source(root: Path, dest: Path) -> None:
    """Copy what the wheel is built from (the icons and style sheet are in it as the compiled Qt resource
    module framepack_desktop/ui/resources_rc.py)."""
    dest.mkdir(parents=True)
    for name in SOURCE_FILES:
        if (root / name).is_file():
            shutil.copy2(root / name, dest / name)
    for name in SOURCE_DIRS:
        if (root / name).is_dir():
            shutil.copytree(root / name, dest / name, ignore=IGNORED)


def only_file(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    if len(found) != 1:
        raise BuildError(f"expected one {pattern} in {folder}, found {[p.name for p in found]}")
    return found[0]


def gui_scripts(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as z:
        names = [n for n in z.namelist() if n.count("/") == 1 and n.endswith(".dist-info/entry_points.txt")]
        parser = configparser.ConfigParser()
        if names:
            parser.read_string(z.read(names[0]).decode("utf-8"))
    return set(parser["gui_scripts"]) if parser.has_section("gui_scripts") else set()


def extract_uv(uv_wheel: Path, payload: Path) -> None:
    """uv.exe, and uv's licence texts that must travel with it."""
    with zipfile.ZipFile(uv_wheel) as z:
        exe = [n for n in z.namelist() if n.endswith(".data/scripts/uv.exe")]
        if len(exe) != 1:
            raise BuildError(f"{uv_wheel.name} has no single uv.exe: is it the win_amd64 wheel?")
        (payload / "uv.exe").write_bytes(z.read(exe[0]))
        licenses = payload / "licenses" / "uv"
        licenses.mkdir(parents=True)
        for name in z.namelist():
            if "/licenses/" in name and name.split("/")[0].endswith(".dist-info") and not name.endswith("/"):
                (licenses / name.rsplit("/", 1)[1]).write_bytes(z.read(name))


def payload(root: Path, app_wheel_dir: Path, uv_wheel_dir: Path, dest: Path, out_dir: Path) -> dict[str, str]:
    """Fill `dest` with what the installer unpacks; return the makensis defines."""
    app_wheel = only_file(app_wheel_dir, "*.whl")
    wheel = read_wheel(app_wheel)
    version = module_constant(root / "framepack_desktop" / "__init__.py", "__version__")
    if wheel.version != version:
        raise BuildError(f"the wheel says version {wheel.version} but framepack_desktop.__version__ "
                         f"is {version}: make pyproject.toml and __init__.py agree")
    if GUI_SCRIPT not in gui_scripts(app_wheel):
        raise BuildError(f"{app_wheel.name} has no [project.gui-scripts] entry '{GUI_SCRIPT}', which "
                         "the shortcuts start")
    data_dir_name = module_constant(root / "framepack_desktop" / "engine" / "paths.py", "APP_NAME")

    dest.mkdir(parents=True)
    extract_uv(only_file(uv_wheel_dir, "uv-*-win_amd64.whl"), dest)
    for name in BOOTSTRAP_FILES:
        shutil.copy2(INSTALLER_DIR / name, dest / name)
    shutil.copy2(app_wheel, dest / app_wheel.name)

    layout = Layout(PureWindowsPath(), windows=True)
    return {
        "VERSION": version,
        "VI_VERSION": vi_version(version),
        "OUTFILE": str(out_dir / f"FramePackDesktop-Setup-{version}.exe"),
        "PAYLOAD_DIR": str(dest),
        "WHEEL_NAME": app_wheel.name,
        "PYTHON_VERSION": DEFAULT_PYTHON,
        "SETUP_DIR": str(layout.setup_dir),
        "VENV_DIR": str(layout.venv),
        "PYTHON_DIR": str(layout.python_dir),
        "CACHE_DIR": str(layout.cache_dir),
        "LAUNCHER": str(layout.launcher),
        "LOG_NAME": LOG_NAME,
        "WARNINGS_NAME": WARNINGS_NAME,
        "INSTALL_DIR_NAME": APP_DIR_NAME,
        "DATA_DIR_NAME": data_dir_name,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("stage-source")
    s.add_argument("root", type=Path)
    s.add_argument("dest", type=Path)
    pl = sub.add_parser("payload")
    for opt in ("--root", "--app-wheel-dir", "--uv-wheel-dir", "--payload", "--out-dir"):
        pl.add_argument(opt, type=Path, required=True)
    args = p.parse_args(argv)
    try:
        if args.command == "stage-source":
            stage_source(args.root, args.dest)
        else:
            defines = payload(args.root, args.app_wheel_dir, args.uv_wheel_dir, args.payload, args.out_dir)
            print("\n".join(f"-D{k}={v}" for k, v in defines.items()))
    except (BuildError, InstallError) as e:
        print(f"build_tools: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
