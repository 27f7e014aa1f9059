"""TeaCache: skip the transformer blocks on steps where their input barely changed.

Between steps we measure the relative L1 change of the first double block's modulated input,
rescale it with the polynomial fitted by the TeaCache authors for HunyuanVideo, and accumulate.
While the sum stays under the threshold, the blocks are skipped and the residual they added on the
last computed step is added again. The first and last step of a section are always computed, and
the state is reset for every section. Like the original, it counts model *calls* and wraps its
counter every `steps` calls: with real CFG (two calls a step) calls 0, S-1, S and 2S-1 of a section
are forced, and the positive and negative calls share one accumulator and one cached residual.

Rather than re-implementing diffusers' forward, `step_cache(transformer, ...)` temporarily puts one
wrapper module in place of the transformer's two block lists; everything before and after the
blocks (embeddings, history packing, output projection) stays diffusers' own code, and hooks placed
on the blocks themselves (offloading) keep working.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

RESCALE = (733.226126, -401.131952, 67.5869174, -3.149878, 0.0961237896)


def rescale(rel_l1: float) -> float:
    """The fitted polynomial as the original evaluates it (no clamp: on rel_l1 >= 0 its minimum
    is 0.052, so it never goes negative)."""
    value = 0.0
    for c in RESCALE:
        value = value * rel_l1 + c
    return value


class CachedBlocks(nn.Module):
    """Runs (or skips) all double and single blocks as one unit."""

    def __init__(self, double: nn.ModuleList, single: nn.ModuleList, threshold: float, steps: int):
        super().__init__()
        self.double_blocks = double
        self.single_blocks = single
        self.threshold = threshold
        self.steps = steps
        self.step = 0
        self.skipped = 0
        self.last_skipped = False
        self._accumulated = 0.0
        self._previous_input: torch.Tensor | None = None
        self._residual: torch.Tensor | None = None

    def reset(self, steps: int) -> None:
        self.steps = steps
        self.step = 0
        self.skipped = 0
        self.last_skipped = False
        self._accumulated = 0.0
        self._previous_input = None
        self._residual = None

    def _should_compute(self, modulated: torch.Tensor) -> bool:
        if self.step == 0 or self.step == self.steps - 1 or self._previous_input is None:
            self._accumulated = 0.0
            return True
        prev = self._previous_input
        rel = ((modulated - prev).abs().mean() / prev.abs().mean()).item()
        self._accumulated += rescale(rel)
        if self._accumulated < self.threshold:
            return False
        self._accumulated = 0.0
        return True

    def forward(self, hidden_states, encoder_hidden_states, temb, attention_mask, image_rotary_emb):
        modulated = self.double_blocks[0].norm1(hidden_states, emb=temb)[0]
        compute = self._should_compute(modulated)
        self._previous_input = modulated
        self.step = (self.step + 1) % self.steps
        self.last_skipped = not compute
        if not compute:
            self.skipped += 1
            return hidden_states + self._residual, encoder_hidden_states
        before = hidden_states
        for block in self.double_blocks:
            hidden_states, encoder_hidden_states = block(
                hidden_states, encoder_hidden_states, temb, attention_mask, image_rotary_emb
            )
        for block in self.single_blocks:
            hidden_states, encoder_hidden_states = block(
                hidden_states, encoder_hidden_states, temb, attention_mask, image_rotary_emb
            )
        self._residual = hidden_states - before
        return hidden_states, encoder_hidden_states


@contextlib.contextmanager
def step_cache(transformer: nn.Module, threshold: float | None, steps: int) -> Iterator[CachedBlocks | None]:
    """Within the block, calls of `transformer` go through TeaCache; yields None when it is off (None).

    A threshold of 0 still measures every step but never skips one: the output is exactly the
    uncached model's.
    """
    if threshold is None:
        yield None
        return
    double, single = transformer.transformer_blocks, transformer.single_transformer_blocks
    cached = CachedBlocks(double, single, threshold, steps)
    transformer.transformer_blocks = nn.ModuleList([cached])
    transformer.single_transformer_blocks = nn.ModuleList()
    try:
        yield cached
    finally:
        transformer.transformer_blocks = double
        transformer.single_transformer_blocks = single
