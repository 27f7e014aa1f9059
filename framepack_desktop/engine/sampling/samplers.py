"""Flow-matching samplers: Euler, and UniPC (the solver the original FramePack uses).

Flow matching: x_sigma = (1 - sigma) * x0 + sigma * noise, the model predicts the velocity
v = noise - x0, hence x0 = x - sigma * v. Both samplers call the model exactly once per step,
because the model call is the whole cost of a step (a 13B transformer).

UniPC follows Zhao et al. 2023 ("UniPC: A Unified Predictor-Corrector Framework for Fast
Sampling of Diffusion Models") in data-prediction form, variant B(h) = h ("bh1"), up to
order 3. Time is lambda = log(alpha / sigma) with alpha = 1 - sigma. Each step runs the
multistep predictor UniP to the next sigma, calls the model there, and uses that same model
output to correct the point with UniC, so the corrector costs no extra call. The schedule ends
at sigma = 0, where lambda is infinite: the last model output, an x0 prediction, is the result.
It starts at sigma = 1 (pure noise, lambda = -infinity): the first step is infinitely long in
lambda, so it is the exact first-order step alone (the corrector's bh1 coefficient 0.5 * h has
no value there; on test flows skipping it is also the more accurate choice), and that point
takes no part in the multistep differences (in the limit its weight is zero).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Generator, Sequence

import torch

VelocityFn = Callable[[torch.Tensor, float, int], torch.Tensor]
StepCallback = Callable[[int, torch.Tensor], None]
Steps = Generator[tuple[int, torch.Tensor], None, torch.Tensor]
METHODS = ("unipc", "euler")
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
) -> Steps:
    """`sample` as a generator, for a caller that has its own events to yield between steps:
    yields (i, x0) after each step and returns the final latents (StopIteration.value).
    Arguments are checked at the call, not at the first step."""
    sigmas = torch.as_tensor(sigmas, dtype=torch.float32, device=x.device)
    _check_sigmas(sigmas)
    if method == "euler":
        return _euler(velocity_fn, x.float(), sigmas)
    if method == "unipc":
        return _unipc(velocity_fn, x.float(), sigmas)
    raise ValueError(f"unknown sampler {method!r}; use one of {METHODS}")


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


def _unipc(velocity_fn: VelocityFn, x: torch.Tensor, sigmas: torch.Tensor) -> Steps:
    sig = [float(s) for s in sigmas]
    steps = len(sig) - 1
    past: list[tuple[float, torch.Tensor]] = []  # (lambda, x0) of earlier finite-lambda points, newest first
    x0 = x - sig[0] * velocity_fn(x, sig[0], 0).float()
    yield 0, x0
    for i in range(steps - 1):
        # Warm up from order 1 as history accumulates; lower the order again near the end, where
        # the steps in lambda grow without bound (the step to sigma = 0 would be of order 1).
        order = min(MAX_ORDER, 1 + len(past), steps - i)
        x_pred = _uni_update(x, sig[i], sig[i + 1], x0, past[: order - 1])
        x0_next = x_pred - sig[i + 1] * velocity_fn(x_pred, sig[i + 1], i + 1).float()
        if sig[i] < 1.0:
            x = _uni_update(x, sig[i], sig[i + 1], x0, past[: order - 1], x0_new=x0_next)
            past.insert(0, (_lam(sig[i]), x0))
            del past[MAX_ORDER - 1 :]
        else:
            x = x_pred
        x0 = x0_next
        yield i + 1, x0
    return x0


def _lam(sigma: float) -> float:
    """lambda = log(alpha / sigma), the half log-SNR; -inf at pure noise (sigma = 1)."""
    if sigma >= 1.0:
        return -math.inf
    return math.log1p(-sigma) - math.log(sigma)


def _uni_update(
    x_s: torch.Tensor,
    sigma_s: float,
    sigma_t: float,
    x0_s: torch.Tensor,
    past: Sequence[tuple[float, torch.Tensor]],
    x0_new: torch.Tensor | None = None,
) -> torch.Tensor:
    """One UniPC update from (x_s, sigma_s) to sigma_t in data-prediction form.

    Without `x0_new` this is the predictor UniP of order len(past) + 1; with `x0_new` (the model's
    x0 at the predicted point at sigma_t) it is the corrector UniC of order len(past) + 1, whose
    accuracy is one order higher. `past` holds earlier (lambda, x0) pairs, newest first.
    """
    lam_s, lam_t = _lam(sigma_s), _lam(sigma_t)
    h = lam_t - lam_s
    alpha_t = 1.0 - sigma_t
    # Exact integration of the linear part with x0 held at its value at s (a DDIM step).
    x_t = (sigma_t / sigma_s) * x_s - (alpha_t * math.expm1(-h)) * x0_s
    ratios = [(lam_k - lam_s) / h for lam_k, _ in past]
    diffs = [(x0_k - x0_s) / r for r, (_, x0_k) in zip(ratios, past)]
    if x0_new is not None:
        ratios.append(1.0)
        diffs.append(x0_new - x0_s)
    if not diffs:
        return x_t
    for w, d in zip(_weights(-h, ratios), diffs):
        x_t = x_t - (alpha_t * w) * d
    return x_t


def _weights(hh: float, ratios: Sequence[float]) -> list[float]:
    """B(h) * a_m for the divided differences, from the order conditions of the paper:
    sum_m a_m r_m^(k-1) = k! hh phi_{k+1}(hh) / B(h) for k = 1..p, with hh = -h.

    For bh1 (B(h) = hh) a single difference gets the constant a = 1/2, the h -> 0 limit of the
    condition (the paper's choice for the 2nd-order predictor and the 1st-order corrector).
    """
    p = len(ratios)
    if p == 1:
        return [0.5 * hh]
    rows = torch.tensor([[r**k for r in ratios] for k in range(p)], dtype=torch.float64)
    rhs = torch.tensor([math.factorial(k) * hh * _phi(k + 1, hh) for k in range(1, p + 1)], dtype=torch.float64)
    return torch.linalg.solve(rows, rhs).tolist()


def _phi(k: int, z: float) -> float:
    """phi_k(z) = sum_j z^j / (j + k)!, the exponential-integrator functions (phi_0 = e^z).

    Near 0 the power series avoids the cancellation of the recurrence
    phi_{k+1} = (phi_k - 1/k!) / z.
    """
    if abs(z) < 1.0:
        return sum(z**j / math.factorial(j + k) for j in range(24))
    phi = math.exp(z)
    for j in range(k):
        phi = (phi - 1.0 / math.factorial(j)) / z
    return phi
