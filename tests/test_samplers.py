"""Samplers against a flow whose exact solution is known, and Euler against diffusers.

The analytic flow: data x0 ~ N(m, s^2) independently per element. Along the linear path
x = (1 - sigma) x0 + sigma noise the exact x0 prediction is the Gaussian posterior mean
E[x0 | x] = m + a s^2 (x - a m) / (a^2 s^2 + sigma^2), a = 1 - sigma, so the exact velocity is
(x - E[x0 | x]) / sigma, and the probability-flow ODE carries the noise eps at sigma = 1 to
m + s eps at sigma = 0.
"""
import math

import numpy as np
import pytest
import torch
from diffusers import FlowMatchEulerDiscreteScheduler

from framepack_desktop.engine.sampling.samplers import iter_sample, sample
from framepack_desktop.engine.sampling.schedule import shifted_sigmas

SHIFT7 = math.log(7)


class GaussianFlow:
    def __init__(self, seed: int = 0, shape=(1, 4, 3, 6, 8)):
        g = torch.Generator().manual_seed(seed)
        self.m = torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1
        self.s = torch.rand(shape, generator=g, dtype=torch.float64) + 0.5  # unit-scale data
        self.noise = torch.randn(shape, generator=g, dtype=torch.float64)
        self.calls: list[tuple[float, int]] = []

    def velocity(self, x: torch.Tensor, sigma: float, i: int) -> torch.Tensor:
        self.calls.append((sigma, i))
        x, a, var = x.double(), 1 - sigma, self.s**2
        x0 = self.m + a * var * (x - a * self.m) / (a * a * var + sigma * sigma)
        return ((x - x0) / sigma).float()

    def error(self, method: str, steps: int, mu: float) -> float:
        """Relative RMS distance of the sampled data from the exact ODE endpoint."""
        out = sample(self.velocity, self.noise.float(), shifted_sigmas(steps, mu), method).double()
        exact = self.m + self.s * self.noise
        return ((out - exact).norm() / exact.norm()).item()


@pytest.mark.parametrize("method", ["euler", "unipc"])
def test_converges_as_steps_grow(method):
    flow = GaussianFlow()
    errors = [flow.error(method, n, SHIFT7) for n in (8, 16, 32, 64, 256)]
    assert all(b < a for a, b in zip(errors, errors[1:]))
    assert errors[-1] < errors[0] / 20
    assert errors[-1] < 0.02


def test_unipc_well_below_euler_at_25_shifted_steps():
    """Default settings: 25 steps, shift 7. Measured with FramePack's variant (lambda = -ln sigma,
    corrector from the first step): Euler 0.100-0.105, UniPC 0.053-0.055, 1.9x better over three
    seeds. (The paper's form on the half log-SNR reached 5x here, but it is not what the original
    runs, and the same seed must give the same video.) Both share the readout bound: the result is
    the x0 prediction at the last sigma (0.226), ~0.037 from the endpoint even on the exact path."""
    for seed in range(3):
        flow = GaussianFlow(seed)
        euler, unipc = flow.error("euler", 25, SHIFT7), flow.error("unipc", 25, SHIFT7)
        assert unipc < euler / 1.7
        assert unipc < 0.06


@pytest.mark.parametrize(
    ("mu", "min_order", "euler_ratio"),
    [
        # Unshifted: the asymptotic regime is reached by 8..64 steps. Measured order 2.36.
        (0.0, 2.2, 10),
        # Shift 7 (what the app runs): the last sigma shrinks only like 7 / (steps + 6) and the
        # first steps, near sigma = 1, are long in -ln(sigma)'s time; the fit over 8..64 steps is
        # pre-asymptotic. Measured order 1.16, still ahead of Euler at every step count.
        (SHIFT7, 1.05, 1.5),
    ],
)
def test_unipc_order_of_convergence(mu, min_order, euler_ratio):
    steps = [8, 12, 16, 24, 32, 48, 64]
    flow = GaussianFlow()
    unipc = [flow.error("unipc", n, mu) for n in steps]
    euler = [flow.error("euler", n, mu) for n in steps]
    unipc_order = -np.polyfit(np.log(steps), np.log(unipc), 1)[0]
    euler_order = -np.polyfit(np.log(steps), np.log(euler), 1)[0]
    assert unipc_order >= min_order
    assert all(u < e for u, e in zip(unipc, euler))
    assert unipc[-1] < euler[-1] / euler_ratio
    assert 0.85 < euler_order < 1.15  # the problem tells orders apart: Euler is first order


@pytest.mark.parametrize("method", ["euler", "unipc"])
def test_one_step_returns_the_data_mean(method):
    """At pure noise the best guess of x0 is the mean; with one step that is the result."""
    flow = GaussianFlow()
    out = sample(flow.velocity, flow.noise.float(), shifted_sigmas(1, SHIFT7), method)
    torch.testing.assert_close(out.double(), flow.m, rtol=0, atol=1e-6)


