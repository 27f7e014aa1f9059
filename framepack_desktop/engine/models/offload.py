"""Putting loaded models where the memory plan says: group offloading, model offloading, VAE modes.

Group offloading is diffusers' block-level offloading: each transformer block moves to the GPU
just for its own forward, the next one prefetched on a CUDA stream while the current one computes.
One exception: the first double block stays on the GPU, because TeaCache (sampling/teacache.py)
calls that block's `norm1` on its own to measure the change between steps, outside the block's
forward where the offloading hook would bring it in. The block is taken out of the list while the
hooks are applied, so diffusers never groups it.

Weights either get a pinned RAM copy (fast transfers, costs their size in locked RAM) or stay
views of their memory-mapped safetensors files, pinned one group at a time while it moves
(`pinned=False`: for machines whose RAM cannot hold them; the OS pages them in from disk).

Model offloading keeps whole models in RAM and gives the GPU to one at a time: a model's forward
(the VAE's `encode`/`decode`) first sends the others back. Inputs follow the weights, so callers
that read `model.device` while the model waits in RAM still work.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from accelerate.hooks import ModelHook

if TYPE_CHECKING:
    import torch

# The children of a diffusers VAE that `encode`/`decode` call, whose inputs must follow the weights.
VAE_PARTS = ("encoder", "decoder", "quant_conv", "post_quant_conv")


@dataclass(frozen=True)
class Offload:
    """How group offloading runs: streams (prefetch), whether weights get a pinned RAM copy, how
    many blocks move together, and `record_stream`.

    The policy's defaults are the memory-safe ones. Without `record_stream` diffusers waits for the
    GPU after each group before releasing it, so at most the computing group and the prefetched one
    are on the GPU (what the memory plan counts). With it nothing waits, which hides the launch gaps
    between blocks, but the CPU may then run many blocks ahead of the GPU and each of them holds its
    weights until the GPU has passed it: on the small cards that stream, that can be the whole model.
    `benchmarks/bench_speed.py --offload-sweep` measures the combinations under a VRAM cap.
    """

    use_stream: bool = True
    pinned: bool = True
    blocks_per_group: int = 1
    record_stream: bool = False

    def describe(self) -> str:
        blocks = "1 block" if self.blocks_per_group == 1 else f"{self.blocks_per_group} blocks"
        stream = "CUDA stream" + (" + record_stream" if self.record_stream else "") if self.use_stream else "no stream"
        return f"{blocks} at a time, {stream}, {'weights pinned in RAM' if self.pinned else 'pinned as they move'}"


def group_offload(model: "torch.nn.Module", device: "torch.device", settings: Offload, keep_first_block: bool) -> None:
    """Block-level group offloading of `model` onto `device` (its weights are on the CPU)."""
    import torch
    from diffusers.hooks import apply_group_offloading

    stream = settings.use_stream and device.type == "cuda"
    first = None
    if keep_first_block and hasattr(model, "transformer_blocks") and len(model.transformer_blocks):
        blocks = list(model.transformer_blocks)
        first = blocks[0]
        model.transformer_blocks = torch.nn.ModuleList(blocks[1:])
    try:
        apply_group_offloading(
            model, onload_device=device, offload_device=torch.device("cpu"), offload_type="block_level",
            num_blocks_per_group=settings.blocks_per_group, use_stream=stream,
            record_stream=stream and settings.record_stream, low_cpu_mem_usage=not settings.pinned,
        )
    finally:
        if first is not None:
            model.transformer_blocks = torch.nn.ModuleList([first, *model.transformer_blocks])
    if first is not None:
        first.to(device)


class OneOnGpu:
    """Model offloading: the registered models share the GPU, one at a time."""

    def __init__(self, device: "torch.device"):
        self.device = device
        self.members: list[torch.nn.Module] = []
        self.active: torch.nn.Module | None = None

    def add(self, model: "torch.nn.Module") -> "torch.nn.Module":
        """Register `model` (on the CPU); it moves to the GPU when it runs."""
        from accelerate.hooks import add_hook_to_module

        self.members.append(model)
        add_hook_to_module(model, _OnloadHook(self), append=True)
        for name in VAE_PARTS:
            part = getattr(model, name, None)
            if part is not None:
                part.register_forward_pre_hook(_inputs_to_weights, with_kwargs=True)
        return model

    def activate(self, model: "torch.nn.Module") -> None:
        if self.active is model:
            return
        self.evict()
        model.to(self.device)
        self.active = model

    def evict(self) -> None:
        """Send the model on the GPU back to RAM (before something else needs the memory)."""
        import torch

        if self.active is not None:
            self.active.to("cpu")
            self.active = None
            if torch.cuda.is_available():
                torch.cuda.empty_cache()

    def remove(self, model: "torch.nn.Module") -> None:
        if self.active is model:
            self.active = None
        self.members = [m for m in self.members if m is not model]


class _OnloadHook(ModelHook):
    """Before the model's forward (or the VAE's encode/decode), onload it and move its inputs."""

    def __init__(self, group: OneOnGpu):
        self.group = group

    def pre_forward(self, module, *args, **kwargs) -> tuple[tuple, dict[str, Any]]:
        from accelerate.utils import send_to_device

        self.group.activate(module)
        return send_to_device(args, self.group.device), send_to_device(kwargs, self.group.device)


def _inputs_to_weights(module, args, kwargs):
    import torch
    from accelerate.utils import send_to_device

    weight = next(module.parameters(), None)
    if weight is None or not any(torch.is_tensor(a) and a.device != weight.device for a in (*args, *kwargs.values())):
        return None
    return send_to_device(args, weight.device), send_to_device(kwargs, weight.device)


def set_vae_decoding(vae, tiling: bool, framewise: bool) -> None:
    """Spatial tiling when a decode would not fit; one pass over time (framewise off) when it fits.

    Decoding all frames in one pass is about twice as fast on the CPU as diffusers' default
    chunks of frames, at the cost of memory proportional to the section's frames.
    """
    if tiling:
        vae.enable_tiling()
    else:
        vae.disable_tiling()
    vae.use_framewise_decoding = framewise
