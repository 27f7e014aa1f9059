"""The latent preview: layout of the filmstrip, linearity of the projection, fallbacks."""
import numpy as np
import pytest
import torch

from framepack_desktop.engine.video.preview import (
    latent_preview,
    latent_preview_frames,
    latent_rgb_projection,
    project_latents,
)


def latents(c=16, t=9, h=6, w=8, seed=0, scale=1.0) -> torch.Tensor:
    return scale * torch.randn(1, c, t, h, w, generator=torch.Generator().manual_seed(seed))


def test_preview_is_a_uint8_filmstrip_of_the_latent_frames_in_time_order():
    x0 = latents()
    strip = latent_preview(x0)
    assert strip.dtype == np.uint8 and strip.shape == (6, 9 * 8, 3) and strip.flags.c_contiguous
    frames = latent_preview_frames(x0)
    assert frames.shape == (9, 6, 8, 3)
    for t in range(9):
        np.testing.assert_array_equal(strip[:, t * 8:(t + 1) * 8], frames[t])


def test_each_frame_of_the_strip_comes_from_its_own_latent_frame():
    x0 = latents(t=3)
    x0[:, :, 1] = 0.0              # only the middle latent frame is blank
    strip = latent_preview(x0)
    _, bias = latent_rgb_projection(16)
    blank = np.rint((bias.numpy() + 1) * 127.5).astype(np.uint8)   # zero latents: just the bias
    assert (strip[:, 8:16] == blank).all()
    assert not (strip[:, :8] == blank).all() and not (strip[:, 16:] == blank).all()


@pytest.mark.parametrize("channels", [16, 4])
def test_projection_is_linear_plus_a_bias(channels):
    x, y = latents(channels, seed=1), latents(channels, seed=2)
    _, bias = latent_rgb_projection(channels)
    lin = lambda z: project_latents(z) - bias   # noqa: E731
    np.testing.assert_allclose(lin(2.5 * x - 0.5 * y), 2.5 * lin(x) - 0.5 * lin(y), atol=1e-5)
    # and it mixes channels per pixel, never across pixels or frames
    z = torch.zeros(1, channels, 2, 3, 3)
    z[0, :, 1, 2, 0] = torch.arange(1.0, channels + 1)
    moved = lin(z)
    assert moved[1, 2, 0].abs().sum() > 0
    moved[1, 2, 0] = 0
    assert moved.abs().max() == 0


def test_small_latents_scale_the_uint8_preview_consistently():
    x = latents(scale=0.2, seed=3)
    zero = latent_preview(torch.zeros_like(x)).astype(int)
    once = latent_preview(x).astype(int) - zero
    twice = latent_preview(2 * x).astype(int) - zero
    unclamped = (project_latents(2 * x).abs() < 1).all(-1)
    mask = np.concatenate(list(unclamped.numpy()), axis=1)   # the strip's layout
    assert mask.mean() > 0.5
    assert np.abs(twice - 2 * once)[mask].max() <= 2          # two roundings


def test_extreme_latents_clamp_instead_of_wrapping_around():
    x = torch.zeros(1, 16, 1, 2, 2)
    weight, _ = latent_rgb_projection(16)
    direction = weight[:, 0]           # pushes red hardest
    x[0, :, 0] = (1e4 * direction)[:, None, None]
    assert (latent_preview(x)[..., 0] == 255).all()
    assert (latent_preview(-x)[..., 0] == 0).all()


def test_bf16_latents_on_the_sampler_give_the_same_preview():
    x = latents(seed=4)
    a = latent_preview(x).astype(int)
    b = latent_preview(x.to(torch.bfloat16)).astype(int)
    assert np.abs(a - b).max() <= 3
    c = latent_preview(x.transpose(3, 4).contiguous().transpose(3, 4))   # non-contiguous input
    np.testing.assert_array_equal(c, latent_preview(x))


def test_hunyuan_projection_colours_a_plausible_image():
    weight, bias = latent_rgb_projection(16)
    assert weight.shape == (16, 3) and bias.shape == (3,)
    # unit-variance latents should not saturate the preview: most pixels stay inside -1..1
    rgb = project_latents(latents(seed=5))
    assert (rgb.abs() < 1).float().mean() > 0.9


def test_other_channel_counts_get_a_deterministic_fallback_with_distinct_colours():
    w1, b1 = latent_rgb_projection(4)
    w2, _ = latent_rgb_projection(4)
    assert torch.equal(w1, w2) and w1.shape == (4, 3)
    assert torch.equal(b1, torch.zeros(3))
    assert (latent_preview(torch.zeros(1, 4, 2, 3, 3)) == 128).all()   # zero latents: mid-grey
    colours = {tuple(np.round(row.numpy(), 6)) for row in w1}
    assert len(colours) == 4                                  # each channel has its own colour
    strip = latent_preview(latents(c=4, t=2))
    assert strip.shape == (6, 16, 3) and strip.std() > 5      # structure visible, not flat
    for c in (1, 3, 8, 32):
        assert latent_rgb_projection(c)[0].shape == (c, 3)


def test_wrong_shapes_are_refused():
    with pytest.raises(ValueError):
        latent_preview(torch.zeros(16, 9, 6, 8))
    with pytest.raises(ValueError):
        latent_preview(torch.zeros(2, 16, 9, 6, 8))
    with pytest.raises(ValueError):
        latent_rgb_projection(0)


def test_a_non_finite_step_previews_as_grey_without_a_cast_warning():
    import warnings

    x0 = torch.full((1, 16, 2, 4, 5), float("nan"))
    x0[..., 0, 0] = float("inf")
    with warnings.catch_warnings():
        warnings.simplefilter("error")             # numpy warns when it casts NaN to uint8
        strip = latent_preview(x0)
    assert strip.dtype == np.uint8 and strip.shape == (4, 10, 3)
    assert (strip[1:, 1:] == 128).all()            # NaN -> 0 in [-1, 1] -> mid grey
