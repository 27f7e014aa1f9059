"""The preflight: before anything loads, decide precision and memory mode, or say what to change.

Inputs: the job's wishes (precision, memory mode, GPU memory to keep free, resolution, window),
the machine (`machine.py`), the model sizes (`estimates.py`) and which forms of the transformer
are on disk. Output: a `Plan` whose `placement` the session applies, the estimated needs, and the
reasons in words. When nothing fits it raises `NotEnoughMemory` naming what to change.

The ladder, tried in order until something fits (an explicit precision or mode is tried first):

1. Precision: bf16 (the original's quality) when it can be held, else fp8 storage (16.6 GB
   instead of 25.7), else nf4 when bitsandbytes is installed. bf16 that would have to stream from
   disk every step is passed over for fp8 that stays in RAM.
2. Memory mode on a GPU: everything resident ("gpu") when the weights fit beside the memory kept
   free; "model_offload" when the transformer fits alone and RAM holds the rest; else
   "group_offload" (blocks streamed on a CUDA stream: VRAM needs the non-block part, the first
   double block, two blocks in flight and the VAE).
3. VAE decode: one pass, by frames, or spatially tiled, the first whose peak fits.

"GPU memory to keep free" (default 6 GB, as the original) is what the weights must leave for the
activations and for other programs. On a small card 6 GB would leave nothing, so it is capped at
35% of the card; it is never less than the activations themselves need.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .errors import NotEnoughMemory
from .estimates import (
    CUDA_OVERHEAD,
    GIB,
    Sizes,
    llama_activation_bytes,
    transformer_activation_bytes,
    vae_decode_bytes,
)
from .machine import Machine
from .offload import Offload
from .quantize import dtype_of

if TYPE_CHECKING:
    from .placement import Placement

BASE_RAM = 3 * GIB              # this process without models: Python, torch, the CUDA runtime, the app
PIN_HEADROOM = 8 * GIB          # RAM left to the system when weights get a pinned (locked) copy
CACHE_HEADROOM = 4 * GIB        # RAM left when mapped weights are to stay in the page cache
SMALL_CARD_SHARE = 0.35
DECODE_MARGIN = int(0.5 * GIB)
MODES = ("gpu", "model_offload", "group_offload")


@dataclass(frozen=True)
class Wishes:
    """What the job asks for, as far as memory is concerned."""

    precision: str = "auto"
    memory: str = "auto"
    keep_free_gb: float = 6.0
    height: int = 544
    width: int = 704
    window: int = 9
    transformer_forms: tuple[str, ...] = ("bf16",)   # storage of the transformer forms on disk
    gguf: bool = False                               # the user's transformer file is a GGUF


@dataclass(frozen=True)
class Needs:
    vram: int               # peak GPU memory while sampling and decoding
    vram_text: int          # peak while encoding the prompt
    ram: int                # RAM the process must be able to allocate (commit) at its peak
    page_cache: int         # mapped weights that RAM should cache for full speed
    disk: int               # bytes a saved quantized form will take (written once)


@dataclass(frozen=True)
class Plan:
    placement: Placement
    needs: Needs
    keep_free: int

    def report(self) -> str:
        n = self.needs
        lines = [self.placement.summary(),
                 f"needs: VRAM {n.vram / GIB:.1f} GB (prompt {n.vram_text / GIB:.1f} GB), RAM {n.ram / GIB:.1f} GB, "
                 f"disk {n.disk / GIB:.1f} GB; GPU memory kept free {self.keep_free / GIB:.1f} GB"]
        return "\n".join(lines + [f"- {r}" for r in self.placement.reasons])


def effective_keep_free(keep_free_gb: float, vram_total: int, activations: int) -> int:
    """The user's keep-free, capped on small cards, never below what the activations need."""
    need = activations + CUDA_OVERHEAD
    return int(max(need, min(keep_free_gb * GIB, SMALL_CARD_SHARE * vram_total)))


