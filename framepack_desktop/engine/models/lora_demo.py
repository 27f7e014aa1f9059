"""Small LoRAs for a transformer, written in every format the app reads, with the same effect in each.

`models demo` writes them for the demo transformer so the whole LoRA path (detection, conversion,
adapters, the window's panel) is tried without a download; the tests use them to check that the
formats give the same adapted model. One LoRA is drawn in HunyuanVideo's layout (fused q/k/v and
single-block projections, whose parts share their down matrix) and then spelled four ways.
"""
from __future__ import annotations

from pathlib import Path

from .lora_formats import DIFFUSERS, HUNYUAN, KOHYA_DIFFUSERS, KOHYA_HUNYUAN, KOHYA_PREFIX, model_layers

FORMATS = (DIFFUSERS, HUNYUAN, KOHYA_HUNYUAN, KOHYA_DIFFUSERS)
DEMO_FILES = {fmt: f"demo-{fmt}.safetensors" for fmt in FORMATS}


def draw_lora(config: dict, seed: int = 0, rank: int = 4, alpha: float = 2.0, strength: float = 1.0) -> dict:
    """HunyuanVideo layer name -> (down, up, alpha) for every block layer of the model of `config`.

    `strength` scales the up matrices: at 1 one call of the demo transformer moves by about 10 % (mean,
    relative), a visible change of its output that is still far from noise of its own.
    """
    import torch

    layers = model_layers(config)
    gen = torch.Generator().manual_seed(seed)
    drawn = {}
    for name, pieces in layers.hunyuan.items():
        if not name.startswith(("double_blocks.", "single_blocks.")):
            continue
        width = layers.linears[pieces[0].target][1]
        out = max((end for p in pieces for _, end in p.rows), default=layers.linears[pieces[0].target][0])
        down = torch.randn(rank, width, generator=gen) / width ** 0.5
        up = torch.randn(out, rank, generator=gen) * strength / rank ** 0.5
        drawn[name] = (down, up, alpha)
    return drawn


def spell(drawn: dict, config: dict, fmt: str) -> dict:
    """The tensors of `drawn` under the keys of `fmt` (kohya keeps alpha as a tensor; the others bake it in)."""
    import torch

    layers = model_layers(config)
    out = {}
    for name, (down, up, alpha) in drawn.items():
        scale = alpha / down.shape[0]
        if fmt == HUNYUAN:
            out[f"diffusion_model.{name}.lora_A.weight"] = down
            out[f"diffusion_model.{name}.lora_B.weight"] = up * scale
        elif fmt == KOHYA_HUNYUAN:
            key = KOHYA_PREFIX + name.replace(".", "_")
            out.update({f"{key}.lora_down.weight": down, f"{key}.lora_up.weight": up, f"{key}.alpha": torch.tensor(alpha)})
        else:
            for piece in layers.hunyuan[name]:
                rows = torch.cat([up[a:b] for a, b in piece.rows]) if piece.rows else up
                if fmt == DIFFUSERS:
                    out[f"transformer.{piece.target}.lora_A.weight"] = down
                    out[f"transformer.{piece.target}.lora_B.weight"] = rows * scale
                else:
                    key = KOHYA_PREFIX + piece.target.replace(".", "_")
                    out.update({f"{key}.lora_down.weight": down, f"{key}.lora_up.weight": rows,
                                f"{key}.alpha": torch.tensor(alpha)})
    return {k: v.contiguous().clone() for k, v in out.items()}


def write_lora(path: Path, drawn: dict, config: dict, fmt: str) -> Path:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(spell(drawn, config, fmt), str(path), metadata={"format": "pt"})
    return path


def write_demo_loras(folder: Path, config: dict, seed: int = 0) -> list[Path]:
    """The demo LoRA in each format into `folder` (files already there are left as they are)."""
    drawn = draw_lora(config, seed)
    written = []
    for fmt, name in DEMO_FILES.items():
        path = folder / name
        if not path.exists():
            write_lora(path, drawn, config, fmt)
        written.append(path)
    return written
