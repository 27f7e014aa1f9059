"""Models kept between jobs, placed where the memory plan says, and the prompt-embedding caches.

The window runs many jobs in one process: reloading a 26 GB transformer for each would be
absurd, so a `ModelSession` keeps what the last job loaded when the next one needs the same thing.
Text encoders are the exception: they are loaded only when a prompt is in neither cache (this
session's memory, then the disk cache of earlier runs), and freed right after encoding, so the
15 GB Llama never stays resident next to the transformer.

A `Placement` (made by `models/policy.py`) says where and how each model runs: device and dtypes
(what the runner reads), the precision of the heavy parts, and the memory mode: everything on the
device, model offloading (one model on the GPU at a time) or group offloading (blocks streamed
to the GPU), plus how the VAE decodes. The session applies it when it loads a model.
"""
from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from .conditioning import PromptEmbeds, encode_prompt
from .models import loader
from .models.placement import Placement
from .speed import enable_fp8, set_compiled

log = logging.getLogger(__name__)

DEFAULT_CACHE = "default"


class ModelSession:
    """Loaded models and prompt embeddings, kept between jobs.

    `prompt_cache_dir`: where prompt embeddings of earlier runs are kept ("default": the app's
    data folder; None: no disk cache).
    """

    def __init__(self, prompt_cache_dir: Path | str | None = DEFAULT_CACHE) -> None:
        from .models.prompt_cache import PromptCache

        self._models: dict[tuple, Any] = {}
        self._prompts: dict[tuple, PromptEmbeds] = {}
        self._gpu_share = None
        if prompt_cache_dir == DEFAULT_CACHE:
            from .models.store import prompt_cache_dir as default_dir

            prompt_cache_dir = default_dir()
        self.prompt_cache = PromptCache(Path(prompt_cache_dir)) if prompt_cache_dir is not None else None
        self.text_encoder_loads = 0
        self.transformer_loads = 0

    def _get(self, key: tuple, load: Callable[[], Any]) -> Any:
        if key not in self._models:
            stale = [k for k in self._models if k[0] == key[0]]
            for k in stale:
                self._drop(k)
            if stale:
                free_memory()
            self._models[key] = load()
        return self._models[key]

    def _drop(self, key: tuple) -> None:
        model = self._models.pop(key)
        if self._gpu_share is not None:
            self._gpu_share.remove(model if not hasattr(model, "model") else model.model)

    def _share(self, place: Placement, model):
        """Model offloading: register `model` with the session's one-on-the-GPU group."""
        from .models.offload import OneOnGpu

        if self._gpu_share is None or self._gpu_share.device != place.device:
            self._gpu_share = OneOnGpu(place.device)
        return self._gpu_share.add(model)

    def transformer(self, models_dir: Path, variant: str, place: Placement, loras: tuple = ()):
        """The transformer of `variant` in `place`, carrying exactly the LoRA set `loras` (LoraRef records).

        LoRA hook (models/lora.py): adapters are set on the loaded model, so a new set or weight reuses
        it; only where the set must be merged into the weights (fp8 compute) is the set part of the key.
        """
        from .models.lora import apply_loras, merge_key

        merged = merge_key(place, loras)
        key = ("transformer", str(models_dir), variant, str(place.device), place.transformer_dtype,
               place.transformer_precision, place.memory, place.offload, place.fp8_compute, merged)
        model = self._get(key, lambda: self._load_transformer(models_dir, variant, place, loras if merged else ()))
        if not merged:
            apply_loras(model, loras, place.transformer_dtype)
        set_compiled(model, place.device, place.compile)
        return model

    def _load_transformer(self, models_dir: Path, variant: str, place: Placement, merged_loras: tuple = ()):
        """Load, then merge a LoRA set that cannot stay an adapter, then fp8 (before offloading hooks
        see the layers), then offloading. Compiling comes after (`set_compiled`), so the compiled graphs
        hold the fp8 layers."""
        from .models.lora import merge_loras
        from .models.offload import group_offload

        self.transformer_loads += 1
        on_device = not place.offloaded
        # fp8 compute quantises the bf16 weights layer by layer on the GPU, so the whole bf16
        # model never has to fit there: it is loaded (memory-mapped) on the CPU first.
        model = loader.load_transformer(
            models_dir, variant, place.device if on_device and not place.fp8_compute else "cpu",
            place.transformer_dtype, precision=place.transformer_precision, prepared_root=place.prepared_root,
        )
        if merged_loras:
            merge_loras(model, merged_loras, place.transformer_dtype)
        if place.fp8_compute:
            enable_fp8(model, place.device, keep_on=place.device if on_device else torch.device("cpu"))
            if on_device:
                model.to(place.device)
        if place.memory == "group_offload":
            group_offload(model, place.device, place.offload, keep_first_block=True)
        elif place.memory == "model_offload":
            self._share(place, model)
        return model

    def vae(self, models_dir: Path, place: Placement):
        from .models.offload import set_vae_decoding

        key = ("vae", str(models_dir), str(place.device), place.vae_dtype, place.memory == "model_offload")
        vae = self._get(key, lambda: self._load_shared(place, lambda device: loader.load_vae(models_dir, device, place.vae_dtype)))
        set_vae_decoding(vae, place.vae_tiling, place.vae_framewise)
        return vae

    def image_encoder(self, models_dir: Path, place: Placement):
        key = ("image_encoder", str(models_dir), str(place.device), place.image_dtype, place.memory == "model_offload")
        if not place.keep_image_encoder:
            for stale in [k for k in self._models if k[0] == "image_encoder"]:
                self._drop(stale)
            free_memory()
            return loader.load_image_encoder(models_dir, place.device, place.image_dtype)
        return self._get(key, lambda: self._load_shared(
            place, lambda device: loader.load_image_encoder(models_dir, device, place.image_dtype)))

    def _load_shared(self, place: Placement, load: Callable[[Any], Any]):
        if place.memory != "model_offload":
            return load(place.device)
        loaded = load("cpu")
        self._share(place, loaded.model if hasattr(loaded, "model") else loaded)
        return loaded

    def prompt_embeds(self, models_dir: Path, prompts: list[str], place: Placement) -> dict[str, PromptEmbeds]:
        """Each prompt's embeddings: from memory, else the disk cache, else the text encoders.

        The text encoders load once for all prompts that are in neither cache, and are freed
        right after; with model offloading the GPU is emptied for them first.
        """
        from .models.prompt_cache import encoders_fingerprint

        precision = place.text_precision or str(place.text_dtype).removeprefix("torch.")
        fingerprint = encoders_fingerprint(models_dir) if self.prompt_cache else None
        ident = (str(models_dir), precision, place.device.type)
        wanted = list(dict.fromkeys(prompts))
        for p in wanted:
            if (ident, p) not in self._prompts and self.prompt_cache is not None:
                cached = self.prompt_cache.get(self.prompt_cache.key(fingerprint, p, precision, place.device.type))
                if cached is not None:
                    self._prompts[(ident, p)] = cached
        missing = [p for p in wanted if (ident, p) not in self._prompts]
        if missing:
            self._encode(models_dir, missing, place, ident, fingerprint, precision)
        return {p: self._prompts[(ident, p)] for p in prompts}

    def _encode(self, models_dir: Path, prompts: list[str], place: Placement, ident: tuple, fingerprint, precision):
        from .models.offload import Offload, group_offload

        if self._gpu_share is not None:
            self._gpu_share.evict()
        offloaded = place.text_memory == "group_offload"
        enc = loader.load_text_encoders(
            models_dir, "cpu" if offloaded else place.device, place.text_dtype,
            precision=place.text_precision, prepared_root=place.prepared_root,
        )
        self.text_encoder_loads += 1
        if offloaded:
            group_offload(enc.llama, place.device, Offload(use_stream=True, pinned=False), keep_first_block=False)
            enc.clip.to(place.device)
        try:
            for p in prompts:
                embeds = encode_prompt(enc.llama, enc.llama_tokenizer, enc.clip, enc.clip_tokenizer, p)
                self._prompts[(ident, p)] = embeds
                if self.prompt_cache is not None:
                    self.prompt_cache.put(self.prompt_cache.key(fingerprint, p, precision, place.device.type), embeds, p)
        finally:
            del enc
            free_memory()

    def release(self) -> None:
        self._models.clear()
        self._gpu_share = None
        free_memory()


_collect: Callable[[], Any] = gc.collect


def set_collector(collect: Callable[[], Any] | None) -> None:
    """Who runs the cyclic garbage collection that frees dropped models (None: `gc.collect` here).

    A model dropped between phases (the text encoders after encoding, a transformer replaced by
    another) often sits in reference cycles through its hooks, so only a collection frees its
    memory. The window runs the engine in a worker thread, and a collection there that meets dead
    Qt objects crashes PySide; so the window installs a collector that runs in the GUI thread.
    """
    global _collect
    _collect = collect or gc.collect


def free_memory() -> None:
    _collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