def plan(wishes: Wishes, machine: Machine, sizes: Sizes, base: Placement) -> Plan:
    """Choose precision, memory mode and VAE decoding for `machine`; NotEnoughMemory if none fits.

    `base` carries the device and the plain dtypes (bf16/fp16 on CUDA, fp32 on the CPU); the
    result is `base` with the decisions filled in.
    """
    if machine.device == "cpu":
        return _plan_cpu(wishes, machine, sizes, base)
    return _plan_gpu(wishes, machine, sizes, base)


# Bytes per weight, to order the fallbacks of an explicit precision: the nearest first, lighter before heavier.
WEIGHT_RANK = {"fp32": 4, "bf16": 2, "fp16": 2, "fp8": 1, "int8": 1, "nf4": 0.5}


def _precisions(wishes: Wishes, machine: Machine, ladder: tuple[str, ...]) -> list[tuple[str, str | None]]:
    """(precision, why it is not the one asked for) in the order to try.

    "auto" follows `ladder`. An explicit precision comes first, then the others nearest in size,
    lighter before heavier. A GGUF file is loaded as it is. When the only transformer on disk is
    fp8, plain precisions become fp8. int8/nf4 need their packages.
    """
    if wishes.gguf:
        return [("gguf", "the transformer checkpoint is a GGUF file" if wishes.precision not in ("auto", "gguf") else None)]
    asked = wishes.precision
    if asked == "auto":
        order = list(ladder)
    else:
        rank = WEIGHT_RANK.get(asked, 2)
        others = sorted((p for p in ladder if p != asked), key=lambda p: (abs(WEIGHT_RANK[p] - rank), -(WEIGHT_RANK[p] < rank)))
        order = [asked] + others
    out: list[tuple[str, str | None]] = []
    why_not_asked = f"{asked} does not fit"
    for p in order:
        why = None if p == asked or asked == "auto" else why_not_asked
        if set(wishes.transformer_forms) == {"fp8"} and p in ("fp32", "bf16", "fp16"):
            p, why = "fp8", "the transformer checkpoint on disk is fp8"
        missing = _missing_package(p, machine)
        if missing:
            if p == asked:
                why_not_asked = f"{asked} needs {missing}, which is not installed"
            continue
        if p not in [o[0] for o in out]:
            out.append((p, why))
    return out


def _missing_package(precision: str, machine: Machine) -> str | None:
    if precision == "nf4" and not machine.bitsandbytes:
        return "bitsandbytes"
    if precision == "int8" and not (machine.bitsandbytes or machine.torchao):
        return "torchao or bitsandbytes"
    return None


def _modes(memory: str) -> list[str]:
    return list(MODES) if memory == "auto" else [memory] + [m for m in MODES if m != memory]


def _plan_gpu(wishes: Wishes, machine: Machine, sizes: Sizes, base: Placement) -> Plan:
    act = transformer_activation_bytes(sizes, wishes.height, wishes.width, wishes.window)
    keep = effective_keep_free(wishes.keep_free_gb, machine.vram_total, act)
    budget = machine.vram_free - keep
    notes: list[str] = []
    if keep < wishes.keep_free_gb * GIB:
        notes.append(f"GPU memory kept free lowered to {keep / GIB:.1f} GB on this {machine.vram_total / GIB:.0f} GB "
                     f"GPU (asked {wishes.keep_free_gb:g} GB)")
    elif keep > wishes.keep_free_gb * GIB:
        notes.append(f"GPU memory kept free raised to {keep / GIB:.1f} GB: the activations at "
                     f"{wishes.height}x{wishes.width} need that much")
    tried: list[str] = []
    for precision, why in _precisions(wishes, machine, ("bf16", "fp8", "nf4")):
        for mode in _modes(wishes.memory):
            fit = _fit_gpu(precision, mode, machine, sizes, budget, strict=precision != wishes.precision)
            if isinstance(fit, str):
                tried.append(f"{precision} {mode.replace('_', ' ')}: {fit}")
                continue
            reasons = list(notes) + ([f"precision {precision}: {why}"] if why else [])
            if wishes.memory not in ("auto", mode):
                reasons.append(f"memory mode {wishes.memory.replace('_', ' ')} does not fit ({tried[0]})")
            return _finish_gpu(base, wishes, machine, sizes, precision, mode, fit, keep, act, reasons)
    raise NotEnoughMemory(_gpu_advice(wishes, machine, sizes, keep, tried))


