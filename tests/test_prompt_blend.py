"""Prompt blending: the text embeddings move from one timed prompt to the next over N sections."""
import threading

import pytest
import torch

from framepack_desktop.engine.conditioning import PromptEmbeds, blend_prompt_embeds
from framepack_desktop.engine.errors import BadSettings
from framepack_desktop.engine.job import Job
from framepack_desktop.engine.plan import Plan
from framepack_desktop.engine.runner import _JobRun
from framepack_desktop.engine.session import ModelSession

# window 3: sections of 0.4 s; 2.4 s make 6 sections; the prompt changes at 0.8 s (section 2)
PROMPT = "[0s] a cat sleeps\n[0.8s] a cat jumps"


def job(tmp_path, blend, **kw):
    return Job(image="", prompt=PROMPT, output=str(tmp_path / "b.mp4"), seconds=2.4, window=3, prompt_blend=blend, **kw)


def test_the_change_starts_at_its_timestamp_and_completes_n_sections_later(tmp_path):
    blends = [s.blend for s in Plan.of(job(tmp_path, 3)).sections]
    assert blends == [None, None, ("a cat sleeps", 0.75), ("a cat sleeps", 0.5), ("a cat sleeps", 0.25), None]
    assert [s.blend for s in Plan.of(job(tmp_path, 0)).sections] == [None] * 6
    with pytest.raises(BadSettings, match="between 0 and 20"):
        job(tmp_path, -1).validate()


def test_blending_changes_the_fingerprints_of_the_blended_sections_and_those_sampled_after(tmp_path):
    hard, soft = Plan.of(job(tmp_path, 0, variant="f1")), Plan.of(job(tmp_path, 2, variant="f1"))
    assert [hard.prints[s] == soft.prints[s] for s in range(6)] == [True, True, False, False, False, False]


def test_blended_embeds_mix_both_prompts():
    a = PromptEmbeds(torch.ones(1, 4, 2), torch.tensor([[1, 1, 0, 0]]), torch.zeros(1, 3))
    b = PromptEmbeds(torch.zeros(1, 4, 2), torch.tensor([[1, 1, 1, 0]]), torch.ones(1, 3))
    mixed = blend_prompt_embeds(a, b, 0.25)
    assert torch.allclose(mixed.llama, torch.full((1, 4, 2), 0.25)) and torch.allclose(mixed.pooled, torch.full((1, 3), 0.75))
    assert mixed.mask.tolist() == [[1, 1, 1, 0]]


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
def test_the_runner_samples_a_blended_section_with_the_mixed_embeds(tmp_path, demo_models):
    run = _JobRun(job(tmp_path, 2, resolution=128, steps=2, models=str(demo_models)), threading.Event(), ModelSession())
    try:
        run.check_inputs()
        for stage in (run.announce, run.encode_prompts, run.encode_images):
            list(stage())
        history = run.seed.history(run.variant, run.cond.start_latent, run.vae)
        sleeps, jumps = run.cond.embeds["a cat sleeps"], run.cond.embeds["a cat jumps"]
        third = run.section_inputs(run.plan.sections[3], history, 0).positive
        assert torch.allclose(third.llama, sleeps.llama / 3 + 2 * jumps.llama / 3)
        assert not torch.equal(third.llama, jumps.llama)
        assert run.section_inputs(run.plan.sections[5], history, 0).positive is jumps
    finally:
        run.close()
