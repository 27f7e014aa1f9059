"""The MP4 writer and the atomic writes under it: playable output, metadata, no partial files."""
import errno
import json
import os
import weakref

import av
import numpy as np
from limits import file_size_limit
import pytest

from framepack_desktop.engine import atomic
from framepack_desktop.engine.atomic import atomic_path, atomic_write_bytes, atomic_write_text
from framepack_desktop.engine.errors import JobCancelled, OutputNotWritable
from framepack_desktop.engine.video.mp4 import BadVideo, probe, read_job_metadata, write_mp4

H, W = 64, 96


def gradient(i: int, h: int = H, w: int = W) -> np.ndarray:
    """A smooth colour gradient whose blue level encodes the frame number."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 / w, y * 255 / h, np.full((h, w), 8 * i)], -1).astype(np.uint8)


def decode(path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


# ----- the MP4 writer -----
def test_round_trip_is_a_playable_h264_yuv420p_video_close_to_the_input(tmp_path):
    n = 20
    out = write_mp4(tmp_path / "v.mp4", (gradient(i) for i in range(n)), W, H)
    assert out == tmp_path / "v.mp4"
    info = probe(out)
    assert (info.frames, info.width, info.height) == (n, W, H)
    assert (info.codec, info.pix_fmt, info.fps) == ("h264", "yuv420p", 30)
    assert info.seconds == pytest.approx(n / 30)
    frames = decode(out)
    assert len(frames) == n
    errors = [np.abs(f.astype(int) - gradient(i).astype(int)).mean() for i, f in enumerate(frames)]
    assert max(errors) < 3
    assert [int(round(f[..., 2].mean() / 8)) for f in frames] == list(range(n))   # order kept


def test_colours_survive_because_the_stream_is_converted_and_tagged_bt709(tmp_path):
    colour = np.zeros((H, W, 3), np.uint8)
    colour[:] = (200, 40, 90)
    write_mp4(tmp_path / "c.mp4", [colour] * 3, W, H)
    with av.open(str(tmp_path / "c.mp4")) as c:
        frame = next(c.decode(video=0))
    assert (frame.colorspace, frame.color_range) == (1, 1)   # BT.709, limited range
    assert np.abs(frame.to_ndarray(format="rgb24")[H // 2, W // 2].astype(int) - (200, 40, 90)).max() <= 3


def test_fps_and_crf_are_applied(tmp_path):
    frames = [gradient(i) for i in range(6)]
    write_mp4(tmp_path / "a.mp4", frames, W, H, fps=24, crf=40)
    write_mp4(tmp_path / "b.mp4", frames, W, H, fps=24, crf=10)
    assert probe(tmp_path / "a.mp4").fps == 24
    assert (tmp_path / "a.mp4").stat().st_size < (tmp_path / "b.mp4").stat().st_size


def test_job_json_with_unicode_and_newlines_round_trips_through_the_file(tmp_path):
    job = json.dumps({"prompt": "A cat 🐈 dances\nthen ✨ sleeps — «fin»", "seed": 31337,
                      "section_prompts": {"2": "zoom\tout"}}, ensure_ascii=False, indent=2)
    write_mp4(tmp_path / "m.mp4", [gradient(0)] * 2, W, H, metadata=job)
    assert read_job_metadata(tmp_path / "m.mp4") == job
    write_mp4(tmp_path / "none.mp4", [gradient(0)] * 2, W, H)
    assert read_job_metadata(tmp_path / "none.mp4") is None


def test_odd_sizes_lose_the_last_column_and_row(tmp_path):
    h, w = H + 1, W + 1
    frame = gradient(3, h, w)
    frame[-1, :] = (255, 0, 255)     # the bottom row and right column are cropped away
    frame[:, -1] = (255, 0, 255)
    write_mp4(tmp_path / "odd.mp4", [frame] * 4, w, h)
    info = probe(tmp_path / "odd.mp4")
    assert (info.width, info.height, info.frames) == (W, H, 4)
    decoded = decode(tmp_path / "odd.mp4")[0]
    assert np.abs(decoded.astype(int) - frame[:H, :W].astype(int)).mean() < 3


def test_frames_are_streamed_not_collected(tmp_path):
    alive = []

    def frames():
        for i in range(40):
            alive.append(sum(r() is not None for r in refs))
            frame = gradient(i)
            refs.append(weakref.ref(frame))
            yield frame

    refs = []
    write_mp4(tmp_path / "s.mp4", frames(), W, H)
    # when frame i is asked for, at most frame i-1 (still the loop variable) is alive
    assert max(alive) <= 1
    assert probe(tmp_path / "s.mp4").frames == 40


def test_bad_frames_or_no_frames_leave_nothing_behind(tmp_path):
    def frames():
        yield gradient(0)
        yield gradient(1)[:, :-2]

    with pytest.raises(ValueError, match="frame 1"):
        write_mp4(tmp_path / "bad.mp4", frames(), W, H)
    with pytest.raises(ValueError, match="no frames"):
        write_mp4(tmp_path / "empty.mp4", [], W, H)
    assert list(tmp_path.iterdir()) == []


def test_cancel_midway_keeps_the_previous_video(tmp_path):
    out = tmp_path / "keep.mp4"
    write_mp4(out, [gradient(0)] * 3, W, H, metadata="old")

    def frames():
        yield gradient(1)
        raise JobCancelled()

    with pytest.raises(JobCancelled):
        write_mp4(out, frames(), W, H, metadata="new")
    assert read_job_metadata(out) == "old" and probe(out).frames == 3
    assert [p.name for p in tmp_path.iterdir()] == ["keep.mp4"]


def test_missing_folder_is_a_user_error(tmp_path):
    with pytest.raises(OutputNotWritable, match="does not exist") as err:
        write_mp4(tmp_path / "nowhere" / "v.mp4", [gradient(0)], W, H)
    assert "nowhere" in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_a_protected_folder_is_a_user_error(tmp_path, monkeypatch):
    # Tests run as root here, where chmod cannot protect a folder: refuse the way the OS would.
    def refuse(path, flags, mode=0o777):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(atomic.os, "open", refuse)
    with pytest.raises(OutputNotWritable, match="No permission") as err:
        write_mp4(tmp_path / "v.mp4", [gradient(0)], W, H)
    assert "v.mp4" in str(err.value) and "another output folder" in str(err.value)
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_a_file_where_the_folder_should_be_is_a_user_error(tmp_path):
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(OutputNotWritable):
        write_mp4(tmp_path / "file" / "v.mp4", [gradient(0)], W, H)


def test_running_out_of_room_midway_leaves_no_partial_file(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, (30, H, W, 3), dtype=np.uint8)
    with file_size_limit(20_000), pytest.raises(OutputNotWritable, match="too large") as err:
        write_mp4(tmp_path / "big.mp4", noise, W, H)
    assert "big.mp4" in str(err.value) and "Choose" in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_probe_and_metadata_refuse_files_that_are_not_videos(tmp_path):
    (tmp_path / "notes.mp4").write_text("not a video")
    with pytest.raises(BadVideo, match="notes.mp4"):
        probe(tmp_path / "notes.mp4")
    with pytest.raises(BadVideo):
        read_job_metadata(tmp_path / "notes.mp4")
    with pytest.raises(BadVideo):
        probe(tmp_path / "missing.mp4")


# ----- atomic writes (what the writer above relies on) -----
def test_atomic_writes_replace_whole_files_with_ordinary_permissions(tmp_path):
    target = tmp_path / "job.json"
    target.write_text("old")
    old_umask = os.umask(0o022)
    try:
        atomic_write_text(target, "ünïcode\nnew")
    finally:
        os.umask(old_umask)
    assert target.read_bytes() == "ünïcode\nnew".encode()
    assert target.stat().st_mode & 0o777 == 0o644
    atomic_write_bytes(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert [p.name for p in tmp_path.iterdir()] == ["job.json"]


def test_atomic_path_hands_out_a_hidden_sibling_and_removes_it_on_failure(tmp_path):
    target = tmp_path / "v.mp4"
    target.write_bytes(b"previous")
    with pytest.raises(KeyError):
        with atomic_path(target) as temp:
            assert temp.parent == tmp_path and temp.name.startswith(".v.") and temp.suffix == ".mp4"
            assert temp.exists()
            temp.write_bytes(b"half")
            raise KeyError("crash")
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["v.mp4"]


def test_a_full_disk_during_an_atomic_write_names_the_file_and_the_remedy(tmp_path, monkeypatch):
    def disk_full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", disk_full)
    with pytest.raises(OutputNotWritable, match="disk is full") as err:
        atomic_write_text(tmp_path / "job.json", "{}")
    assert "job.json" in str(err.value) and "Free some space" in str(err.value)
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_other_os_errors_are_not_dressed_up_as_user_errors(tmp_path, monkeypatch):
    def broken(fd):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(atomic.os, "fsync", broken)
    with pytest.raises(OSError) as err:
        atomic_write_text(tmp_path / "job.json", "{}")
    assert not isinstance(err.value, OutputNotWritable) and err.value.errno == errno.EIO
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_same_frames_give_the_same_bytes_every_time(tmp_path):
    """At the 640 class, x264 left to itself wrote another file each time from the same frames
    (4 hashes in 4 runs at 832 x 480 on this AVX-512 machine); the writer's settings make it one."""
    import hashlib

    y, x = np.mgrid[0:480, 0:832]
    frames = []
    for i in range(48):
        f = np.stack([(x + 3 * i) % 256, (y + 2 * i) % 256, ((x + y) // 2 + i) % 256], axis=-1).astype(np.uint8)
        f[100:164, 40 + 5 * i:104 + 5 * i] = 255
        frames.append(f)
    digests = {hashlib.sha256(write_mp4(tmp_path / f"{k}.mp4", frames, 832, 480).read_bytes()).hexdigest()
               for k in range(3)}
    assert len(digests) == 1
