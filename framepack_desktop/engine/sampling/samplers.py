"""Flow-matching samplers: Euler, and UniPC (the solver the original FramePack uses).

Flow matching: x_sigma = (1 - sigma) * x0 + sigma * noise, the model predicts the velocity
v = noise - x0, hence x0 = x - sigma * v. Both samplers call the model exactly once per step,
because the model call is the whole cost of a step (a 13B transformer).

UniPC is the variant the original FramePack ships (DESIGN.md section 4, "FramePack's UniPC, step
by step"), written here from that description: the predictor-corrector of Zhao et al. 2023 in
data-prediction form, variant B(h) = h ("bh1"), order up to 3, but with time lambda = -ln(sigma)
rather than the paper's half log-SNR, and the corrector applied from the first update on. Each
step runs the multistep predictor to the next sigma, calls the model there, and uses that same
output to correct the point, so the corrector costs no extra call. sigma = 0 is never evaluated:
the last model output, an x0 prediction at the last nonzero sigma, is the result. Matching the
original bit for bit matters more here than textbook accuracy: the same seed must give the same
video (tests/test_unipc_golden.py checks FramePack's own outputs).
"""
from __future__ import annotations

from collections.abc import Callable, Generator, Sequence

import torch

from ..choices import SAMPLERS

VelocityFn = Callable[[torch.Tensor, float, int], torch.Tensor]
StepCallback = Callable[[int, torch.Tensor], None]
Steps = Generator[tuple[int, torch.Tensor], None, torch.Tensor]
MAX_ORDER = 3


def sample(
    velocity_fn: VelocityFn,
    x: torch.Tensor,
    sigmas: torch.Tensor | Sequence[float],
    method: str = "unipc",
    on_step: StepCallback | None = None,
) -> torch.Tensor:
    """Integrate the flow from `x` at sigmas[0] to sigmas[-1] = 0; returns float32 latents.

    `velocity_fn(x, sigma, i)` is the model: velocity at `x` for noise level `sigma`, step `i`
    (0-based); it is called exactly `len(sigmas) - 1` times. `on_step(i, x0)` gets the clean
    latents predicted at step `i`, for previews and progress; an exception it raises (cancel)
    stops sampling and propagates.
    """
    steps = iter_sample(velocity_fn, x, sigmas, method)
    while True:
        try:
            i, x0 = next(steps)
        except StopIteration as done:
            return done.value
        if on_step is not None:
            on_step(i, x0)


def iter_sample(
    velocity_fn: VelocityFn,
    x: torch.Tensor,
    sigmas: torch.Tensor | Sequence[float],
    method: str = "unipc",
    model_dtype: torch.dtype = torch.float32,
) -> Steps:
    """`sample` as a generator, for a caller that has its own events to yield between steps:
    yields (i, x0) after each step and returns the final latents (StopIteration.value).
    Arguments are checked at the call, not at the first step.

    `model_dtype` is the dtype the model reads x in. UniPC forms x0 = x - sigma * v from x as the
    model saw it (rounded to bf16 in a bf16 run), as the original does; Euler keeps diffusers'
    update on the float32 x."""
    sigmas = torch.as_tensor(sigmas, dtype=torch.float32, device=x.device)
    _check_sigmas(sigmas)
    if method == "euler":
        return _euler(velocity_fn, x.float(), sigmas)
    if method == "unipc":
        return _unipc(velocity_fn, x.float(), sigmas, model_dtype)
    raise ValueError(f"unknown sampler {method!r}; use one of {SAMPLERS.names}")


def _check_sigmas(sigmas: torch.Tensor) -> None:
    if sigmas.ndim != 1 or len(sigmas) < 2:
        raise ValueError("sigmas must be a 1-D schedule with at least two values")
    if not bool((sigmas[1:] < sigmas[:-1]).all()):
        raise ValueError("sigmas must decrease strictly")
    if float(sigmas[0]) > 1.0 or float(sigmas[-1]) != 0.0:
        raise ValueError("sigmas must start at most at 1 and end at exactly 0")


