"""TeaCache: threshold 0 is exactly the uncached model; a positive threshold skips steps."""
import torch
from diffusers import HunyuanVideoFramepackTransformer3DModel

from framepack_desktop.engine.sampling.teacache import rescale, step_cache


def tiny_transformer():
    torch.manual_seed(0)
    return HunyuanVideoFramepackTransformer3DModel(
        in_channels=4, out_channels=4, num_attention_heads=2, attention_head_dim=8, num_layers=2,
        num_single_layers=2, num_refiner_layers=1, text_embed_dim=16, pooled_projection_dim=8,
        rope_axes_dim=(2, 2, 4), has_image_proj=True, image_proj_dim=12, has_clean_x_embedder=True,
    ).eval()


def inputs(x, sigma):
    g = torch.Generator().manual_seed(1)
    return dict(
        hidden_states=x, timestep=torch.tensor([sigma * 1000.0]), guidance=torch.tensor([10000.0]),
        encoder_hidden_states=torch.randn(1, 5, 16, generator=g), encoder_attention_mask=torch.ones(1, 5),
        pooled_projections=torch.randn(1, 8, generator=g), image_embeds=torch.randn(1, 3, 12, generator=g),
        indices_latents=torch.arange(3, 5), latents_clean=torch.randn(1, 4, 2, 8, 8, generator=g),
        indices_latents_clean=torch.tensor([0, 5]), latents_history_2x=torch.randn(1, 4, 2, 8, 8, generator=g),
        indices_latents_history_2x=torch.tensor([6, 7]), latents_history_4x=torch.randn(1, 4, 16, 8, 8, generator=g),
        indices_latents_history_4x=torch.arange(8, 24), return_dict=False,
    )


def trajectory(model, threshold, steps=12):
    """Euler-like walk: x moves a little each step, like a sampler's."""
    x = torch.randn(1, 4, 2, 8, 8, generator=torch.Generator().manual_seed(2))
    outs = []
    with torch.no_grad(), step_cache(model, threshold, steps) as cache:
        for i in range(steps):
            sigma = 1 - i / steps
            v = model(**inputs(x, sigma))[0]
            outs.append(v)
            x = x - v / steps
    return outs, cache


def test_threshold_zero_is_exactly_uncached():
    model = tiny_transformer()
    plain, none = trajectory(model, None)
    cached, cache = trajectory(model, 0.0)
    assert none is None
    assert cache.skipped == 0
    assert all(torch.equal(a, b) for a, b in zip(plain, cached))


def test_positive_threshold_skips_middle_steps_and_stays_close():
    model = tiny_transformer()
    plain, _ = trajectory(model, None)
    cached, cache = trajectory(model, 0.5)
    assert cache.skipped > 0
    assert torch.equal(plain[0], cached[0])  # the first step is always computed
    err = max(((a - b).norm() / a.norm()).item() for a, b in zip(plain, cached))
    assert err < 0.5


def test_blocks_are_restored_after_the_section():
    model = tiny_transformer()
    double, single = model.transformer_blocks, model.single_transformer_blocks
    trajectory(model, 0.15)
    assert model.transformer_blocks is double and model.single_transformer_blocks is single
    assert len(model.state_dict()) == len(tiny_transformer().state_dict())


def test_rescale_polynomial_is_the_published_one():
    assert abs(rescale(0.0) - 0.0961237896) < 1e-12
    x = 0.1
    expected = 733.226126 * x**4 - 401.131952 * x**3 + 67.5869174 * x**2 - 3.149878 * x + 0.0961237896
    assert abs(rescale(x) - expected) < 1e-9


def test_with_real_cfg_the_counter_wraps_every_steps_calls_like_the_original():
    """Two model calls a step (positive, negative): the original counts calls and wraps every
    `steps` calls, so calls 0, S-1, S and 2S-1 are always computed and nothing else need be."""
    model = tiny_transformer()
    steps = 6
    x = torch.randn(1, 4, 2, 8, 8, generator=torch.Generator().manual_seed(2))
    computed = []
    with torch.no_grad(), step_cache(model, 1e9, steps) as cache:
        for call in range(2 * steps):
            model(**inputs(x, 1 - (call // 2) / steps))
            if not cache.last_skipped:
                computed.append(call)
    assert computed == [0, steps - 1, steps, 2 * steps - 1]
    assert cache.skipped == 2 * steps - 4
