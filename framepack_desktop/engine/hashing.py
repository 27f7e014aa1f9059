"""The sha256 of a file's bytes, read in blocks (model files are many GB): one function for the
model downloads and checks, the input images a job pins, LoRA files found again by content, and
the fingerprint of saved sections. Imports nothing of the engine, so every layer can use it."""
from __future__ import annotations

import hashlib
import os

BLOCK = 1 << 20


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()
