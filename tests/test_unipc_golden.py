"""Our UniPC against FramePack's own sampler, run on an analytic model.

The golden file is a copy of the project's shared/fidelity/unipc_golden.json (values computed by the
original FramePack's code), kept in tests/ so a clone on its own runs this test.

The golden file holds, for 2, 3, 4, 10 and 25 steps, the sigma schedule FramePack used, its x0
prediction after every model call and its result. The same seed and settings must give the same
video as the original, so each of those must come out again to float32 rounding."""
import json
from pathlib import Path

import pytest
import torch

from framepack_desktop.engine.sampling.samplers import iter_sample
from framepack_desktop.engine.sampling.schedule import shifted_sigmas

GOLDEN = json.loads((Path(__file__).resolve().parent / "fidelity" / "unipc_golden.json").read_text())
CASES = GOLDEN["cases"]


def _tensor(values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32).reshape(GOLDEN["shape"])


class AnalyticModel:
    """The golden file's model: the exact x0 prediction for data x0 ~ N(mu, s^2), handed to the
    sampler as a velocity the way the runner hands it the transformer's output."""

    def __init__(self):
        self.mu, self.var = _tensor(GOLDEN["mu"]), _tensor(GOLDEN["s"]) ** 2
        self.x0_calls: list[torch.Tensor] = []

    def velocity(self, x: torch.Tensor, sigma: float, i: int) -> torch.Tensor:
        a = 1 - sigma
        x0 = self.mu + a * self.var / (a * a * self.var + sigma * sigma) * (x - a * self.mu)
        self.x0_calls.append(x0)
        return (x - x0) / sigma


@pytest.mark.parametrize("case", CASES, ids=[f"{c['steps']}-steps" for c in CASES])
def test_matches_framepacks_unipc(case):
    sigmas = torch.tensor(case["sigmas"], dtype=torch.float32)
    model = AnalyticModel()
    steps = iter_sample(model.velocity, _tensor(GOLDEN["noise"]), sigmas, "unipc")
    predictions = []
    while True:
        try:
            predictions.append(next(steps)[1])
        except StopIteration as done:
            result = done.value
            break
    expected = [_tensor(x0) for x0 in case["x0_after_each_model_call"]]
    assert len(predictions) == len(expected) == case["steps"]
    for i, (ours, theirs) in enumerate(zip(predictions, expected)):
        assert (ours - theirs).abs().max().item() < 1e-5, f"x0 prediction after call {i}"
    assert (result - _tensor(case["result"])).abs().max().item() < 1e-5


@pytest.mark.parametrize("case", CASES, ids=[f"{c['steps']}-steps" for c in CASES])
def test_our_schedule_is_the_one_framepack_used(case):
    """The golden schedules are the flux shift of FramePack's float32 linspace; ours must be
    the same bits, or equal sampler code would still give different videos."""
    import math

    ours = shifted_sigmas(case["steps"], math.log(case["shift"]))
    assert torch.equal(torch.as_tensor(ours, dtype=torch.float32), torch.tensor(case["sigmas"], dtype=torch.float32))