def _fit_gpu(precision: str, mode: str, machine: Machine, sizes: Sizes, budget: int, strict: bool):
    """(offload settings, RAM to allocate, page cache wanted, notes) when `mode` fits, else why not.

    int8/nf4 weights stay on the GPU: bitsandbytes' quantized tensors do not move between devices
    reliably, so neither offloading mode is offered for them.
    """
    weights = sizes.transformer_bytes(precision)
    if precision in ("int8", "nf4") and mode != "gpu":
        return "quantized weights stay on the GPU"
    vae = sizes.vae * 2
    holdable = machine.holdable
    if mode == "gpu":
        if weights + vae > budget:
            return f"{(weights + vae) / GIB:.1f} GB of weights > {budget / GIB:.1f} GB"
        return Offload(), BASE_RAM + GIB, 0, []
    if mode == "model_offload":
        if weights > budget:
            return f"{weights / GIB:.1f} GB transformer > {budget / GIB:.1f} GB"
        if BASE_RAM + weights + vae > holdable:
            return f"RAM for the offloaded transformer: {(BASE_RAM + weights) / GIB:.1f} GB > {holdable / GIB:.1f} GB"
        return Offload(), BASE_RAM + weights + vae, 0, []
    in_flight = _in_flight(sizes, precision)
    if in_flight > budget:
        return f"{in_flight / GIB:.1f} GB in flight > {budget / GIB:.1f} GB"
    if holdable >= BASE_RAM + weights + PIN_HEADROOM:
        return Offload(use_stream=True, pinned=True), BASE_RAM + weights, 0, ["weights pinned in RAM for fast transfers"]
    cached = machine.ram_available >= BASE_RAM + weights + CACHE_HEADROOM
    if strict and precision in ("bf16", "fp16") and not cached:
        return (f"{weights / GIB:.1f} GB of weights would be re-read from disk every step "
                f"({machine.ram_available / GIB:.1f} GB RAM available)")
    commit = BASE_RAM + GIB + (weights if machine.windows else 0)
    if commit > holdable:
        return f"Windows commit limit: {commit / GIB:.1f} GB needed, {holdable / GIB:.1f} GB available"
    notes = ["weights stay in their memory-mapped files and are pinned one block at a time (not enough RAM to pin "
             "them all)"]
    if not cached:
        notes.append(f"RAM ({machine.ram_available / GIB:.1f} GB available) cannot cache all {weights / GIB:.1f} GB of "
                     "weights: parts are read from disk again every step, which is slower")
    return Offload(use_stream=True, pinned=False), commit, weights, notes


def _in_flight(sizes: Sizes, precision: str) -> int:
    """GPU memory of group offloading: non-block part, two blocks moving, the resident first block, VAE."""
    first_block = sizes.transformer_block * sizes.transformer_bytes(precision) // sizes.transformer
    return sizes.transformer_in_flight(precision) + first_block + sizes.vae * 2


