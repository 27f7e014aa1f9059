"""The disk frame store: round trips, validity bookkeeping, durability order, errors."""
import errno
import json
import threading

import numpy as np
from limits import file_size_limit
import pytest

from framepack_desktop.engine.errors import OutputNotWritable
from framepack_desktop.engine.video import framestore
from framepack_desktop.engine.video.framestore import FrameNotWritten, FrameStore, FrameStoreCorrupt

H, W = 6, 10


def frames(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, H, W, 3), dtype=np.uint8)


def test_create_preallocates_a_sparse_file_with_nothing_valid(tmp_path):
    with FrameStore.create(tmp_path / "s", 1000, 64, 64) as store:
        data = tmp_path / "s" / "frames.bin"
        assert data.stat().st_size == 1000 * 64 * 64 * 3
        assert data.stat().st_blocks * 512 < data.stat().st_size // 100   # sparse: nearly no blocks
        assert store.valid_ranges == () and store.valid_span() == (0, 0)
        assert not store.is_valid(0)
        with pytest.raises(FrameNotWritten, match="have not all been written"):
            store.read(0)


def test_written_frames_read_back_exactly_in_every_way(tmp_path):
    data = frames(20)
    with FrameStore.create(tmp_path, 30, H, W) as store:
        store.write(5, data)
        assert store.valid_ranges == ((5, 25),) and store.valid_span() == (5, 25)
        assert [store.is_valid(i) for i in (4, 5, 24, 25)] == [False, True, True, False]
        np.testing.assert_array_equal(store.read(5), data[0])
        np.testing.assert_array_equal(store.read(24), data[19])
        np.testing.assert_array_equal(store.read_range(9, 14), data[4:9])
        streamed = list(store.iter_frames(6, 23, chunk=4))
        assert len(streamed) == 17 and all(f.shape == (H, W, 3) for f in streamed)
        np.testing.assert_array_equal(np.stack(streamed), data[1:18])
        np.testing.assert_array_equal(np.stack(list(store.iter_frames())), data)   # default: valid span
        with pytest.raises(FrameNotWritten):
            store.read_range(3, 8)   # partly before the valid span


def test_reads_return_independent_arrays(tmp_path):
    with FrameStore.create(tmp_path, 4, H, W) as store:
        store.write(0, frames(4))
        first = store.read(1)
        first[:] = 0
        assert store.read(1).any()


def test_ranges_merge_and_survive_reopening(tmp_path):
    a, b = frames(4, 1), frames(3, 2)
    with FrameStore.create(tmp_path, 20, H, W) as store:
        store.write(10, a)
        store.write(2, b)
        assert store.valid_ranges == ((2, 5), (10, 14))
        with pytest.raises(ValueError, match="several spans"):
            store.valid_span()
        store.write(5, frames(5, 3))
        assert store.valid_ranges == ((2, 14),) and store.valid_span() == (2, 14)
    index = json.loads((tmp_path / "frames.json").read_text())
    assert (index["num_frames"], index["height"], index["width"], index["valid"]) == (20, H, W, [[2, 14]])
    with FrameStore.open(tmp_path) as again:
        assert (again.num_frames, again.height, again.width) == (20, H, W)
        assert again.valid_ranges == ((2, 14),)
        np.testing.assert_array_equal(again.read_range(10, 14), a)
        np.testing.assert_array_equal(again.read_range(2, 5), b)


def test_a_crash_while_overwriting_frames_leaves_them_invalid_not_torn(tmp_path, monkeypatch):
    with FrameStore.create(tmp_path, 20, H, W) as store:
        store.write(0, frames(12, 1))

        def crash(*args):
            raise RuntimeError("power cut")

        monkeypatch.setattr(framestore, "_pwrite_all", crash)
        with pytest.raises(RuntimeError):
            store.write(8, frames(10, 2))   # overlaps the valid frames 8..11
    with FrameStore.open(tmp_path) as after:
        assert after.valid_ranges == ((0, 8),)


