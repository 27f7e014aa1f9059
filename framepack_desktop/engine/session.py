"""Models kept between jobs, and the prompt-embedding cache.

The window runs many jobs in one process: reloading a 26 GB transformer for each would be
absurd, so a `ModelSession` keeps what the last job loaded when the next one needs the same thing.
Text encoders are the exception: they are loaded only when a prompt is not in the cache yet, and
freed right after encoding, so the 15 GB Llama never stays resident next to the transformer.
"""
from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .conditioning import PromptEmbeds, encode_prompt
from .models import loader


@dataclass(frozen=True)
class Placement:
    """Where and in which precision each model runs."""
    device: torch.device
    transformer_dtype: torch.dtype
    text_dtype: torch.dtype
    vae_dtype: torch.dtype
    image_dtype: torch.dtype


class ModelSession:
    def __init__(self) -> None:
        self._models: dict[tuple, Any] = {}
        self._prompts: dict[tuple[str, str], PromptEmbeds] = {}

    def _get(self, key: tuple, load: Callable[[], Any]) -> Any:
        if key not in self._models:
            stale = [k for k in self._models if k[0] == key[0]]
            for k in stale:
                del self._models[k]
            free_memory()
            self._models[key] = load()
        return self._models[key]

    def transformer(self, models_dir: Path, variant: str, place: Placement):
        key = ("transformer", str(models_dir), variant, str(place.device), place.transformer_dtype)
        return self._get(key, lambda: loader.load_transformer(models_dir, variant, place.device, place.transformer_dtype))

    def vae(self, models_dir: Path, place: Placement):
        key = ("vae", str(models_dir), str(place.device), place.vae_dtype)
        return self._get(key, lambda: loader.load_vae(models_dir, place.device, place.vae_dtype))

    def image_encoder(self, models_dir: Path, place: Placement):
        key = ("image_encoder", str(models_dir), str(place.device), place.image_dtype)
        return self._get(key, lambda: loader.load_image_encoder(models_dir, place.device, place.image_dtype))

    def prompt_embeds(self, models_dir: Path, prompts: list[str], place: Placement) -> dict[str, PromptEmbeds]:
        missing = [p for p in dict.fromkeys(prompts) if (str(models_dir), p) not in self._prompts]
        if missing:
            enc = loader.load_text_encoders(models_dir, place.device, place.text_dtype)
            try:
                for p in missing:
                    self._prompts[(str(models_dir), p)] = encode_prompt(
                        enc.llama, enc.llama_tokenizer, enc.clip, enc.clip_tokenizer, p
                    )
            finally:
                del enc
                free_memory()
        return {p: self._prompts[(str(models_dir), p)] for p in prompts}

    def release(self) -> None:
        self._models.clear()
        free_memory()


def free_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
