"""Step caches on the demo transformer: threshold 0 is exactly uncached, a positive threshold skips
steps (counted), the state never leaks from one section into the next, and MagCache's ratios are
calibrated through a real job and read back from the models folder."""
import json

import pytest
import torch

from framepack_desktop.engine import events as ev
from framepack_desktop.engine.errors import BadSettings
from framepack_desktop.engine.job import Job
from framepack_desktop.engine.models import loader
from framepack_desktop.engine.sampling import magcache
from framepack_desktop.engine.sampling.stepcache import open_step_cache

pytestmark = pytest.mark.usefixtures("no_grad")
STEPS = 12
# A made-up table for the demo model (a real one comes from calibration): residuals change fast
# at first, then slowly, so the middle steps can be skipped at a moderate threshold.
RATIOS = [1.0, 1.3, 1.1, 1.02, 1.01, 1.0, 1.0, 0.99, 0.99, 0.98, 0.97, 0.95]


@pytest.fixture(scope="module")
def model(demo_models):
    return loader.load_transformer(demo_models, "original", "cpu", torch.float32).eval()


@pytest.fixture
def models_with_ratios(demo_models, tmp_path):
    magcache.save_ratios(tmp_path, "original", RATIOS, sections=1, steps=STEPS)
    return tmp_path


def call_inputs(model, x, sigma, seed=1):
    cfg = model.config
    g = torch.Generator().manual_seed(seed)
    c, h, w = cfg.in_channels, x.shape[3], x.shape[4]
    return dict(
        hidden_states=x, timestep=torch.tensor([sigma * 1000.0]), guidance=torch.tensor([10000.0]),
        encoder_hidden_states=torch.randn(1, 5, cfg.text_embed_dim, generator=g), encoder_attention_mask=torch.ones(1, 5),
        pooled_projections=torch.randn(1, cfg.pooled_projection_dim, generator=g),
        image_embeds=torch.randn(1, 3, cfg.image_proj_dim, generator=g),
        indices_latents=torch.arange(3, 3 + x.shape[2]), latents_clean=torch.randn(1, c, 2, h, w, generator=g),
        indices_latents_clean=torch.tensor([0, 12]), latents_history_2x=torch.randn(1, c, 2, h, w, generator=g),
        indices_latents_history_2x=torch.tensor([13, 14]),
        latents_history_4x=torch.randn(1, c, 16, h, w, generator=g),
        indices_latents_history_4x=torch.arange(15, 31), return_dict=False,
    )


def section(model, kind, threshold, models_dir=None, seed=2, calls=1, same_inputs=False):
    """One section's walk (Euler-like), `calls` model calls per step; returns outputs and the cache."""
    c = model.config.in_channels
    x = torch.randn(1, c, 3, 8, 8, generator=torch.Generator().manual_seed(seed))
    outs, skips = [], []
    with open_step_cache(model, kind, threshold, STEPS, calls, "original", models_dir) as cache:
        for i in range(STEPS):
            sigma = 1 - i / STEPS
            vs = []
            for k in range(calls):
                with cache.call(k):
                    vs.append(model(**call_inputs(model, x, sigma, seed=1 if same_inputs else 1 + k))[0])
            outs.append(vs[0])
            skips.append(cache.last_skipped)
            x = x - vs[0] / STEPS
    return outs, cache, skips


@pytest.mark.parametrize("kind", ["fbcache", "magcache", "teacache"])
def test_threshold_zero_is_exactly_the_uncached_model(model, models_with_ratios, kind):
    plain, _, _ = section(model, "off", 0.0)
    cached, cache, skips = section(model, kind, 0.0, models_with_ratios)
    assert cache.skipped == 0 and not any(skips)
    assert all(torch.equal(a, b) for a, b in zip(plain, cached))


@pytest.mark.parametrize("kind,threshold", [("fbcache", 0.5), ("magcache", 0.3)])
def test_positive_threshold_skips_counted_steps_and_stays_close(model, models_with_ratios, kind, threshold):
    plain, _, _ = section(model, "off", 0.0)
    cached, cache, skips = section(model, kind, threshold, models_with_ratios)
    assert cache.skipped == sum(skips) > 0
    assert torch.equal(plain[0], cached[0])
    err = max(((a - b).norm() / a.norm()).item() for a, b in zip(plain, cached))
    assert err < 0.5


@pytest.mark.parametrize("kind,threshold", [("fbcache", 0.5), ("magcache", 0.3)])
def test_state_does_not_leak_into_the_next_section(model, models_with_ratios, kind, threshold):
    alone, _, _ = section(model, kind, threshold, models_with_ratios, seed=5)
    section(model, kind, threshold, models_with_ratios, seed=4)
    after, _, _ = section(model, kind, threshold, models_with_ratios, seed=5)
    assert all(torch.equal(a, b) for a, b in zip(alone, after))
    assert not model.is_cache_enabled


@pytest.mark.parametrize("kind,threshold", [("fbcache", 0.5), ("magcache", 0.3)])
def test_cfg_calls_keep_separate_states(model, models_with_ratios, kind, threshold):
    """Two identical calls per step (as a CFG pair with equal prompts) skip exactly as one call does:
    each has its own state; shared, the second call would see the first's residual of the same step."""
    one, single, one_skips = section(model, kind, threshold, models_with_ratios, calls=1)
    two, pair, two_skips = section(model, kind, threshold, models_with_ratios, calls=2, same_inputs=True)
    assert one_skips == two_skips and pair.skipped == single.skipped > 0
    assert all(torch.equal(a, b) for a, b in zip(one, two))


def test_magcache_without_ratios_says_how_to_calibrate(model, tmp_path):
    with pytest.raises(BadSettings, match="calibrate-magcache --variant original"):
        section(model, "magcache", 0.1, tmp_path)
