"""The player's frame cache: bounded memory, misses served from the disk frame store."""
import numpy as np

from framepack_desktop.engine.video.framestore import FrameStore
from framepack_desktop.ui.frame_cache import FrameCache

H, W = 16, 24
FRAME = H * W * 3


def frames(start, n):
    return np.stack([np.full((H, W, 3), (start + i) % 256, np.uint8) for i in range(n)])


def test_cache_never_holds_more_than_its_budget(tmp_path):
    cache = FrameCache(budget_bytes=10 * FRAME)
    cache.put(0, frames(0, 40))
    assert cache.nbytes <= 10 * FRAME
    assert 39 in cache and 0 not in cache          # oldest went first
    assert cache.get(39)[0, 0, 0] == 39
    assert cache.get(0) is None                    # evicted and no store to read it from


def test_misses_are_read_from_the_store_and_see_later_writes(tmp_path):
    store = FrameStore.create(tmp_path / "frames", 50, H, W)
    store.write(30, frames(30, 20))
    cache = FrameCache(budget_bytes=5 * FRAME)
    cache.attach(str(tmp_path / "frames"))
    assert cache.get(10) is None                   # not written yet
    got = cache.get(35)
    assert got[0, 0, 0] == 35 and cache.disk_reads == 1
    assert cache.get(35) is got and cache.disk_reads == 1   # second look is a hit
    store.write(10, frames(10, 20))
    cache.attach(str(tmp_path / "frames"))         # a new SectionDecoded re-attaches
    assert cache.get(12)[0, 0, 0] == 12
    store.close()


def test_arrived_frames_replace_cached_ones(tmp_path):
    cache = FrameCache()
    cache.put(0, frames(0, 3))
    cache.put(1, np.zeros((2, H, W, 3), np.uint8) + 200)
    assert [cache.get(i)[0, 0, 0] for i in range(3)] == [0, 200, 200]
    assert cache.nbytes == 3 * FRAME
