"""Where the optional finishing models live, and whether their files are intact, without torch.

Public names and containers, so a downloaded file works when dropped in: RIFE as
`<models>/rife/flownet.pkl` (Practical-RIFE's `train_log/flownet.pkl`), upscalers in
`<models>/upscale_models/` (the folder ComfyUI and chaiNNer users already keep), e.g.
`RealESRGAN_x4plus.pth`. `models verify` checks the ones present the way it checks the others,
from the container alone: a torch file is a zip archive whose members carry CRCs, a safetensors
file has a header that must match its size. Missing ones are no problem: they are optional.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

from ..models.safetensors_io import DamagedFile, read_header

RIFE_FILE = Path("rife") / "flownet.pkl"
UPSCALE_DIR = "upscale_models"
MODEL_SUFFIXES = (".pth", ".pt", ".pkl", ".safetensors")


def default_rife(models_dir: Path) -> Path:
    return Path(models_dir) / RIFE_FILE


def default_upscaler(models_dir: Path, scale: int) -> Path:
    return Path(models_dir) / UPSCALE_DIR / f"RealESRGAN_x{scale}plus.pth"


def present_files(models_dir: Path) -> list[Path]:
    """The finishing model files in a models folder."""
    rife = default_rife(models_dir)
    upscalers = Path(models_dir) / UPSCALE_DIR
    found = sorted(p for p in upscalers.iterdir() if p.suffix.lower() in MODEL_SUFFIXES) if upscalers.is_dir() else []
    return ([rife] if rife.is_file() else []) + found


def file_problem(path: Path) -> str | None:
    """What is wrong with a model file's container, or None when it is intact (or cannot be told)."""
    if path.suffix.lower() == ".safetensors":
        try:
            read_header(path)
        except DamagedFile as exc:
            return str(exc)
        return None
    with open(path, "rb") as f:
        magic = f.read(2)
    if magic == b"\x80\x02":      # the legacy torch format has no checksums to test
        return None
    if magic != b"PK":
        return f"{path} is not a model file (neither a torch file nor safetensors)"
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError) as exc:    # a damaged directory garbles names
        return f"{path} is cut off or damaged ({exc}); download it again"
    return f"{path} is damaged (member {bad} fails its checksum); download it again" if bad else None
