"""Upscaling: sizes, agreement with Lanczos on smooth content, tiles that leave no seams."""
import numpy as np
import pytest
from PIL import Image
from post_clips import decode, smooth

from framepack_desktop.engine.post import PostPlan, run_post
from framepack_desktop.engine.post.demo import write_post_models
from framepack_desktop.engine.post.upscale import ModelUpscaler
from framepack_desktop.engine.post.weights import default_upscaler, load_upscaler


@pytest.fixture(scope="module")
def post_models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("post-models")
    write_post_models(folder)
    return folder


def test_lanczos_x2_doubles_and_matches_lanczos_on_smooth_content(tmp_path):
    src = smooth(tmp_path / "in.mp4")
    out = decode(run_post(src, tmp_path / "out.mp4", PostPlan(upscale=2)))
    before = decode(src)
    assert len(out) == len(before)
    for small, big in zip(before, out):
        assert big.shape == (2 * small.shape[0], 2 * small.shape[1], 3)
        reference = np.asarray(Image.fromarray(small).resize((big.shape[1], big.shape[0]), Image.Resampling.LANCZOS))
        assert np.abs(big.astype(int) - reference).mean() < 2.0


@pytest.mark.parametrize("scale", [2, 4])
def test_model_file_upscales_by_its_factor(tmp_path, post_models, scale):
    src = smooth(tmp_path / "in.mp4", n=2, width=40, height=24)
    plan = PostPlan(upscale=scale, upscaler=str(default_upscaler(post_models, scale)))
    out = decode(run_post(src, tmp_path / "out.mp4", plan))
    assert [f.shape for f in out] == [(24 * scale, 40 * scale, 3)] * 2


def test_a_x4_model_asked_for_x2_gives_x2(tmp_path, post_models):
    src = smooth(tmp_path / "in.mp4", n=1, width=40, height=24)
    plan = PostPlan(upscale=2, upscaler=str(default_upscaler(post_models, 4)))
    assert decode(run_post(src, tmp_path / "out.mp4", plan))[0].shape == (48, 80, 3)


@pytest.mark.slow
@pytest.mark.parametrize("scale", [2, 4])
def test_tiles_give_the_untiled_result(post_models, scale):
    model, model_scale = load_upscaler(default_upscaler(post_models, scale))
    rng = np.random.default_rng(0)
    frame = (rng.random((70, 90, 3)) * 255).astype(np.uint8)
    whole = ModelUpscaler(model, model_scale, scale, tile=1000)(frame)
    tiled = ModelUpscaler(model, model_scale, scale, tile=32, margin=16)(frame)
    assert whole.shape == tiled.shape == (70 * scale, 90 * scale, 3)
    assert np.abs(whole.astype(int) - tiled).max() <= 1
    no_margin = ModelUpscaler(model, model_scale, scale, tile=32, margin=0)(frame)
    assert np.abs(whole.astype(int) - no_margin).max() > 1   # the margin is what removes the seams