@pytest.mark.parametrize("method", ["euler", "unipc"])
def test_one_model_call_and_one_callback_per_step(method):
    flow = GaussianFlow()
    sigmas = shifted_sigmas(9, SHIFT7)
    seen = []
    out = sample(flow.velocity, flow.noise.float(), sigmas, method, on_step=lambda i, x0: seen.append((i, x0)))
    assert [i for _, i in flow.calls] == list(range(9))
    assert [sigma for sigma, _ in flow.calls] == sigmas[:-1].tolist()
    assert [i for i, _ in seen] == list(range(9))
    for _, x0 in seen:
        assert isinstance(x0, torch.Tensor) and x0.shape == out.shape and x0.dtype == torch.float32
    assert out.dtype == torch.float32
    torch.testing.assert_close(seen[-1][1], out)  # the last x0 prediction is the result


@pytest.mark.parametrize("method", ["euler", "unipc"])
def test_exception_from_on_step_stops_sampling(method):
    class Stop(Exception):
        pass

    def on_step(i, x0):
        if i == 3:
            raise Stop

    flow = GaussianFlow()
    with pytest.raises(Stop):
        sample(flow.velocity, flow.noise.float(), shifted_sigmas(10, SHIFT7), method, on_step=on_step)
    assert len(flow.calls) == 4


@pytest.mark.parametrize("method", ["euler", "unipc"])
def test_generator_form_steps_like_sample(method):
    sigmas = shifted_sigmas(6, SHIFT7)
    flow = GaussianFlow()
    seen = []
    expected = sample(flow.velocity, flow.noise.float(), sigmas, method, on_step=lambda i, x0: seen.append((i, x0)))
    steps = iter_sample(flow.velocity, flow.noise.float(), sigmas, method)
    for i, x0 in seen:
        j, y0 = next(steps)
        assert j == i and torch.equal(y0, x0)
    with pytest.raises(StopIteration) as done:
        next(steps)
    assert torch.equal(done.value.value, expected)


def test_generator_form_checks_arguments_at_the_call():
    flow = GaussianFlow()
    with pytest.raises(ValueError):
        iter_sample(flow.velocity, flow.noise.float(), [1.0, 0.5], "unipc")
    with pytest.raises(ValueError):
        iter_sample(flow.velocity, flow.noise.float(), shifted_sigmas(3, 1.0), "dpm")
    assert flow.calls == []


def test_euler_is_bit_identical_to_diffusers():
    steps, mu = 12, SHIFT7
    scheduler = FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=True, time_shift_type="exponential", shift=1.0)
    scheduler.set_timesteps(sigmas=np.linspace(1.0, 0.0, steps + 1)[:-1], mu=mu)
    weights = torch.randn(16, 16, generator=torch.Generator().manual_seed(1))

    def velocity(x, sigma, i):  # nonlinear, and in bf16 like a bf16 transformer
        return (torch.tanh(x @ weights) * (1 + sigma) + 0.1 * i).to(torch.bfloat16)

    noise = torch.randn(2, 3, 16, generator=torch.Generator().manual_seed(2))
    latents = noise.clone()
    for i, t in enumerate(scheduler.timesteps):
        v = velocity(latents, scheduler.sigmas[i].item(), i)
        latents = scheduler.step(v.float(), t, latents, return_dict=False)[0]

    assert torch.equal(sample(velocity, noise, scheduler.sigmas, "euler"), latents)


def test_unipc_takes_bf16_velocities_and_stays_close():
    flow = GaussianFlow()
    sigmas = shifted_sigmas(25, SHIFT7)
    exact = sample(flow.velocity, flow.noise.float(), sigmas)
    rounded = sample(lambda x, s, i: flow.velocity(x, s, i).bfloat16(), flow.noise.float(), sigmas)
    assert rounded.dtype == torch.float32
    assert (rounded - exact).abs().max().item() < 0.05


@pytest.mark.parametrize(
    "sigmas",
    [[1.0, 0.5], [1.0, 0.5, 0.6, 0.0], [1.5, 0.5, 0.0], [1.0]],
    ids=["not ending at 0", "not decreasing", "above 1", "too short"],
)
def test_rejects_bad_schedules(sigmas):
    flow = GaussianFlow()
    with pytest.raises(ValueError):
        sample(flow.velocity, flow.noise.float(), sigmas)


def test_rejects_unknown_method():
    flow = GaussianFlow()
    with pytest.raises(ValueError, match="unipc"):
        sample(flow.velocity, flow.noise.float(), shifted_sigmas(3, 1.0), "heun")


def test_unipc_forms_x0_from_x_as_a_bf16_model_reads_it():
    """In a bf16 run the original computes x0 = x - sigma * v from x rounded to bf16 (the model's
    input), not from the float32 latents: with v = 0 the first prediction is exactly that x."""
    x = torch.randn(1, 4, 3, 6, 8, generator=torch.Generator().manual_seed(3))
    steps = iter_sample(lambda x, sigma, i: torch.zeros_like(x), x, shifted_sigmas(4, SHIFT7), "unipc",
                        model_dtype=torch.bfloat16)
    _, x0 = next(steps)
    assert torch.equal(x0, x.bfloat16().float())
    assert not torch.equal(x0, x)
