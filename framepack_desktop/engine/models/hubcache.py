"""Finding the public repos in a Hugging Face hub cache, so nobody downloads 40 GB twice.

Anyone who ran the original FramePack, diffusers or ComfyUI's downloader may already hold the
repos in a hub cache: `<cache>/models--<org>--<repo>/snapshots/<commit>/<files>`, where the files
are links into `blobs/` (or copies, on Windows without developer mode). A snapshot is a folder in
exactly the public repo's layout, so once found it serves like `<models>/<org>/<repo>`.

The cache is located the way huggingface_hub does it (HF_HUB_CACHE, else HF_HOME/hub, else
XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub), read from the environment at call
time rather than at import, so a changed environment and the tests see the current value. The
original FramePack sets HF_HOME to its own `hf_download` folder: point `--models` at that folder
(or its `hub/`) and it is used as it is. Paths only: no torch, no huggingface_hub import.
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_PREFIX = "models--"


def default_hub_cache() -> Path:
    """The hub cache folder huggingface_hub would use in this environment (it may not exist)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def repo_folder_name(repo_id: str) -> str:
    return REPO_PREFIX + repo_id.replace("/", "--")


def cache_root(folder: Path) -> Path | None:
    """`folder` itself when it is a hub cache, its `hub/` when it is an HF_HOME; else None."""
    folder = Path(folder)
    for candidate in (folder, folder / "hub"):
        if candidate.is_dir() and any(p.name.startswith(REPO_PREFIX) for p in candidate.iterdir()):
            return candidate
    return None


def snapshots(cache: Path, repo_id: str) -> list[Path]:
    """The repo's snapshot folders in `cache`, the one `refs/main` names first, then newest first."""
    repo = Path(cache) / repo_folder_name(repo_id)
    folder = repo / "snapshots"
    if not folder.is_dir():
        return []
    found = sorted((p for p in folder.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    main = repo / "refs" / "main"
    if main.is_file():
        commit = main.read_text(encoding="utf-8").strip()
        found.sort(key=lambda p: p.name != commit)
    return found
