"""The installer's bootstrap (installer/bootstrap.py) run end to end against a fake nvidia-smi and a
fake uv: which commands it runs, which PyTorch index it picks, what it logs, how it updates.

The fake uv records its arguments and imitates uv just enough: `venv` makes an environment whose
python is the real interpreter limited to that environment's site folder, `pip install torch`
puts a fake torch module there (version label and CUDA facts of the build's index), and
`pip install <wheel>` unpacks the wheel and makes the GUI launcher. So the bootstrap's own probe
scripts really run.
"""
import json
import subprocess
import sys
import zipfile
from pathlib import Path, PureWindowsPath

import pytest

INSTALLER = Path(__file__).resolve().parents[1] / "installer"
sys.path.insert(0, str(INSTALLER))
from bootstrap import (Layout, arch_supported, default_install_dir, local_label, read_wheel,  # noqa: E402
                       review_torch)
from gpu_detect import TorchChoice  # noqa: E402

CU126_ARCHS = ["sm_50", "sm_60", "sm_61", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"]
CU128_ARCHS = ["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120"]

FAKE_UV = '''#!{python}
import json, os, shutil, sys, zipfile, configparser
from pathlib import Path
args = sys.argv[1:]
with open(os.environ["FAKE_UV_LOG"], "a") as f:
    f.write(json.dumps(args) + "\\n")
assert os.environ["UV_CACHE_DIR"] and os.environ["UV_PYTHON_INSTALL_DIR"]
if args == ["--version"]:
    print("uv 0.0.0 (fake)")
    sys.exit(0)
if args[0] == "venv":
    venv = Path(args[-1])
    (venv / "site").mkdir(parents=True, exist_ok=True)
    (venv / "bin").mkdir(exist_ok=True)
    py = venv / "bin" / "python"
    if not py.exists():
        py.write_text('#!/bin/sh\\nPYTHONPATH="%s" exec "{python}" -S "$@"\\n' % (venv / "site"))
        py.chmod(0o755)
    print("Creating virtual environment at:", venv)
    sys.exit(0)
assert args[:2] == ["pip", "install"], args
venv = Path(args[args.index("--python") + 1]).parent.parent
site = venv / "site"
target = args[-1]
if target.startswith("torch"):
    if os.environ.get("FAKE_UV_FAIL") == "torch":
        print("error: Failed to fetch: `https://download.pytorch.org/whl/torch/` (dns error)")
        sys.exit(2)
    tag = args[args.index("--index-url") + 1].rsplit("/", 1)[1]
    old = list(site.glob("torch-*.dist-info"))
    if old and "--reinstall-package" not in args:
        print("Audited 1 package")
        sys.exit(0)
    for d in old + [site / "torch"]:
        shutil.rmtree(d, ignore_errors=True)
    version = "2.9.1+" + tag
    archs = {{"cu126": {cu126}, "cu128": {cu128}}}.get(tag, [])
    (site / "torch").mkdir()
    (site / "torch" / "__init__.py").write_text(f"""
import os
if os.environ.get("FAKE_TORCH_BROKEN"):
    raise OSError("[WinError 126] The specified module could not be found. Error loading fbgemm.dll")
__version__ = {{version!r}}
class version:
    cuda = {{ {{"cu126": "12.6", "cu128": "12.8"}}.get(tag)!r}}
class cuda:
    is_available = staticmethod(lambda: {{bool(archs)}} and os.environ.get("FAKE_TORCH_CUDA", "1") == "1")
    device_count = staticmethod(lambda: 1)
    get_device_name = staticmethod(lambda i: os.environ["FAKE_GPU_NAME"])
    get_device_capability = staticmethod(lambda i: tuple(map(int, os.environ["FAKE_GPU_CAP"].split("."))))
    get_arch_list = staticmethod(lambda: {{archs!r}})
""")
    dist = site / f"torch-{{version}}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\\nName: torch\\nVersion: {{version}}\\n")
    print(" + torch==" + version)
    sys.exit(0)
pin = Path(args[args.index("--constraints") + 1]).read_text().strip()
assert pin.startswith("torch==2.9.1+"), pin
with zipfile.ZipFile(target) as z:
    z.extractall(site)
    entry_points = [n for n in z.namelist() if n.endswith(".dist-info/entry_points.txt")]
    parser = configparser.ConfigParser()
    parser.read_string(z.read(entry_points[0]).decode())
for name in parser["gui_scripts"]:
    (venv / "bin" / name).write_text("#!/bin/sh\\n")
print(" + framepack-desktop==0.1.0")
'''


def write_exe(path, text):
    path.write_text(text)
    path.chmod(0o755)
    return path


def make_wheel(folder):
    """A wheel with the real one's metadata shape: a torch requirement, a test extra, a GUI script."""
    path = folder / "framepack_desktop-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("framepack_desktop/__init__.py", '__version__ = "0.1.0"\n')
        z.writestr("framepack_desktop-0.1.0.dist-info/METADATA",
                   "Metadata-Version: 2.1\nName: framepack-desktop\nVersion: 0.1.0\n"
                   "Requires-Dist: numpy>=1.26\nRequires-Dist: torch>=2.6\n"
                   'Requires-Dist: pytest>=8; extra == "test"\n')
        z.writestr("framepack_desktop-0.1.0.dist-info/entry_points.txt",
                   "[gui_scripts]\nframepack-desktop = framepack_desktop.app:main\n")
    return path


class Machine:
    """A temporary computer: a PATH with fake tools, an install folder, the wheel to install."""

    def __init__(self, root: Path):
        self.root = root
        self.bin = root / "bin"
        self.bin.mkdir()
        self.install_dir = root / "FramePack Desktop"
        self.wheel = make_wheel(root)
        self.uv = write_exe(self.bin / "uv", FAKE_UV.format(
            python=sys.executable, cu126=CU126_ARCHS, cu128=CU128_ARCHS))
        self.uv_log = root / "uv-calls.jsonl"
        self.gpu = None

    def set_gpu(self, stdout=None, returncode=0, stderr="", cap="8.6"):
        """None uninstalls nvidia-smi; otherwise it prints `stdout` and exits with `returncode`."""
        exe = self.bin / "nvidia-smi"
        exe.unlink(missing_ok=True)
        self.cap = cap
        if stdout is not None:
            (self.root / "smi-out").write_text(stdout)
            (self.root / "smi-err").write_text(stderr)
            write_exe(exe, f"#!{sys.executable}\nimport sys\n"
                           f"sys.stdout.write(open({str(self.root / 'smi-out')!r}).read())\n"
                           f"sys.stderr.write(open({str(self.root / 'smi-err')!r}).read())\n"
                           f"sys.exit({returncode})\n")

    def run(self, **env):
        self.uv_log.unlink(missing_ok=True)
        full_env = {"PATH": str(self.bin), "HOME": str(self.root), "FAKE_UV_LOG": str(self.uv_log),
                    "FAKE_GPU_NAME": "fake GPU", "FAKE_GPU_CAP": self.cap, **env}
        done = subprocess.run(
            [sys.executable, str(INSTALLER / "bootstrap.py"), "--wheel", str(self.wheel),
             "--install-dir", str(self.install_dir), "--uv", str(self.uv)],
            capture_output=True, text=True, env=full_env, timeout=120)
        calls = [json.loads(line) for line in self.uv_log.read_text().splitlines()] if self.uv_log.exists() else []
        return done, calls

    @property
    def layout(self):
        return Layout(self.install_dir, windows=False)

    def log(self):
        return (self.install_dir / "install.log").read_text(encoding="utf-8")

    def warnings(self):
        path = self.install_dir / "install-warnings.txt"
        return path.read_text(encoding="utf-16-le") if path.exists() else None

    def expected_calls(self, tag, reinstall_torch=False):
        layout, py = self.layout, str(self.layout.venv_python)
        return [
            ["--version"],
            ["venv", "--python", "3.12", "--managed-python", "--allow-existing", str(layout.venv)],
            ["pip", "install", "--python", py, "--index-url", f"https://download.pytorch.org/whl/{tag}",
             *(["--reinstall-package", "torch"] if reinstall_torch else []), "torch>=2.6"],
            ["pip", "install", "--python", py, "--constraints", str(layout.constraint),
             "--reinstall-package", "framepack-desktop", str(self.wheel)],
        ]


@pytest.fixture
def machine(tmp_path):
    return Machine(tmp_path.resolve())


GPUS = {
    "RTX 5090": ("NVIDIA GeForce RTX 5090, 12.0, 32607, 576.02\n", "12.0", "cu128"),
    "RTX 4090": ("NVIDIA GeForce RTX 4090, 8.9, 24564, 560.94\n", "8.9", "cu126"),
    "RTX 3060": ("NVIDIA GeForce RTX 3060, 8.6, 12288, 560.94\n", "8.6", "cu126"),
    "GTX 1660": ("NVIDIA GeForce GTX 1660 SUPER, 7.5, 6144, 560.94\n", "7.5", "cu126"),
    "GTX 1080": ("NVIDIA GeForce GTX 1080, 6.1, 8192, 560.94\n", "6.1", "cu126"),
}


@pytest.mark.parametrize("gpu", GPUS)
def test_nvidia_gpu_gets_its_cuda_build(machine, gpu):
    stdout, cap, tag = GPUS[gpu]
    machine.set_gpu(stdout, cap=cap)
    done, calls = machine.run()
    assert done.returncode == 0, done.stdout + done.stderr
    assert calls == machine.expected_calls(tag)
    assert machine.warnings() is None
    assert (machine.layout.constraint).read_text() == f"torch==2.9.1+{tag}\n"
    log = machine.log()
    assert f"PyTorch build: {tag} from https://download.pytorch.org/whl/{tag}" in log
    for call in calls:
        assert "run: " + subprocess.list2cmdline([str(machine.uv), *call]) in log
    assert stdout.split(",")[0] in log          # nvidia-smi's answer is in the log
    assert f"PyTorch 2.9.1+{tag}, CUDA 12." in log
    assert "Done: FramePack Desktop is installed" in log
    assert "PyTorch build: " + tag in done.stdout    # what the installer window shows


@pytest.mark.parametrize("case, stdout, rc, stderr, says", [
    ("no nvidia-smi", None, 0, "", "nvidia-smi is not installed"),
    ("nvidia-smi fails", "", 9, "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.",
     "exit code 9: NVIDIA-SMI has failed"),
    ("no GPU listed", "No devices were found\n", 6, "", "exit code 6"),
    ("garbage", "\x1b[31m??? ###\n", 0, "", "listed no GPU"),
])
def test_no_usable_nvidia_gpu_installs_the_cpu_build_and_warns(machine, case, stdout, rc, stderr, says):
    machine.set_gpu(stdout, rc, stderr)
    done, calls = machine.run()
    assert done.returncode == 0, done.stdout + done.stderr
    assert calls == machine.expected_calls("cpu")
    [warning] = machine.warnings().splitlines()
    assert says in warning and "impractically slow" in warning
    log = machine.log()
    assert "PyTorch build: cpu from https://download.pytorch.org/whl/cpu" in log
    assert "WARNING " + warning in log


def test_running_again_updates_in_place_without_reinstalling_torch(machine):
    machine.set_gpu(*GPUS["RTX 3060"][:1], cap="8.6")
    machine.run()
    python_before = machine.layout.venv_python.read_text()
    done, calls = machine.run()
    assert done.returncode == 0
    assert calls == machine.expected_calls("cu126")       # no --reinstall-package torch
    assert machine.layout.venv_python.read_text() == python_before
    assert machine.log().count("=== framepack-desktop 0.1.0: install/update") == 2
    assert "PyTorch already installed: 2.9.1+cu126\n" in machine.log()


def test_a_new_gpu_replaces_the_torch_build_on_the_next_run(machine):
    machine.set_gpu(None)
    machine.run()
    assert machine.warnings() is not None
    machine.set_gpu(GPUS["RTX 5090"][0], cap="12.0")
    done, calls = machine.run()
    assert done.returncode == 0
    assert calls == machine.expected_calls("cu128", reinstall_torch=True)
    assert machine.layout.constraint.read_text() == "torch==2.9.1+cu128\n"
    assert "PyTorch already installed: 2.9.1+cpu -> replacing it with the cu128 build" in machine.log()
    assert machine.warnings() is None                     # the CPU warning of the first run is gone


def test_a_failed_download_stops_with_the_reason_in_the_log(machine):
    machine.set_gpu(GPUS["RTX 5090"][0], cap="12.0")
    done, calls = machine.run(FAKE_UV_FAIL="torch")
    assert done.returncode == 1
    assert calls == machine.expected_calls("cu128")[:3]   # the app is not installed after it
    log = machine.log()
    assert "Failed to fetch" in log
    assert "INSTALL FAILED: Could not install PyTorch (cu128) from https://download.pytorch.org/whl/cu128 " \
           "(exit code 2). The download failed: check the internet connection" in log
    assert "Please send this file with your report" in log


def test_a_cuda_build_that_cannot_see_the_gpu_is_reported(machine):
    machine.set_gpu(GPUS["RTX 5090"][0], cap="12.0")
    done, _ = machine.run(FAKE_TORCH_CUDA="0")
    assert done.returncode == 0
    [warning] = machine.warnings().splitlines()
    assert "cannot use the GPU" in warning and "Update the NVIDIA driver" in warning


def test_a_torch_that_does_not_load_fails_the_install_with_what_to_do(machine):
    machine.set_gpu(GPUS["RTX 4090"][0], cap="8.9")
    done, calls = machine.run(FAKE_TORCH_BROKEN="1")
    assert done.returncode == 1
    assert calls == machine.expected_calls("cu126")
    log = machine.log()
    assert "OSError: [WinError 126]" in log                # the traceback is in the log
    assert "INSTALL FAILED: PyTorch or the app does not load (exit code 1). A Windows system " \
           "library is missing: install the Microsoft Visual C++ Redistributable" in log


def test_windows_paths():
    env = {"LOCALAPPDATA": r"C:\Users\Ann\AppData\Local"}
    root = default_install_dir(env, windows=True)
    assert root == PureWindowsPath(r"C:\Users\Ann\AppData\Local\Programs\FramePackDesktop")
    layout = Layout(root, windows=True)
    assert str(layout.venv_python) == r"C:\Users\Ann\AppData\Local\Programs\FramePackDesktop\venv\Scripts\python.exe"
    assert str(layout.launcher).endswith(r"\venv\Scripts\framepack-desktop.exe")
    assert str(layout.log).endswith(r"\FramePackDesktop\install.log")
    uv_env = layout.uv_env({"PATH": "p", "VIRTUAL_ENV": r"C:\other"})
    assert uv_env == {"PATH": "p", "UV_PYTHON_INSTALL_DIR": str(root / "python"),
                      "UV_CACHE_DIR": str(root / "uv-cache")}


def test_read_wheel_takes_the_torch_requirement_without_extras(tmp_path):
    info = read_wheel(make_wheel(tmp_path))
    assert (info.name, info.version, info.torch_requirement) == ("framepack-desktop", "0.1.0", "torch>=2.6")


def test_local_label_names_the_index_torch_came_from():
    assert local_label("2.9.1+cu128") == "cu128"
    assert local_label("2.9.1") is None
    assert local_label(None) is None


@pytest.mark.parametrize("cap, archs, ok", [
    ((8, 9), CU126_ARCHS, True),     # Ada runs sm_86 kernels
    ((12, 0), CU126_ARCHS, False),   # RTX 50 on an old build: "no kernel image"
    ((12, 0), CU128_ARCHS, True),
    ((6, 1), CU128_ARCHS, False),
    ((12, 0), ["sm_90", "compute_90"], True),   # PTX is compiled for newer GPUs
])
def test_arch_supported(cap, archs, ok):
    assert arch_supported(cap, archs) is ok


def test_review_names_a_gpu_without_kernels():
    report = {"torch": "2.9.1+cu126", "cuda": "12.6", "cuda_available": True,
              "devices": [{"name": "NVIDIA GeForce RTX 5090", "capability": [12, 0]}],
              "arch_list": CU126_ARCHS}
    [warning] = review_torch(report, TorchChoice("cu126", "test"))
    assert "RTX 5090 (sm_120) has no kernels" in warning and "no kernel image" in warning
