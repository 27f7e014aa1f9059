"""Real CFG with the original's std rescale."""
import torch

from framepack_desktop.engine.section_sampler import guided_velocity


def _pair():
    g = torch.Generator().manual_seed(4)
    return torch.randn(2, 4, 3, 5, 5, generator=g), torch.randn(2, 4, 3, 5, 5, generator=g) * 0.5


def test_without_rescale_it_is_plain_cfg():
    v, v_neg = _pair()
    assert torch.equal(guided_velocity(v, v_neg, 3.0, 0.0), v_neg + 3.0 * (v - v_neg))


def test_full_rescale_restores_the_positive_predictions_spread_per_sample():
    v, v_neg = _pair()
    out = guided_velocity(v, v_neg, 5.0, 1.0)
    dims = [1, 2, 3, 4]
    torch.testing.assert_close(out.std(dim=dims), v.std(dim=dims))
    plain = guided_velocity(v, v_neg, 5.0, 0.0)
    assert (plain.std(dim=dims) > 2 * v.std(dim=dims)).all()


def test_partial_rescale_is_the_original_blend_of_both():
    v, v_neg = _pair()
    plain, full = guided_velocity(v, v_neg, 5.0, 0.0), guided_velocity(v, v_neg, 5.0, 1.0)
    torch.testing.assert_close(guided_velocity(v, v_neg, 5.0, 0.7), 0.7 * full + 0.3 * plain)
