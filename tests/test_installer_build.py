"""installer/build.sh produces a 64-bit Windows installer holding the bootstrap, uv.exe and the
app's wheel, and the wheel inside holds what the app needs at run time.

Needs makensis (Debian's nsis) and 7z (p7zip-full, which lists and unpacks NSIS installers).
.ci/run installs both, so under CI a missing tool fails the test; elsewhere it is skipped.
"""
import hashlib
import os
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "installer"))
from bootstrap import GUI_SCRIPT, read_wheel  # noqa: E402
from build_tools import BuildError, module_constant, stage_source, vi_version  # noqa: E402

IMAGE_FILE_MACHINE_AMD64 = 0x8664
PE32_PLUS = 0x20B


def require_tools():
    missing = [t for t in ("makensis", "7z") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"{missing} not installed: the README's system packages include nsis and p7zip-full "
                    "(sudo apt-get install nsis p7zip-full)")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Build once (about half a minute, mostly LZMA) and unpack the installer with 7z."""
    require_tools()
    out = tmp_path_factory.mktemp("installer")
    done = subprocess.run(["bash", str(ROOT / "installer" / "build.sh")], capture_output=True, text=True,
                          env={**os.environ, "BUILD_DIR": str(out), "PYTHON": sys.executable}, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    version = module_constant(ROOT / "framepack_desktop" / "__init__.py", "__version__")
    exe = out / f"FramePackDesktop-Setup-{version}.exe"
    assert exe.is_file(), done.stdout
    unpacked = out / "unpacked"
    listing = subprocess.run(["7z", "x", "-y", f"-o{unpacked}", str(exe)], capture_output=True, text=True)
    assert listing.returncode == 0, listing.stdout + listing.stderr
    return out, exe, unpacked


def pe_header(data: bytes):
    """(machine, optional header magic, subsystem) from a PE file's headers."""
    assert data[:2] == b"MZ"
    pe = struct.unpack_from("<I", data, 0x3C)[0]
    assert data[pe:pe + 4] == b"PE\0\0"
    machine = struct.unpack_from("<H", data, pe + 4)[0]
    optional = pe + 24
    magic = struct.unpack_from("<H", data, optional)[0]
    subsystem = struct.unpack_from("<H", data, optional + 68)[0]
    return machine, magic, subsystem


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.mark.slow
def test_installer_is_a_64_bit_windows_gui_program(built):
    _, exe, _ = built
    machine, magic, subsystem = pe_header(exe.read_bytes())
    assert (machine, magic, subsystem) == (IMAGE_FILE_MACHINE_AMD64, PE32_PLUS, 2)   # 2: Windows GUI
    assert b"NullsoftInst" in exe.read_bytes()[:4 * 1024 * 1024]


@pytest.mark.slow
def test_installer_holds_the_bootstrap_uv_and_the_app_wheel(built):
    out, _, unpacked = built
    setup = unpacked / "setup"
    for name in ("bootstrap.py", "gpu_detect.py", "probe.py"):
        assert sha256(setup / name) == sha256(ROOT / "installer" / name), name
    [wheel] = setup.glob("*.whl")
    assert sha256(wheel) == sha256(out / "wheel" / wheel.name)
    uv = (setup / "uv.exe").read_bytes()
    assert pe_header(uv)[:2] == (IMAGE_FILE_MACHINE_AMD64, PE32_PLUS)
    assert len(uv) > 10_000_000
    assert sorted(p.name for p in (setup / "licenses" / "uv").iterdir()) == ["LICENSE-APACHE", "LICENSE-MIT"]
    assert (unpacked / "uninstall.exe").exists()


@pytest.mark.slow
def test_the_wheel_inside_has_the_launcher_entry_and_the_resources(built):
    _, _, unpacked = built
    [wheel] = (unpacked / "setup").glob("*.whl")
    info = read_wheel(wheel)
    assert info.name == "framepack-desktop"
    assert info.version == module_constant(ROOT / "framepack_desktop" / "__init__.py", "__version__")
    assert info.torch_requirement.startswith("torch")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        gui = z.read(entry_points).decode().partition("[gui_scripts]")[2]
    assert f"{GUI_SCRIPT} = framepack_desktop.app:main" in gui
    assert "framepack_desktop/__init__.py" in names
    # resources/ (top level) reaches the wheel compiled into a module (tests/test_resources.py)
    assert "framepack_desktop/ui/resources_rc.py" in names


def test_vi_version_is_four_numbers():
    assert vi_version("0.1.0") == "0.1.0.0"
    assert vi_version("1.2.3rc1") == "1.2.3.0"
    assert vi_version("2.0") == "2.0.0.0"
    with pytest.raises(BuildError):
        vi_version("dev")


def test_staged_source_keeps_package_resources_and_leaves_build_junk_out(tmp_path):
    root = tmp_path / "repo"
    (root / "framepack_desktop" / "__pycache__").mkdir(parents=True)
    (root / "framepack_desktop" / "__init__.py").write_text('__version__ = "9.8.7"\n')
    (root / "framepack_desktop" / "__pycache__" / "x.pyc").write_bytes(b"")
    (root / "framepack_desktop" / "resources" / "icons").mkdir(parents=True)
    (root / "framepack_desktop" / "resources" / "icons" / "app.svg").write_text("<svg/>")
    (root / "build" / "lib" / "framepack_desktop").mkdir(parents=True)
    (root / "build" / "lib" / "framepack_desktop" / "deleted.py").write_text("")
    (root / "pyproject.toml").write_text("[project]\n")
    stage_source(root, tmp_path / "staged")
    staged = {p.relative_to(tmp_path / "staged").as_posix() for p in (tmp_path / "staged").rglob("*") if p.is_file()}
    assert staged == {"pyproject.toml", "framepack_desktop/__init__.py", "framepack_desktop/resources/icons/app.svg"}
    assert module_constant(tmp_path / "staged" / "framepack_desktop" / "__init__.py", "__version__") == "9.8.7"