def _euler(velocity_fn: VelocityFn, x: torch.Tensor, sigmas: torch.Tensor) -> Steps:
    """x += (sigma_next - sigma) * v, with the float32 operations of diffusers'
    FlowMatchEulerDiscreteScheduler.step, so that equal inputs give bit-identical outputs."""
    for i in range(len(sigmas) - 1):
        sigma, sigma_next = sigmas[i], sigmas[i + 1]
        v = velocity_fn(x, float(sigma), i).float()
        x0 = x - sigma * v
        x = x + (sigma_next - sigma) * v
        yield i, x0
    return x


def _unipc(velocity_fn: VelocityFn, x: torch.Tensor, sigmas: torch.Tensor, model_dtype: torch.dtype) -> Steps:
    """FramePack's flow-matching UniPC (DESIGN.md section 4): one model call per step, each new
    x0 prediction both corrects the step just taken and feeds the next predictor."""
    steps = len(sigmas) - 1
    keep = min(MAX_ORDER, steps - 1)
    points: list[tuple[torch.Tensor, torch.Tensor]] = []  # (sigma, x0) of the latest calls, oldest first

    def x0_at(x: torch.Tensor, i: int) -> torch.Tensor:
        return x.to(model_dtype).float() - sigmas[i] * velocity_fn(x, float(sigmas[i]), i).float()

    x0 = x0_at(x, 0)
    points.append((sigmas[0], x0))
    yield 0, x0
    for i in range(1, steps):
        order = min(i, keep)
        x, x0 = _unipc_step(x, points[-order:], sigmas[i], lambda x_pred: x0_at(x_pred, i))
        points = (points + [(sigmas[i], x0)])[-keep:]
        yield i, x0
    return x0


def _unipc_step(
    x: torch.Tensor,
    points: Sequence[tuple[torch.Tensor, torch.Tensor]],
    t: torch.Tensor,
    x0_at: Callable[[torch.Tensor], torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Predict from the newest point to sigma `t` with len(points) - 1 divided differences, call
    the model there, and correct with that call; returns (corrected x, x0 at the predicted point).

    Time is lambda = -ln(sigma) (finite at sigma = 1, so the first step is an ordinary one), and
    every scalar is a float32 tensor, as in the original, so equal inputs give equal bits."""
    order = len(points)
    s, x0_s = points[-1]
    h = torch.log(s) - torch.log(t)
    ratios = [(torch.log(s) - torch.log(sk)) / h for sk, _ in reversed(points[:-1])]
    diffs = [(x0_k - x0_s) / r for r, (_, x0_k) in zip(ratios, reversed(points[:-1]))]
    hh = -h
    phi_1 = torch.expm1(hh)
    b_h = hh  # the bh1 variant
    rhs, g, factorial = [], phi_1 / hh - 1, 1.0
    for j in range(1, order + 1):
        rhs.append(g * factorial / b_h)
        factorial *= j + 1
        g = g / hh - 1 / factorial
    b = torch.stack(rhs)
    powers = torch.stack([torch.stack([*ratios, torch.ones_like(h)]) ** (j - 1) for j in range(1, order + 1)])
    x_base = (t / s) * x - phi_1 * x0_s
    x_pred = x_base
    if diffs:
        rho_p = torch.tensor([0.5]) if order == 2 else torch.linalg.solve(powers[:-1, :-1], b[:-1])
        x_pred = x_base - b_h * _weighted(diffs, rho_p)
    x0_t = x0_at(x_pred)
    rho_c = torch.tensor([0.5]) if order == 1 else torch.linalg.solve(powers, b)
    correction = rho_c[-1] * (x0_t - x0_s)
    if diffs:
        correction = _weighted(diffs, rho_c[:-1]) + correction
    return x_base - b_h * correction, x0_t


def _weighted(diffs: Sequence[torch.Tensor], weights: torch.Tensor) -> torch.Tensor:
    return sum(w * d for w, d in zip(weights, diffs))
