"""Prompt embeddings kept on disk, so the 15 GB Llama is not loaded again for a prompt already seen.

Encoding a prompt needs both text encoders in memory for a second of work; loading them takes far
longer. A prompt's embeddings (a few MB) are stored under a key that names everything they depend
on: the prompt, the text encoders' files (names, sizes, modification times), the precision and
device type they ran in, and this format's version. Changing any of these gives another key, so
a stale entry is never used; it just ages out. Entries are safetensors files written atomically;
the least recently used go when the folder grows beyond its budget.

A cache that cannot be written (full disk, read-only folder) is not an error: the job goes on and
the prompt is encoded again next time.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..atomic import atomic_path
from ..errors import OutputNotWritable
from .layout import locate, weight_files

if TYPE_CHECKING:
    from ..conditioning import PromptEmbeds

log = logging.getLogger(__name__)

FORMAT = 1
MAX_BYTES = 512 * 1024 ** 2
TEXT_PARTS = ("text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2")


def encoders_fingerprint(models_dir: Path) -> list:
    """What identifies the text encoders on disk: their weight and tokenizer files' stats."""
    out = []
    for name in TEXT_PARTS:
        folder = locate(models_dir, name)
        files = weight_files(models_dir, name) or sorted(p for p in folder.glob("*") if p.is_file())
        for path in files:
            stat = path.stat()
            out.append([name, path.name, stat.st_size, stat.st_mtime_ns])
    return out


class PromptCache:
    def __init__(self, folder: Path, max_bytes: int = MAX_BYTES):
        self.folder = Path(folder)
        self.max_bytes = max_bytes

    def key(self, fingerprint: list, prompt: str, precision: str, device_type: str) -> str:
        from ..conditioning import LLAMA_TEMPLATE, MAX_PROMPT_TOKENS

        material = json.dumps(
            [FORMAT, fingerprint, precision, device_type, LLAMA_TEMPLATE, MAX_PROMPT_TOKENS, prompt],
            ensure_ascii=False,
        )
        return hashlib.sha256(material.encode("utf-8")).hexdigest()[:40]

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.safetensors"

    def get(self, key: str) -> PromptEmbeds | None:
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        from ..conditioning import PromptEmbeds

        path = self.path(key)
        if not path.is_file():
            return None
        try:
            data = load_file(str(path))
            embeds = PromptEmbeds(llama=data["llama"], mask=data["mask"], pooled=data["pooled"])
        except (SafetensorError, OSError, KeyError) as exc:
            log.warning("ignoring a damaged prompt cache entry %s: %s", path, exc)
            path.unlink(missing_ok=True)
            return None
        os.utime(path)
        return embeds

    def put(self, key: str, embeds: PromptEmbeds, prompt: str) -> None:
        from safetensors.torch import save_file

        tensors = {"llama": embeds.llama.contiguous(), "mask": embeds.mask.contiguous(), "pooled": embeds.pooled.contiguous()}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with atomic_path(self.path(key)) as temp:
                save_file(tensors, str(temp), metadata={"prompt": prompt[:1000]})
            self._trim()
        except (OSError, OutputNotWritable) as exc:
            log.warning("could not cache the prompt embeddings in %s: %s", self.folder, exc)

    def _trim(self) -> None:
        entries = sorted(self.folder.glob("*.safetensors"), key=lambda p: p.stat().st_mtime, reverse=True)
        total = 0
        for path in entries:
            total += path.stat().st_size
            if total > self.max_bytes:
                path.unlink(missing_ok=True)
