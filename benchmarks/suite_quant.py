"""The GPU suite's quantized transformers: int8 and nf4 (quantized at load) and a GGUF Q8_0 file,
each loaded through the engine's loader at a smaller depth (full width) and called on the same
inputs as the bf16 model of that depth, whose output gives the quality figure."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import torch

from framepack_desktop.engine import speed

from .meter import sync
from .suite_rig import Rig, Unavailable


def _quant_models(rig: Rig) -> Path:
    """A models folder holding a reduced-depth transformer in the diffusers layout (written once)."""
    from framepack_desktop.engine.models.layout import component_dir

    root = rig.work / "quant-models"
    folder = component_dir(root, "transformer")
    if not (folder / "config.json").is_file():
        model = rig.build_transformer(rig.scale.quant_transformer)
        model.save_pretrained(folder, safe_serialization=True)
        del model
    return root


def _quant_inputs(rig: Rig, model) -> dict:
    s, dtype = rig.scale, rig.place.transformer_dtype
    return speed.random_inputs(model.config, rig.device, dtype, s.height // 8, s.width // 8, s.window,
                               text_tokens=s.text_tokens, image_tokens=s.image_tokens)


def quantized(precision: str) -> Callable[[Rig], dict]:
    def run_quantized(rig: Rig) -> dict:
        from framepack_desktop.engine.models import loader
        from framepack_desktop.engine.models.errors import QuantizationUnavailable
        from framepack_desktop.engine.models.quantize import Precision, require_backend

        root = _quant_models(rig)
        if precision == "gguf":
            root = _gguf_models(rig, root)
        else:
            try:
                require_backend(Precision(precision), rig.device)
            except QuantizationUnavailable as e:
                raise Unavailable(str(e)) from e
        dtype = rig.place.transformer_dtype
        reference = loader.load_transformer(rig.work / "quant-models", "original", rig.device, dtype)
        inputs = _quant_inputs(rig, reference)
        with torch.no_grad():
            expected = reference(**inputs, return_dict=False)[0].float()
        del reference
        start = time.perf_counter()
        model = loader.load_transformer(root, "original", rig.device, dtype,
                                        precision=None if precision == "gguf" else precision)
        sync(rig.device)
        load_s = time.perf_counter() - start
        times = []
        with torch.no_grad():
            for _ in range(2):
                sync(rig.device)
                t = time.perf_counter()
                value = model(**inputs, return_dict=False)[0].float()
                sync(rig.device)
                times.append(time.perf_counter() - t)
        error = float((value - expected).norm() / expected.norm())
        return {"blocks": rig.scale.quant_transformer["num_layers"] + rig.scale.quant_transformer["num_single_layers"],
                "load_s": load_s, "first_call_s": times[0], "call_s": times[1], "relative_error_vs_bf16": error}
    return run_quantized


def _gguf_models(rig: Rig, source: Path) -> Path:
    """A models folder with only the transformer's config and a Q8_0 GGUF of the reduced model."""
    import shutil

    import gguf
    from safetensors.torch import load_file

    from framepack_desktop.engine.models.layout import CHECKPOINTS_DIR, component_dir

    root = rig.work / "gguf-models"
    path = root / CHECKPOINTS_DIR / "original" / "suite-Q8_0.gguf"
    if path.is_file():
        return root
    folder = component_dir(root, "transformer")
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(component_dir(source, "transformer") / "config.json", folder / "config.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(path), arch="framepack")
    for file in sorted(component_dir(source, "transformer").glob("*.safetensors")):
        for name, tensor in load_file(file).items():
            array = tensor.float().numpy()
            if tensor.ndim == 2 and tensor.shape[1] % 32 == 0:
                blocks = gguf.quants.quantize(array, gguf.GGMLQuantizationType.Q8_0)
                writer.add_tensor(name, blocks, raw_shape=blocks.shape, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
            else:
                writer.add_tensor(name, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return root