def test_write_rejects_wrong_frames_and_positions(tmp_path):
    with FrameStore.create(tmp_path, 10, H, W) as store:
        with pytest.raises(ValueError, match="uint8"):
            store.write(0, frames(2).astype(np.float32))
        with pytest.raises(ValueError, match="uint8"):
            store.write(0, np.zeros((2, H + 1, W, 3), np.uint8))
        with pytest.raises(IndexError):
            store.write(9, frames(2))
        with pytest.raises(IndexError):
            store.write(-1, frames(2))
        assert store.valid_ranges == ()


def test_reader_thread_never_sees_a_torn_frame(tmp_path):
    with FrameStore.create(tmp_path, 8, 64, 64) as store:
        store.write(0, np.zeros((8, 64, 64, 3), np.uint8))
        stop, bad = threading.Event(), []

        def reader():
            while not stop.is_set():
                for f in store.read_range(0, 8):
                    if f.min() != f.max():
                        bad.append(f)

        thread = threading.Thread(target=reader)
        thread.start()
        for value in range(1, 40):
            store.write(0, np.full((8, 64, 64, 3), value, np.uint8))
        stop.set()
        thread.join()
        assert not bad
        assert store.read(7).min() == 39


def test_a_separate_reader_sees_what_was_written_before_it_opened(tmp_path):
    with FrameStore.create(tmp_path, 10, H, W) as writer:
        data = frames(4)
        writer.write(6, data)
        with FrameStore.open(tmp_path) as reader:
            np.testing.assert_array_equal(reader.read_range(6, 10), data)
            with pytest.raises(FrameNotWritten):
                reader.read(0)


def test_open_rejects_a_broken_store(tmp_path):
    FrameStore.create(tmp_path, 10, H, W).close()
    index = tmp_path / "frames.json"
    good = index.read_text()

    index.write_text(good.replace('"valid": []', '"valid": [[4, 11]]'))
    with pytest.raises(FrameStoreCorrupt, match="impossible range"):
        FrameStore.open(tmp_path)
    index.write_text("{not json")
    with pytest.raises(FrameStoreCorrupt):
        FrameStore.open(tmp_path)
    index.write_text(good)
    with open(tmp_path / "frames.bin", "r+b") as f:
        f.truncate(100)
    with pytest.raises(FrameStoreCorrupt, match="100 bytes"):
        FrameStore.open(tmp_path)


def test_a_full_drive_is_a_user_error(tmp_path):
    with file_size_limit(50_000), pytest.raises(OutputNotWritable, match="frames.bin") as err:
        FrameStore.create(tmp_path, 1000, H, W)   # 180 kB does not fit under the limit
    assert "drive" in str(err.value)


def test_a_disk_filling_up_during_a_write_is_a_user_error(tmp_path, monkeypatch):
    with FrameStore.create(tmp_path, 10, H, W) as store:
        store.write(0, frames(2))

        def disk_full(fd, data, offset):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(framestore.os, "pwrite", disk_full)
        with pytest.raises(OutputNotWritable, match="disk is full") as err:
            store.write(5, frames(3))
        assert "frames.bin" in str(err.value)
        assert store.valid_ranges == ((0, 2),)
    monkeypatch.undo()
    with FrameStore.open(tmp_path) as after:
        assert after.valid_ranges == ((0, 2),)


def test_keep_only_forgets_frames_outside_a_span_on_disk_too(tmp_path):
    store = FrameStore.create(tmp_path / "s", 10, 2, 2)
    store.write(0, np.full((10, 2, 2, 3), 7, np.uint8))
    store.keep_only(3, 8)
    assert store.valid_ranges == ((3, 8),)
    assert FrameStore.open(tmp_path / "s").valid_ranges == ((3, 8),)
    assert store.read_range(3, 8).min() == 7