def _finish_gpu(base, wishes, machine, sizes, precision, mode, fit, keep, act, reasons) -> Plan:
    offload, ram, page_cache, fit_notes = fit
    weights = sizes.transformer_bytes(precision)
    vae = sizes.vae * 2
    sampling = {"gpu": weights + vae, "model_offload": weights, "group_offload": _in_flight(sizes, precision)}[mode]
    held_while_decoding = {"gpu": weights + vae, "model_offload": vae,
                           "group_offload": _in_flight(sizes, precision) - sizes.transformer_in_flight(precision)}[mode]
    free_for_decode = machine.vram_free - held_while_decoding - DECODE_MARGIN
    tiling, framewise, decode = _vae_mode(sizes, wishes, free_for_decode, dtype_bytes=2, prefer_one_pass=False)
    if tiling:
        by_frames = vae_decode_bytes(sizes, wishes.height, wishes.width, wishes.window, 2, True, False)
        reasons.append(f"VAE decode tiled: by frames it would need {by_frames / GIB:.1f} GB, "
                       f"{max(free_for_decode, 0) / GIB:.1f} GB are free then")
    text_precision = precision if precision in ("fp8", "int8", "nf4") else "fp16"
    text_act = llama_activation_bytes(sizes) + sizes.clip * 2 + CUDA_OVERHEAD
    held = weights + vae if mode == "gpu" else 0
    text_memory = "gpu" if sizes.llama_bytes(text_precision) + text_act <= machine.vram_free - held else "group_offload"
    vram_text = (sizes.llama_bytes(text_precision) if text_memory == "gpu" else sizes.llama_in_flight(text_precision))
    if text_memory == "group_offload":
        reasons.append(f"the Llama text encoder ({sizes.llama_bytes(text_precision) / GIB:.1f} GB) streams through the "
                       "GPU layer by layer while it encodes")
    disk = _disk_for(precision, wishes, sizes)
    if disk and machine.disk_free is not None and machine.disk_free < disk + GIB:
        reasons.append(f"the {precision} form is not saved for the next start: it needs {disk / GIB:.1f} GB on disk, "
                       f"{machine.disk_free / GIB:.1f} GB are free")
        disk = 0
    reasons[:0] = [f"{precision} transformer ({weights / GIB:.1f} GB), {mode.replace('_', ' ')}: "
                   f"{machine.vram_free / GIB:.1f} of {machine.vram_total / GIB:.1f} GB GPU memory free, "
                   f"{machine.ram_available / GIB:.1f} GB RAM available"]
    plain = precision in ("fp32", "bf16", "fp16")
    placement = replace(
        base, transformer_dtype=dtype_of(precision) if plain else base.transformer_dtype,
        transformer_precision=None if plain else precision, text_precision=text_precision, memory=mode, text_memory=text_memory, offload=offload,
        vae_tiling=tiling, vae_framewise=framewise,
        keep_image_encoder=mode == "gpu" and weights + vae + sizes.siglip * 2 <= machine.vram_free - keep,
        reasons=tuple(reasons + fit_notes),
    )
    needs = Needs(
        vram=max(sampling + act + CUDA_OVERHEAD, held_while_decoding + decode),
        vram_text=vram_text + text_act, ram=ram, page_cache=page_cache, disk=disk,
    )
    return Plan(placement, needs, keep)


def _vae_mode(sizes: Sizes, wishes: Wishes, free: int, dtype_bytes: int, prefer_one_pass: bool):
    """(tiling, framewise, peak bytes): one pass (if preferred), by frames, then tiled."""
    options = ([(False, False)] if prefer_one_pass else []) + [(False, True), (True, True)]
    for tiling, framewise in options:
        peak = vae_decode_bytes(sizes, wishes.height, wishes.width, wishes.window, dtype_bytes, framewise, tiling)
        if peak <= free:
            return tiling, framewise, peak
    return True, True, vae_decode_bytes(sizes, wishes.height, wishes.width, wishes.window, dtype_bytes, True, True)


def _disk_for(precision: str, wishes: Wishes, sizes: Sizes) -> int:
    """A saved fp8 form is written once when fp8 is made from bf16 weights."""
    if precision == "fp8" and "fp8" not in wishes.transformer_forms:
        return sizes.transformer_bytes("fp8")
    return 0


