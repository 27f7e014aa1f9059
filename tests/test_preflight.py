"""Measuring the machine for the preflight: RAM, the Windows commit limit, disk; the plan's report."""
import ctypes
import shutil

import psutil
import pytest
import torch

from framepack_desktop.engine.models import machine as machine_module
from framepack_desktop.engine.models.estimates import GIB, REAL
from framepack_desktop.engine.models.machine import Machine, probe, windows_commit
from framepack_desktop.engine.models.policy import base_placement
from framepack_desktop.engine.models.preflight import Wishes, plan


def fake_global_memory_status(total_phys, avail_phys, commit_limit, commit_avail, ok=True):
    """Stands in for kernel32.GlobalMemoryStatusEx: fills the MEMORYSTATUSEX it is handed."""

    def call(pointer):
        status = ctypes.cast(pointer, ctypes.POINTER(machine_module._MemoryStatusEx)).contents
        assert status.dwLength == ctypes.sizeof(machine_module._MemoryStatusEx) == 64
        status.ullTotalPhys, status.ullAvailPhys = total_phys, avail_phys
        status.ullTotalPageFile, status.ullAvailPageFile = commit_limit, commit_avail
        return 1 if ok else 0

    return call


def test_windows_commit_limit_comes_from_global_memory_status_ex():
    limit, available = windows_commit(fake_global_memory_status(16 * GIB, 9 * GIB, 40 * GIB, 23 * GIB))
    assert (limit, available) == (40 * GIB, 23 * GIB)
    with pytest.raises(OSError, match="GlobalMemoryStatusEx failed"):
        windows_commit(fake_global_memory_status(0, 0, 0, 0, ok=False))


def test_probe_uses_the_commit_limit_on_windows(monkeypatch, tmp_path):
    monkeypatch.setattr(machine_module.sys, "platform", "win32")
    monkeypatch.setattr(machine_module, "windows_commit", lambda: (40 * GIB, 23 * GIB))
    m = probe(torch.device("cpu"), tmp_path / "not" / "yet")
    assert m.windows and m.commit_available == 23 * GIB and m.holdable == 23 * GIB
    assert m.disk_free == shutil.disk_usage(tmp_path).free


def test_probe_elsewhere_counts_available_ram_and_free_swap():
    m = probe(torch.device("cpu"))
    vm, swap = psutil.virtual_memory(), psutil.swap_memory()
    assert m.device == "cpu" and m.vram_total == 0 and not m.windows
    assert m.ram_total == vm.total
    assert abs(m.commit_available - (vm.available + swap.free)) < 256 * 1024 ** 2
    assert m.disk_free is None


def test_holdable_is_the_commit_left_when_known():
    assert Machine(ram_available=10, commit_available=4).holdable == 4
    assert Machine(ram_available=10).holdable == 10


def test_the_report_says_what_was_chosen_what_it_needs_and_why():
    m = Machine("cuda", "RTX 3060", 12 * GIB, int(11.5 * GIB), 32 * GIB, 24 * GIB, 24 * GIB, 200 * GIB)
    result = plan(Wishes(height=416, width=960), m, REAL, base_placement(torch.device("cuda")))
    report = result.report()
    lines = report.splitlines()
    assert lines[0] == ("GPU: transformer fp8, streamed block by block (1 block at a time, CUDA stream, "
                        "pinned as they move); VAE decodes tiled")
    assert lines[1].startswith("needs: VRAM ") and "GPU memory kept free 4.2 GB" in lines[1]
    assert lines[2].startswith("- fp8 transformer (15.5 GB), group offload: 11.5 of 12.0 GB GPU memory free")
    assert all(line.startswith("- ") for line in lines[2:]) and len(lines) == 2 + len(result.placement.reasons)


def test_a_per_process_vram_cap_is_what_the_policy_plans_for():
    from framepack_desktop.engine.models.machine import capped_vram

    h100, free = 80 * GIB, 79 * GIB
    assert capped_vram(h100, free, 0, 1.0) == (h100, free)
    total, capped_free = capped_vram(h100, free, int(0.5 * GIB), 6 * GIB / h100)
    assert total == 6 * GIB and capped_free == int(5.5 * GIB)   # what torch already holds is not free
    six = Machine("cuda", "H100 capped", total, capped_free, 64 * GIB, 48 * GIB, 48 * GIB, 500 * GIB)
    place = plan(Wishes(height=544, width=704), six, REAL, base_placement(torch.device("cuda"))).placement
    assert place.memory == "group_offload"   # as on a real 6 GB card
