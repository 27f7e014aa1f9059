"""The soft append: crossfade weights, chunk-by-chunk blending into the store, pixel conversion."""
import numpy as np
import pytest
import torch

from framepack_desktop.engine.video.blend import (
    frames_to_uint8,
    join_chunk,
    blend_into_store,
    crossfade,
    pixels_to_float,
    pixels_to_uint8,
    soft_append,
    to_uint8,
)
from framepack_desktop.engine.video.framestore import FrameNotWritten, FrameStore

H, W = 4, 6


def smooth_chunk(n: int, seed: int) -> np.ndarray:
    """Float frames on the 0..255 scale, away from the clamp limits."""
    rng = np.random.default_rng(seed)
    return rng.uniform(10, 245, (n, H, W, 3)).astype(np.float32)


def test_overlap_frames_follow_the_linear_weights():
    n = 5
    earlier = np.full((n, H, W, 3), 200.0, np.float32)
    later = np.full((n, H, W, 3), 100.0, np.float32)
    out = crossfade(earlier, later)
    # earlier's weight falls 1, .75, .5, .25, 0: 200, 175, 150, 125, 100
    np.testing.assert_allclose(out[:, 0, 0, 0], [200, 175, 150, 125, 100], rtol=1e-6)
    assert out.dtype == np.float32 and out.shape == earlier.shape
    with pytest.raises(TypeError):
        crossfade(earlier.astype(np.uint8), later.astype(np.uint8))   # weights would truncate


def test_crossfade_is_the_same_for_torch_decoder_layout():
    earlier, later = smooth_chunk(7, 1), smooth_chunk(7, 2)
    expected = crossfade(earlier, later)
    t_earlier = torch.from_numpy(earlier).permute(3, 0, 1, 2)[None]   # [1, 3, T, H, W]
    t_later = torch.from_numpy(later).permute(3, 0, 1, 2)[None]
    got = crossfade(t_earlier, t_later, axis=2)
    assert isinstance(got, torch.Tensor)
    np.testing.assert_allclose(got[0].permute(1, 2, 3, 0).numpy(), expected, rtol=1e-6)


def test_soft_append_keeps_both_ends_and_fades_the_middle():
    earlier, later = smooth_chunk(10, 1), smooth_chunk(8, 2)
    out = soft_append(earlier, later, 3)
    assert out.shape[0] == 10 + 8 - 3
    np.testing.assert_array_equal(out[:7], earlier[:7])
    np.testing.assert_array_equal(out[10:], later[3:])
    np.testing.assert_array_equal(out[7], earlier[7])        # weight 1 on the earlier chunk
    np.testing.assert_array_equal(out[9], later[2])          # weight 0 on the earlier chunk
    np.testing.assert_allclose(out[8], (earlier[8] + later[1]) / 2, rtol=1e-6)
    with pytest.raises(ValueError):
        soft_append(earlier, later, 9)


@pytest.mark.parametrize("as_uint8", [False, True])
def test_backward_chunks_into_the_store_match_one_float_soft_append(tmp_path, as_uint8):
    """Original model: each new chunk lies BEFORE the frames already there."""
    overlap, first, later_len, count = 5, 9, 13, 4
    chunks = [smooth_chunk(first, 0)] + [smooth_chunk(later_len, s) for s in range(1, count)]
    if as_uint8:
        chunks = [to_uint8(c).astype(np.float32) for c in chunks]
    total = first + (count - 1) * (later_len - overlap)

    reference = chunks[0]
    for chunk in chunks[1:]:
        reference = soft_append(chunk, reference, overlap)
    assert len(reference) == total

    with FrameStore.create(tmp_path, total, H, W) as store:
        start = total - first
        assert blend_into_store(store, chunks[0], start, 0, new_is_earlier=True) == (start, total)
        for chunk in chunks[1:]:
            start -= later_len - overlap
            data = to_uint8(chunk) if as_uint8 else chunk
            assert blend_into_store(store, data, start, overlap, new_is_earlier=True) == (start, start + later_len)
        assert store.valid_span() == (0, total)
        stored = store.read_range(0, total).astype(int)
    diff = np.abs(stored - to_uint8(reference).astype(int))
    # Integer input blends exactly as in float; float input differs by the stored overlap's
    # one rounding at most, and almost everywhere not at all.
    assert diff.max() <= (0 if as_uint8 else 1)
    assert (diff == 0).mean() > 0.9


@pytest.mark.parametrize("as_uint8", [False, True])
def test_forward_chunks_into_the_store_match_one_float_soft_append(tmp_path, as_uint8):
    """F1: each new chunk lies AFTER the frames already there."""
    overlap, first, later_len, count = 5, 9, 13, 4
    chunks = [smooth_chunk(first, 10)] + [smooth_chunk(later_len, s) for s in range(11, 10 + count)]
    if as_uint8:
        chunks = [to_uint8(c).astype(np.float32) for c in chunks]
    total = first + (count - 1) * (later_len - overlap)

    reference = chunks[0]
    for chunk in chunks[1:]:
        reference = soft_append(reference, chunk, overlap)

    with FrameStore.create(tmp_path, total, H, W) as store:
        blend_into_store(store, chunks[0], 0, 0, new_is_earlier=False)
        end = first
        for chunk in chunks[1:]:
            data = to_uint8(chunk) if as_uint8 else chunk
            blend_into_store(store, data, end - overlap, overlap, new_is_earlier=False)
            end += later_len - overlap
        assert store.valid_span() == (0, total)
        stored = store.read_range(0, total).astype(int)
    diff = np.abs(stored - to_uint8(reference).astype(int))
    assert diff.max() <= (0 if as_uint8 else 1)
    assert (diff == 0).mean() > 0.9


