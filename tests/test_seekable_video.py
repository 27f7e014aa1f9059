"""Any video read by frame index for the player: every index, in any order, is the decoded frame."""
import random
from fractions import Fraction

import av
import numpy as np
import pytest
from post_clips import decode, moving_square, square_frame

from framepack_desktop.engine.video.mp4 import BadVideo
from framepack_desktop.engine.video.seekable import DECODE_AHEAD, SeekableVideo


def short_gop_clip(path, n):
    """Keyframes every 10 frames and B-frames, so seeking lands between keyframes and reorders."""
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(24), options={"g": "10", "bf": "2", "crf": "0"})
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv444p"
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(square_frame(2 * i, i % 60), format="rgb24").reformat(format="yuv444p")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def test_every_frame_in_random_order_equals_the_decoded_one(tmp_path):
    n = 2 * DECODE_AHEAD + 30          # long enough that jumps seek rather than decode through
    path = short_gop_clip(tmp_path / "gop.mp4", n)
    decoded = decode(path)
    video = SeekableVideo(path)
    assert (video.frames, video.width, video.height, video.fps) == (n, 160, 96, 24)
    order = list(range(n))
    random.Random(3).shuffle(order)
    for i in order[:40] + [n - 1, 0, 1, 2, n - 2]:
        assert np.array_equal(video.read(i), decoded[i]), i
    video.close()


def test_outside_the_video_and_not_a_video(tmp_path):
    video = SeekableVideo(moving_square(tmp_path / "clip.mp4", n=3))
    with pytest.raises(IndexError):
        video.read(3)
    video.close()
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all")
    with pytest.raises(BadVideo):
        SeekableVideo(bad)


def test_the_player_cache_reads_a_file_through_its_budget_and_a_store_replaces_it(tmp_path):
    from framepack_desktop.ui.frame_cache import FrameCache

    path = short_gop_clip(tmp_path / "gop.mp4", 30)
    decoded = decode(path)
    cache = FrameCache(budget_bytes=3 * decoded[0].nbytes)         # three frames at most
    cache.attach_video(SeekableVideo(path))
    for i in (0, 29, 7, 8, 9, 10):
        assert np.array_equal(cache.get(i), decoded[i])
    assert cache.nbytes <= 3 * decoded[0].nbytes and 10 in cache and 0 not in cache
    assert cache.get(30) is None
    cache.attach(str(tmp_path / "no-store-here"))                     # a generation's store takes over
    assert cache.get(29) is None


@pytest.mark.parametrize("fmt, ext", [("gif", "gif"), ("webm", "webm")])
def test_finish_results_in_other_formats_read_by_index(tmp_path, fmt, ext):
    """GIF delays are rounded to 1/100 s (30 fps reads back as 33.3), so its frames are counted."""
    from framepack_desktop.app import main

    out = tmp_path / f"out.{ext}"
    assert main(["post", str(moving_square(tmp_path / "clip.mp4", n=40, step=2)), "--out", str(out),
                 "--format", fmt]) == 0
    decoded = decode(out)
    video = SeekableVideo(out)
    order = list(range(len(decoded)))
    random.Random(1).shuffle(order)
    assert video.frames == len(decoded) == 40
    assert [i for i in order + [39, 0, 38] if not np.array_equal(video.read(i), decoded[i])] == []
    video.close()
