"""The installer's choice of PyTorch build from what nvidia-smi says (installer/gpu_detect.py)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "installer"))
from gpu_detect import (Gpu, NvidiaSmiResult, choose_torch, find_nvidia_smi, parse_gpus,  # noqa: E402
                        run_nvidia_smi)


def smi(stdout, returncode=0, stderr=""):
    return NvidiaSmiResult("/usr/bin/nvidia-smi", returncode, stdout, stderr)


def test_parse_gpus_reads_every_line_and_na_capability():
    out = ("NVIDIA GeForce RTX 5090, 12.0, 32607, 576.02\n"
           "NVIDIA GeForce GTX 1080 Ti, 6.1, 11264, 576.02\n"
           "NVIDIA Tesla K80, [N/A], [N/A], 470.82\n")
    assert parse_gpus(out) == [
        Gpu("NVIDIA GeForce RTX 5090", (12, 0), 32607, "576.02"),
        Gpu("NVIDIA GeForce GTX 1080 Ti", (6, 1), 11264, "576.02"),
        Gpu("NVIDIA Tesla K80", None, None, "470.82"),
    ]


@pytest.mark.parametrize("out", [
    "",
    "No devices were found",
    "Field \"compute_cap\" is not a valid field to query.",
    "a, b, c, d",
    "NVIDIA GeForce RTX 3060, 8, 12288, 560.94",
])
def test_parse_gpus_ignores_lines_that_are_not_gpus(out):
    assert parse_gpus(out) == []


@pytest.mark.parametrize("line, tag", [
    ("NVIDIA GeForce RTX 5090, 12.0, 32607, 576.02", "cu128"),
    ("NVIDIA GeForce RTX 5060 Laptop GPU, 12.0, 8151, 576.02", "cu128"),
    ("NVIDIA B200, 10.0, 183359, 575.51", "cu128"),
    ("NVIDIA GeForce RTX 4090, 8.9, 24564, 560.94", "cu126"),
    ("NVIDIA GeForce RTX 3060, 8.6, 12288, 560.94", "cu126"),
    ("NVIDIA GeForce GTX 1660 SUPER, 7.5, 6144, 560.94", "cu126"),
    ("NVIDIA GeForce GTX 1080, 6.1, 8192, 560.94", "cu126"),
    ("NVIDIA GeForce GTX 980, 5.2, 4096, 560.94", "cu126"),
])
def test_build_follows_compute_capability(line, tag):
    choice = choose_torch(smi(line + "\n"))
    assert choice.tag == tag
    assert choice.index_url == f"https://download.pytorch.org/whl/{tag}"
    assert choice.is_cuda


def test_cards_with_enough_memory_and_a_current_driver_get_no_warning():
    assert choose_torch(smi("NVIDIA GeForce RTX 4090, 8.9, 24564, 560.94")).warnings == ()


@pytest.mark.parametrize("result, says", [
    (NvidiaSmiResult(None), "nvidia-smi is not installed"),
    (smi("", 9, "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."),
     "couldn't communicate with the NVIDIA driver"),
    (smi("No devices were found", 6), "exit code 6"),
    (smi("garbage\x00\x01 output"), "garbage"),
    (smi("NVIDIA GeForce GTX 780, 3.5, 3072, 470.82"), "GTX 780 (sm_35) is older"),
])
def test_no_usable_nvidia_gpu_means_cpu_build_with_a_clear_warning(result, says):
    choice = choose_torch(result)
    assert choice.tag == "cpu"
    assert choice.index_url == "https://download.pytorch.org/whl/cpu"
    assert not choice.is_cuda
    [warning] = choice.warnings
    assert says in warning
    assert "impractically slow" in warning
    too_old = "older than any GPU" in warning
    assert ("run this installer again" in warning) is not too_old
    assert ("GTX 900 series or newer" in warning) is too_old


def test_the_best_gpu_decides_and_left_out_cards_are_named():
    choice = choose_torch(smi("NVIDIA GeForce GTX 1080, 6.1, 8192, 576.02\n"
                              "NVIDIA GeForce RTX 5080, 12.0, 16303, 576.02\n"))
    assert choice.tag == "cu128"
    assert "RTX 5080" in choice.reason
    [warning] = choice.warnings
    assert "GTX 1080 (sm_61) is not supported by the CUDA 12.8 build" in warning


def test_unknown_capability_is_guessed_from_the_name():
    assert choose_torch(smi("NVIDIA GeForce RTX 5070, [N/A], 12227, 576.02")).tag == "cu128"
    assert choose_torch(smi("NVIDIA GeForce RTX 3080, [N/A], 10240, 560.94")).tag == "cu126"


def test_small_memory_and_old_driver_are_warned_about():
    warnings = choose_torch(smi("NVIDIA GeForce RTX 3050 Laptop GPU, 8.6, 4096, 512.78")).warnings
    assert len(warnings) == 2
    assert "4.0 GB of memory; FramePack needs about 6 GB" in warnings[0]
    assert "driver 512.78 is too old" in warnings[1]


def write_exe(path, body):
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def test_run_nvidia_smi_asks_for_name_and_compute_capability(tmp_path):
    args_file = tmp_path / "args"
    write_exe(tmp_path / "nvidia-smi", f'echo "$@" > "{args_file}"\necho "NVIDIA GeForce RTX 4070, 8.9, 12282, 566.36"\n')
    result = run_nvidia_smi({"PATH": str(tmp_path)}, windows=False)
    assert result.returncode == 0
    assert parse_gpus(result.stdout)[0].capability == (8, 9)
    assert args_file.read_text().split() == [
        "--query-gpu=name,compute_cap,memory.total,driver_version", "--format=csv,noheader,nounits"]


def test_run_nvidia_smi_reports_failure_and_absence(tmp_path):
    write_exe(tmp_path / "nvidia-smi", "echo 'driver not loaded' >&2\nexit 9\n")
    failed = run_nvidia_smi({"PATH": str(tmp_path)}, windows=False)
    assert (failed.returncode, failed.stderr) == (9, "driver not loaded")
    assert run_nvidia_smi({"PATH": str(tmp_path / "empty")}, windows=False).path is None


def test_old_windows_drivers_keep_nvidia_smi_in_program_files(tmp_path):
    exe = tmp_path / "NVIDIA Corporation" / "NVSMI" / "nvidia-smi.exe"
    exe.parent.mkdir(parents=True)
    exe.write_bytes(b"MZ")
    env = {"PATH": str(tmp_path / "empty"), "ProgramW6432": str(tmp_path)}
    assert find_nvidia_smi(env, windows=True) == str(exe)
    assert find_nvidia_smi(env, windows=False) is None
