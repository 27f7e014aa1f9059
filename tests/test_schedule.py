"""The shifted sigma schedule: the original FramePack's bits, within float32 epsilon of diffusers' pipeline."""
import math

import numpy as np
import pytest
import torch
from diffusers import FlowMatchEulerDiscreteScheduler

from framepack_desktop.engine.sampling.schedule import flux_mu, model_timesteps, shifted_sigmas


def diffusers_sigmas(steps: int, mu: float) -> torch.Tensor:
    """What HunyuanVideoFramepackPipeline hands its scheduler, and the sigmas it gets back."""
    scheduler = FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=True, time_shift_type="exponential", shift=1.0)
    scheduler.set_timesteps(sigmas=np.linspace(1.0, 0.0, steps + 1)[:-1], mu=mu)
    return scheduler.sigmas


@pytest.mark.parametrize("steps", [1, 2, 7, 25, 50, 200])
@pytest.mark.parametrize("mu", [0.5, 0.9, math.log(7)])
def test_within_float32_epsilon_of_diffusers_scheduler(steps, mu):
    """Ours are the original FramePack's bits (tests/test_unipc_golden.py); diffusers computes
    through a float64 linspace and lands up to float32's epsilon (2^-23) away (measured: at most
    1.2e-7, 1 to 3 ulps of values below 1), never more."""
    ours, theirs = shifted_sigmas(steps, mu), diffusers_sigmas(steps, mu)
    assert ours.dtype == torch.float32 and ours.shape == (steps + 1,)
    assert float((ours - theirs).abs().max()) <= 2**-23


@pytest.mark.parametrize("steps", [1, 3, 25])
def test_ends_exactly_and_decreases(steps):
    sigmas = shifted_sigmas(steps, math.log(7))
    assert sigmas[0].item() == 1.0 and sigmas[-1].item() == 0.0
    assert bool((sigmas[1:] < sigmas[:-1]).all())


def test_shift_rule_in_double_precision():
    mu = 1.3
    sigma = np.linspace(1.0, 0.0, 11)[1:-1]
    expected = math.exp(mu) / (math.exp(mu) + 1 / sigma - 1)
    np.testing.assert_allclose(shifted_sigmas(10, mu)[1:-1].numpy(), expected, rtol=1e-6)


def test_shift_bends_the_schedule_towards_noise():
    flat, shifted = shifted_sigmas(25, 0.0), shifted_sigmas(25, math.log(7))
    np.testing.assert_allclose(flat.numpy(), np.linspace(1, 0, 26), atol=1e-6)
    assert bool((shifted[1:-1] > flat[1:-1]).all())


def test_mu_is_linear_in_sequence_length_and_capped():
    assert flux_mu(256, exp_max=100) == pytest.approx(0.5)
    assert flux_mu(4096, exp_max=100) == pytest.approx(1.15)
    assert flux_mu(2176, exp_max=100) == pytest.approx((0.5 + 1.15) / 2)
    assert flux_mu(4096 * 3) == pytest.approx(math.log(7))
    # The 640 bucket 544x704, window 9: 9 x 68 x 88 latent cells in 2x2 patches reach the cap.
    assert flux_mu(9 * 68 * 88 / 4) == pytest.approx(math.log(7))
    assert flux_mu(1000) < math.log(7)


def test_model_timesteps_scale_to_thousand():
    sigmas = shifted_sigmas(5, 1.0)
    torch.testing.assert_close(model_timesteps(sigmas), sigmas * 1000)
    assert model_timesteps(sigmas)[0].item() == 1000.0


def test_rejects_zero_steps():
    with pytest.raises(ValueError):
        shifted_sigmas(0, 1.0)
