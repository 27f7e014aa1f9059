"""The step cache a section samples with: TeaCache (ours), First-Block Cache or MagCache (diffusers').

All three skip the transformer's blocks on steps where they would change little and add the
residual of the last computed step instead; they differ in how they decide:
- TeaCache (teacache.py): the rescaled change of the first block's modulated input.
- First-Block Cache (diffusers `FirstBlockCacheConfig`): the first block always runs; the rest is
  skipped while the first block's residual changes by less than the threshold.
- MagCache (diffusers `MagCacheConfig`): a per-step table of how much the blocks' residual
  shrinks or grows from one step to the next, calibrated once per model (magcache.py); the error
  it accumulates by reusing a residual must stay under the threshold.

The two diffusers caches work through `CacheMixin.enable_cache`: hooks on the transformer's
blocks, so diffusers' own forward (1-D indices, history streams) runs unchanged around them.
Each section opens the cache afresh (`open_step_cache`, a context manager): the hooks are added
on entry and removed on exit, so no state crosses sections. Each model call of a step goes through
`cache.call(index)`, which names the call ("cond" or "uncond") so that with real CFG the positive
and negative passes keep separate states, as diffusers' pipelines do.

Same rules for all: a threshold of 0 is the uncached model exactly (the caches still run and
measure, they never skip), and a step counts as skipped when every model call of it was.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from torch import nn

from . import magcache
from .teacache import step_cache as teacache_blocks

CALL_NAMES = ("cond", "uncond")


class NoCache:
    """Every step computed (step cache off)."""

    skipped = 0
    last_skipped = False

    def call(self, index: int) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()


class TeaCacheSteps(NoCache):
    """Our TeaCache's block wrapper seen through the common interface (it counts its own skips;
    the positive and negative calls share its state, as in the original)."""

    def __init__(self, blocks):
        self.blocks = blocks

    @property
    def skipped(self) -> int:
        return self.blocks.skipped

    @property
    def last_skipped(self) -> bool:
        return self.blocks.last_skipped


class HookCache:
    """A diffusers cache enabled on the transformer for one section.

    Whether a call skipped is read from the head-block hook's state for that call's name right
    after the call: both diffusers caches set `should_compute` there on every call.
    """

    def __init__(self, transformer: nn.Module, head_hook: str, calls: int):
        self.transformer = transformer
        self.calls = calls
        self.head = transformer.transformer_blocks[0]._diffusers_hook.get_hook(head_hook)
        self.skipped = 0
        self.last_skipped = False
        self._step_skips: list[bool] = []

    @contextlib.contextmanager
    def call(self, index: int) -> Iterator[None]:
        with self.transformer.cache_context(CALL_NAMES[index]):
            yield
            self._step_skips.append(not self.head.state_manager.get_state().should_compute)
        if index == self.calls - 1:
            self.last_skipped = all(self._step_skips)
            self.skipped += self.last_skipped
            self._step_skips = []

    def state(self, index: int = 0):
        """The head hook's state for call `index` (calibration reads its recorded ratios)."""
        with self.transformer.cache_context(CALL_NAMES[index]):
            return self.head.state_manager.get_state()


@contextlib.contextmanager
def _diffusers_cache(transformer: nn.Module, config, head_hook: str, calls: int) -> Iterator[HookCache]:
    transformer.enable_cache(config)
    try:
        yield HookCache(transformer, head_hook, calls)
    finally:
        transformer.disable_cache()


def fbcache_config(threshold: float):
    """diffusers' First-Block Cache. It skips when the relative change of the first block's
    residual is not above the threshold (`diff > threshold` computes): at 0 an unchanged residual
    would still skip, so 0 passes -inf, which computes every step."""
    from diffusers.hooks import FirstBlockCacheConfig

    return FirstBlockCacheConfig(threshold=threshold if threshold > 0 else float("-inf"))


def require_step_cache(kind: str, models_dir: Path, variant: str) -> None:
    """Fail before any model loads when the chosen cache cannot run (MagCache without ratios)."""
    if kind == "magcache" and magcache.active_recording() is None:
        magcache.load_ratios(models_dir, variant)


@contextlib.contextmanager
def open_step_cache(transformer: nn.Module, kind: str, threshold: float, steps: int, calls: int = 1,
                    variant: str = "original", models_dir: Path | None = None) -> Iterator[NoCache | HookCache]:
    """Within the block, the transformer's calls go through the step cache `kind` ("teacache",
    "fbcache", "magcache" or "off"); yields the cache (`call`, `skipped`, `last_skipped`).

    MagCache reads the ratios calibrated for `variant` from `models_dir` (magcache.py); while a
    calibration records (`magcache.recording`), it runs in diffusers' calibration mode instead.
    """
    from diffusers.hooks.first_block_cache import _FBC_LEADER_BLOCK_HOOK
    from diffusers.hooks.mag_cache import _MAG_CACHE_LEADER_BLOCK_HOOK

    record = magcache.active_recording()
    if record is not None:
        config = magcache.calibration_config(steps)
        with _diffusers_cache(transformer, config, _MAG_CACHE_LEADER_BLOCK_HOOK, calls) as cache:
            yield cache
            record.add(cache.state(0).calibration_ratios)
        return
    if kind == "off":
        yield NoCache()
    elif kind == "teacache":
        with teacache_blocks(transformer, threshold, steps) as blocks:
            yield TeaCacheSteps(blocks)
    elif kind == "fbcache":
        with _diffusers_cache(transformer, fbcache_config(threshold), _FBC_LEADER_BLOCK_HOOK, calls) as cache:
            yield cache
    elif kind == "magcache":
        ratios = magcache.load_ratios(models_dir, variant)
        config = magcache.inference_config(ratios, threshold, steps)
        with _diffusers_cache(transformer, config, _MAG_CACHE_LEADER_BLOCK_HOOK, calls) as cache:
            yield cache
    else:
        raise ValueError(f"unknown step cache {kind!r}")