def _plan_cpu(wishes: Wishes, machine: Machine, sizes: Sizes, base: Placement) -> Plan:
    """On the CPU every weight is in RAM: fp32 computes fastest there, lighter storage if needed."""
    import torch

    act = transformer_activation_bytes(sizes, wishes.height, wishes.width, wishes.window, dtype_bytes=4)
    holdable = machine.holdable
    tried = []
    for precision, why in _precisions(wishes, machine, ("fp32", "bf16", "fp8")):
        if precision in ("int8", "nf4"):
            tried.append(f"{precision}: needs an NVIDIA GPU")
            continue
        weights = sizes.transformer_bytes(precision)
        text = sizes.llama_bytes("fp8" if precision == "fp8" else "fp32") + sizes.clip * 4
        need = BASE_RAM + max(weights + sizes.encoders_bytes(4) + act, text + llama_activation_bytes(sizes, 4))
        if need > holdable:
            tried.append(f"{precision}: {need / GIB:.1f} GB")
            continue
        tiling, framewise, decode = _vae_mode(sizes, wishes, holdable - need, dtype_bytes=4, prefer_one_pass=True)
        reasons = [f"{precision} transformer ({weights / GIB:.1f} GB) on the CPU, {machine.ram_available / GIB:.1f} GB "
                   "RAM available"] + ([f"precision {precision}: {why}"] if why else [])
        reasons.append("VAE decode in one pass (fastest on the CPU)" if not framewise else
                       "VAE decode by frames: one pass would not fit in RAM")
        placement = replace(
            base, transformer_dtype=torch.bfloat16 if precision == "bf16" else torch.float32,
            transformer_precision=precision if precision in ("fp8", "gguf") else None,
            text_precision="fp8" if precision == "fp8" else None, memory="cpu", text_memory="cpu",
            vae_tiling=tiling, vae_framewise=framewise, reasons=tuple(reasons),
        )
        needs = Needs(vram=0, vram_text=0, ram=need + decode, page_cache=0, disk=_disk_for(precision, wishes, sizes))
        return Plan(placement, needs, 0)
    raise NotEnoughMemory(
        f"The models do not fit in this computer's RAM even in fp8 ({'; '.join(tried)} needed, "
        f"{holdable / GIB:.1f} GB can be allocated). Close other programs, "
        + ("enlarge the Windows pagefile (Settings > System > About > Advanced system settings > Performance > "
           "Virtual memory)" if machine.windows else "add swap space")
        + ", or run on an NVIDIA GPU."
    )


def _gpu_advice(wishes: Wishes, machine: Machine, sizes: Sizes, keep: int, tried: list[str]) -> str:
    """What to change when nothing fits, in the user's terms."""
    smallest = min(_in_flight(sizes, p) for p in ("fp8", "bf16"))
    lines = [f"Not enough memory to run FramePack on {machine.gpu_name or 'this GPU'} with these settings."]
    if smallest + keep > machine.vram_free:
        small_act = transformer_activation_bytes(sizes, 256, 448, 5)
        small_need = smallest + effective_keep_free(0, machine.vram_total, small_act)
        lines.append(
            f"Even streaming the model block by block needs about {(smallest + keep) / GIB:.1f} GB of free GPU memory "
            f"at {wishes.height}x{wishes.width} with latent window {wishes.window} ({keep / GIB:.1f} GB of it for the "
            f"activations and kept free); {machine.vram_free / GIB:.1f} GB are free."
        )
        if small_need <= machine.vram_free:
            lines.append("Choose a smaller resolution class (480 or 320) or a smaller latent window, or close other "
                         "programs that use the GPU.")
        else:
            lines.append(f"Even at the 320 class with latent window 5 it needs {small_need / GIB:.1f} GB: close other "
                         "programs that use the GPU, or use a GPU with more memory.")
    else:
        lines.append(
            f"The GPU is large enough, but RAM is not: {machine.holdable / GIB:.1f} GB can be allocated. Close other "
            "programs, " + ("enlarge the Windows pagefile (Settings > System > About > Advanced system settings > "
                            "Performance > Virtual memory)" if machine.windows else "add swap space")
            + ", or choose precision fp8."
        )
    return " ".join(lines) + " Tried: " + "; ".join(tried) + "."