def test_store_overlap_gets_the_weights_in_the_right_direction(tmp_path):
    """The stored (later) frames fade in as the new earlier chunk fades out, and vice versa."""
    with FrameStore.create(tmp_path, 8, H, W) as store:
        store.write(3, np.full((5, H, W, 3), 200, np.uint8))
        new = np.full((5, H, W, 3), 0.0, np.float32)
        blend_into_store(store, new, 1, 3, new_is_earlier=True)   # new covers 1..5, overlap 3..5
        assert list(store.read_range(1, 8)[:, 0, 0, 0]) == [0, 0, 0, 100, 200, 200, 200]

    with FrameStore.create(tmp_path / "f1", 8, H, W) as store:
        store.write(0, np.full((5, H, W, 3), 200, np.uint8))
        blend_into_store(store, new, 2, 3, new_is_earlier=False)  # new covers 2..6, overlap 2..4
        assert list(store.read_range(0, 7)[:, 0, 0, 0]) == [200, 200, 200, 100, 0, 0, 0]


def test_blend_into_store_leaves_the_callers_frames_alone_and_checks_inputs(tmp_path):
    with FrameStore.create(tmp_path, 10, H, W) as store:
        store.write(5, np.full((5, H, W, 3), 90, np.uint8))
        new = smooth_chunk(7, 3)
        before = new.copy()
        blend_into_store(store, new, 0, 2, new_is_earlier=True)
        np.testing.assert_array_equal(new, before)
        with pytest.raises(ValueError):
            blend_into_store(store, new, 0, 8, new_is_earlier=True)  # overlap longer than the chunk
        with pytest.raises(ValueError):
            blend_into_store(store, np.zeros((3, H + 1, W, 3), np.uint8), 0, 0, True)
    with FrameStore.create(tmp_path / "empty", 10, H, W) as empty:
        with pytest.raises(FrameNotWritten):                      # nothing there to blend with
            blend_into_store(empty, new, 3, 2, new_is_earlier=False)
        assert empty.valid_ranges == ()


def test_pixels_to_uint8_scales_clamps_rounds_and_moves_channels_last():
    x = torch.zeros(1, 3, 2, H, W)
    x[0, 0, 0] = -1.0     # red, frame 0: black end
    x[0, 1, 0] = 1.0      # green, frame 0: white end
    x[0, 2, 0] = 0.5      # blue: (1.5) * 127.5 = 191.25 -> 191
    x[0, 0, 1] = 3.0      # out of range: clamped
    x[0, 1, 1] = -7.0
    x[0, 2, 1] = 0.003    # 127.88 -> 128
    out = pixels_to_uint8(x)
    assert out.dtype == np.uint8 and out.shape == (2, H, W, 3)
    assert tuple(out[0, 1, 2]) == (0, 255, 191)
    assert tuple(out[1, 3, 5]) == (255, 0, 128)
    np.testing.assert_array_equal(pixels_to_uint8(x.to(torch.bfloat16)).astype(int), out.astype(int))
    # the same frames already in numpy, T x H x W x 3
    np.testing.assert_array_equal(pixels_to_uint8(x[0].permute(1, 2, 3, 0).numpy()), out)
    np.testing.assert_allclose(pixels_to_float(x)[0, 0, 0], [0.0, 255.0, 191.25])
    with pytest.raises(ValueError):
        pixels_to_uint8(torch.zeros(3, 2, H, W))
    with pytest.raises(ValueError):
        pixels_to_uint8(np.zeros((2, 3, H, W), np.float32))


def test_frames_to_uint8_on_the_tensor_s_device_rounds_exactly_as_the_numpy_path():
    g = torch.Generator().manual_seed(0)
    frames = torch.rand(5, 6, 7, 3, generator=g) * 2.4 - 1.2            # some beyond [-1, 1]
    halves = (torch.arange(0, 256, dtype=torch.float32) + 0.5) / 127.5 - 1  # exact .5 after scaling
    frames.view(-1)[:256] = halves
    assert np.array_equal(frames_to_uint8(frames), pixels_to_uint8(frames.numpy()))
    assert frames_to_uint8(frames).dtype == np.uint8
    assert frames.min() < -1  # the input is left alone
    expected = frames_to_uint8(frames)
    assert np.array_equal(frames_to_uint8(frames, in_place=True), expected) and frames.max() > 2  # reused


@pytest.mark.parametrize("new_is_earlier", [True, False], ids=["original", "f1"])
def test_join_chunk_on_the_device_equals_the_float_crossfade_on_the_cpu(new_is_earlier):
    g = np.random.default_rng(1)
    raw = g.uniform(-1.1, 1.1, (9, 4, 5, 3)).astype(np.float32)
    previous = g.uniform(-1, 1, (3, 4, 5, 3)).astype(np.float32)
    if new_is_earlier:    # the overlap is the new chunk's end, faded out into the previous chunk
        expected = np.concatenate([raw[:-3], crossfade(raw[-3:], previous)])
    else:                 # F1: the previous chunk's end fades into the new chunk's start
        expected = np.concatenate([crossfade(previous, raw[:3]), raw[3:]])
    joined = join_chunk(torch.from_numpy(raw.copy()), previous, new_is_earlier)
    assert np.array_equal(joined, pixels_to_uint8(expected))
    assert np.array_equal(join_chunk(torch.from_numpy(raw.copy()), None, new_is_earlier), pixels_to_uint8(raw))
