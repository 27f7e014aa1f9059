"""The model store: finding components in a Hugging Face hub cache, listing, where derived files go."""
import hashlib
import os
import shutil
from pathlib import Path

import pytest
import torch

from framepack_desktop.engine.models import hubcache, loader
from framepack_desktop.engine.models.layout import (
    COMPONENT_NAMES,
    DEMO_MARKER,
    component_dir,
    locate,
    missing_components,
    repo_candidates,
)
from framepack_desktop.engine.models.store import inventory, prepared_root, to_download

REPOS = (
    "lllyasviel/FramePackI2V_HY",
    "lllyasviel/FramePack_F1_I2V_HY_20250503",
    "hunyuanvideo-community/HunyuanVideo",
    "lllyasviel/flux_redux_bfl",
)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def make_hub_cache(models: Path, cache: Path, repos=REPOS, commit="c0ffee" * 6 + "abcd") -> Path:
    """The demo repos in huggingface_hub's cache layout: blobs by checksum, snapshot links to them."""
    for repo in repos:
        root = cache / hubcache.repo_folder_name(repo)
        snapshot = root / "snapshots" / commit
        for path in sorted((models / repo).rglob("*")):
            if not path.is_file():
                continue
            data = path.read_bytes()
            blob = root / "blobs" / hashlib.sha256(data).hexdigest()
            blob.parent.mkdir(parents=True, exist_ok=True)
            blob.write_bytes(data)
            link = snapshot / path.relative_to(models / repo)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(os.path.relpath(blob, link.parent))
        (root / "refs").mkdir(parents=True, exist_ok=True)
        (root / "refs" / "main").write_text(commit)
    return cache


def test_components_are_found_in_the_default_hub_cache(demo_models, tmp_path, monkeypatch):
    cache = make_hub_cache(demo_models, tmp_path / "hf" / "hub")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    empty = tmp_path / "models"
    empty.mkdir()
    assert missing_components(empty, "original") == []
    vae = locate(empty, "vae")
    assert vae.is_relative_to(cache) and vae.parts[-3:-1] == ("snapshots", "c0ffee" * 6 + "abcd")
    with torch.no_grad():
        model = loader.load_vae(empty, "cpu", torch.float32)
    reference = loader.load_vae(demo_models, "cpu", torch.float32)
    assert torch.equal(model.decoder.conv_out.conv.weight, reference.decoder.conv_out.conv.weight)


def test_hf_home_is_followed_when_hf_hub_cache_is_unset(demo_models, tmp_path, monkeypatch):
    make_hub_cache(demo_models, tmp_path / "home" / "hub")
    monkeypatch.delenv("HF_HUB_CACHE")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    assert hubcache.default_hub_cache() == tmp_path / "home" / "hub"
    assert missing_components(tmp_path / "elsewhere", "f1") == []


def test_the_models_folder_itself_may_be_a_hub_cache(demo_models, tmp_path):
    """The original FramePack's `hf_download` folder (an HF_HOME) works as --models directly."""
    home = tmp_path / "hf_download"
    make_hub_cache(demo_models, home / "hub")
    assert missing_components(home, "original") == []
    assert locate(home, "tokenizer").is_relative_to(home / "hub")
    assert prepared_root(home) != home / "prepared"  # a shared cache is never written to


def test_own_folder_wins_and_an_incomplete_copy_falls_back_to_the_cache(demo_models, tmp_path, monkeypatch):
    cache = make_hub_cache(demo_models, tmp_path / "hub")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    own = tmp_path / "models"
    shutil.copytree(demo_models / "lllyasviel", own / "lllyasviel")
    assert locate(own, "image_encoder") == component_dir(own, "image_encoder")
    (component_dir(own, "image_encoder") / "model.safetensors").unlink()
    assert locate(own, "image_encoder").is_relative_to(cache)


def test_main_ref_is_preferred_over_other_snapshots(demo_models, tmp_path):
    cache = make_hub_cache(demo_models, tmp_path / "hub", repos=REPOS[2:3], commit="a" * 40)
    make_hub_cache(demo_models, cache, repos=REPOS[2:3], commit="b" * 40)
    (cache / hubcache.repo_folder_name(REPOS[2]) / "refs" / "main").write_text("a" * 40)
    assert [p.name for p in hubcache.snapshots(cache, REPOS[2])][0] == "a" * 40


def test_a_dangling_blob_link_counts_as_missing(demo_models, tmp_path, monkeypatch):
    """An interrupted hub download leaves links whose blob is incomplete or gone."""
    cache = make_hub_cache(demo_models, tmp_path / "hub", repos=REPOS[2:3])
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    link = next(cache.rglob("vae/diffusion_pytorch_model.safetensors"))
    link.resolve().unlink()
    assert "vae" in missing_components(tmp_path / "models", "original")


def test_a_demo_set_never_borrows_from_the_hub_cache(demo_models, tmp_path, monkeypatch):
    cache = make_hub_cache(demo_models, tmp_path / "hub")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    demo = tmp_path / "demo"
    demo.mkdir()
    (demo / DEMO_MARKER).write_text("demo")
    assert repo_candidates(demo, REPOS[0]) == [demo / REPOS[0]]
    assert missing_components(demo, "original") == list(COMPONENT_NAMES)


def test_inventory_lists_sizes_and_what_is_left_to_download(demo_models, tmp_path, monkeypatch):
    cache = make_hub_cache(demo_models, tmp_path / "hub", repos=REPOS[3:])
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    models = tmp_path / "models"
    shutil.copytree(demo_models / REPOS[0], models / REPOS[0])
    entries = {(e.name, e.variant): e for e in inventory(models)}
    assert len(entries) == len(COMPONENT_NAMES) + 1
    original = entries[("transformer", "original")]
    assert original.present and not original.in_hub_cache
    assert original.size == sum(p.stat().st_size for p in (models / REPOS[0]).rglob("*") if p.is_file())
    siglip = entries[("image_encoder", "original")]
    assert siglip.present and siglip.in_hub_cache and siglip.where.is_relative_to(cache)
    vae = entries[("vae", "original")]
    assert not vae.present and vae.size == 0 and vae.missing
    assert to_download(list(entries.values())) == sum(e.expected for e in entries.values() if not e.present)
    assert to_download(list(entries.values())) > 40e9


def test_prepared_forms_live_beside_writable_models_else_in_the_app_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("FRAMEPACK_DESKTOP_HOME", str(tmp_path / "app"))
    mine = tmp_path / "models"
    mine.mkdir()
    assert prepared_root(mine) == mine / "prepared"
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if Path(path) == read_only else real_access(path, mode))
    assert prepared_root(read_only) == tmp_path / "app" / "models" / "prepared"
