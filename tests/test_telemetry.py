"""The VRAM/RAM numbers the meter shows: real readings from this machine, GPU or not."""
import subprocess
import sys

import numpy as np
import psutil
import torch

from framepack_desktop.engine.telemetry import GIB, Telemetry, TelemetrySampler


def test_sample_describes_this_machine():
    t = TelemetrySampler(import_torch=True).sample()
    assert 0 < t.ram_used <= t.ram_total == psutil.virtual_memory().total
    assert 0 < t.app_rss < t.ram_total
    if torch.cuda.is_available():
        assert t.device != "CPU" and t.has_gpu and t.source in ("nvml", "torch")
        assert 0 < t.vram_used <= t.vram_total
    else:
        assert (t.device, t.vram_used, t.vram_total, t.app_reserved, t.source) == ("CPU", None, None, None, "none")
        assert t.vram_text() == "VRAM n/a"


def test_app_share_follows_this_process_allocations():
    sampler = TelemetrySampler(import_torch=True)
    if torch.cuda.is_available():
        torch.cuda.init()
        before = sampler.sample()
        block = torch.empty(256 * 1024 ** 2, dtype=torch.uint8, device="cuda")
        after = sampler.sample()
        assert after.app_allocated - (before.app_allocated or 0) >= block.numel()
        assert after.app_reserved >= after.app_allocated
        assert after.vram_used - before.vram_used >= block.numel() // 2
    before = sampler.sample()
    block = np.ones(300 * 1024 ** 2, dtype=np.uint8)
    after = sampler.sample()
    assert after.app_rss - before.app_rss >= 0.9 * block.nbytes


def test_texts_use_gigabytes_and_the_app_share():
    t = Telemetry("RTX 4090", vram_used=5 * GIB, vram_total=24 * GIB, app_reserved=4 * GIB,
                  ram_used=12 * GIB, ram_total=32 * GIB, app_rss=3 * GIB // 2)
    assert t.vram_text() == "VRAM 5.0 / 24.0 GB (app 4.0)"
    assert t.ram_text() == "RAM 12.0 / 32.0 GB (app 1.5)"


def test_meter_sampling_never_imports_torch_itself():
    code = ("import sys; from framepack_desktop.engine.telemetry import TelemetrySampler; "
            "t = TelemetrySampler().sample(); assert 'torch' not in sys.modules, 'torch imported'; print(t.device)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip()
