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
        encoder_hidden_states=torch.randn(1, 5, cfg.text_embed_dim, generator=g),
        encoder_attention_mask=torch.ones(1, 5),
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


@pytest.mark.parametrize("kind,threshold", [("fbcache", 0.5), ("magcache", 0.3)])
def test_diffusers_caches_work_on_a_group_offloaded_model_and_leave_its_hooks(demo_models, models_with_ratios,
                                                                             kind, threshold):
    """The caches' hooks go on top of the offloading hooks and come off after the section (the CPU
    stands in for the GPU, as in test_models_session)."""
    from dataclasses import replace

    from framepack_desktop.engine.models.offload import Offload
    from framepack_desktop.engine.models.policy import base_placement
    from framepack_desktop.engine.session import ModelSession

    cpu = base_placement(torch.device("cpu"))
    plain = ModelSession(prompt_cache_dir=None).transformer(demo_models, "original", cpu)
    place = replace(cpu, memory="group_offload", offload=Offload(use_stream=True, pinned=False))
    offloaded = ModelSession(prompt_cache_dir=None).transformer(demo_models, "original", place)
    expected, cache, skips = section(plain, kind, threshold, models_with_ratios)
    got, offloaded_cache, offloaded_skips = section(offloaded, kind, threshold, models_with_ratios)
    assert skips == offloaded_skips and cache.skipped > 0
    assert all(torch.equal(a, b) for a, b in zip(expected, got))
    hooks = offloaded.single_transformer_blocks[0]._diffusers_hook
    assert hooks.get_hook("group_offloading") is not None and not offloaded.is_cache_enabled


def test_magcache_without_ratios_says_how_to_calibrate(model, tmp_path):
    with pytest.raises(BadSettings, match="calibrate-magcache --variant original"):
        section(model, "magcache", 0.1, tmp_path)


# ----- the choice in a Job, the command line and the settings form -----

def test_old_teacache_jobs_load_and_keep_their_fingerprint():
    """Computed by the version before step caches could be chosen (commit 1305061)."""
    from framepack_desktop.engine.jobfolder import job_fingerprint

    old = {"image": "", "prompt": "a fox", "output": "o.mp4", "teacache": 0.1, "seconds": 3}
    job = Job.from_dict(old)
    assert job.step_cache_choice == ("teacache", 0.1)
    assert job_fingerprint(job) == "3e49e1d634bf4105c916bde5ad2acd1980a605d70ca46cbc0d4f1e8679ac4abe"
    assert job.replace(teacache=0.0).step_cache_choice == ("off", 0.0)
    assert job_fingerprint(job.replace(step_cache="fbcache")) != job_fingerprint(job)
    assert job.replace(step_cache="magcache").step_cache_choice == ("magcache", 0.06)
    assert job.replace(step_cache="fbcache", step_cache_threshold=0.2).step_cache_choice == ("fbcache", 0.2)
    with pytest.raises(BadSettings, match="Unknown step cache 'tea'"):
        job.replace(step_cache="tea").validate()


def test_cli_puts_each_threshold_where_its_cache_reads_it(tmp_path, make_image):
    from framepack_desktop.app import _jobs_from_args, build_parser

    def _job_from_args(args):
        (job,) = _jobs_from_args(args)
        return job

    image = make_image(tmp_path / "a.png", (64, 48))
    base = ["render", "--image", str(image), "--prompt", "p", "--out", str(tmp_path / "o.mp4")]
    tea = _job_from_args(build_parser().parse_args(base + ["--step-cache-threshold", "0.1"]))
    assert (tea.step_cache, tea.teacache, tea.step_cache_threshold) == ("teacache", 0.1, None)
    mag_args = base + ["--step-cache", "magcache", "--step-cache-threshold", "0.1"]
    mag = _job_from_args(build_parser().parse_args(mag_args))
    assert (mag.step_cache, mag.teacache, mag.step_cache_threshold) == ("magcache", 0.15, 0.1)
    saved = tmp_path / "job.json"
    saved.write_text(mag.to_json())
    again = _job_from_args(build_parser().parse_args(["render", "--from", str(saved), "--step-cache-threshold", "0.2"]))
    assert (again.step_cache, again.step_cache_threshold) == ("magcache", 0.2)


def test_settings_field_remembers_each_caches_threshold_and_round_trips_old_settings(qtbot):
    from framepack_desktop.ui.step_cache_field import StepCacheField

    field = StepCacheField()
    qtbot.addWidget(field)
    field.set_values({"teacache": 0.0})
    assert field.kind.currentData() == "off" and not field.threshold.isEnabled()
    assert field.values() == {"step_cache": "teacache", "teacache": 0.0, "step_cache_threshold": None}
    field.set_values({"teacache": 0.12, "step_cache": "teacache"})
    field.kind.setCurrentIndex(field.kind.findData("fbcache"))
    field.threshold.setValue(0.3)
    field.kind.setCurrentIndex(field.kind.findData("teacache"))
    assert field.threshold.value() == pytest.approx(0.12)
    field.kind.setCurrentIndex(field.kind.findData("fbcache"))
    assert field.values() == {"step_cache": "fbcache", "teacache": 0.12, "step_cache_threshold": pytest.approx(0.3)}


# ----- through the runner: events count skipped steps; MagCache calibrated by a real job -----

@pytest.fixture
def small_job(demo_models, tmp_path, make_image):
    image = make_image(tmp_path / "in.png", (240, 180), seed=3)
    return Job(image=str(image), prompt="a fox", output=str(tmp_path / "out.mp4"), seconds=0.8, window=3,
               resolution=128, steps=8, models=str(demo_models))


def run_events(job):
    from framepack_desktop.engine.runner import run_job

    events = list(run_job(job))
    assert isinstance(events[-1], ev.Finished), events[-1]
    return events


@pytest.mark.slow
def test_runner_counts_the_steps_a_diffusers_cache_skipped(small_job):
    events = run_events(small_job.replace(step_cache="fbcache", step_cache_threshold=0.9))
    steps = [e for e in events if isinstance(e, ev.StepProgress)]
    decoded = [e for e in events if isinstance(e, ev.SectionDecoded)]
    assert len(decoded) == 2
    for d in decoded:
        assert d.skipped_steps == sum(s.cached for s in steps if s.section == d.section) > 0


@pytest.mark.slow
def test_calibration_stores_ratios_that_a_magcache_job_then_uses(small_job, demo_models, tmp_path):
    import shutil

    from framepack_desktop.app import main as cli
    from framepack_desktop.engine.runner import run_job

    models = shutil.copytree(demo_models, tmp_path / "models")
    job = small_job.replace(models=str(models), step_cache="magcache", step_cache_threshold=0.5)
    failed = list(run_job(job))[-1]
    assert isinstance(failed, ev.Failed) and "calibrate-magcache --variant original" in failed.message
    assert cli(["models", "calibrate-magcache", "--models", str(models), "--sections", "2", "--steps", "8",
                "--resolution", "128", "--device", "cpu"]) == 0
    stored = json.loads((models / "magcache" / "original.json").read_text())
    assert stored["sections"] == 2 and len(stored["ratios"]) == 8
    assert stored["ratios"][0] == 1.0 and all(r > 0 for r in stored["ratios"])
    assert not (models / "magcache" / "f1.json").exists()
    events = run_events(job)
    assert sum(e.skipped_steps for e in events if isinstance(e, ev.SectionDecoded)) > 0
