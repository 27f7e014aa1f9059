"""Loading model components from a models directory, one part at a time.

Each part loads on its own so the runner can encode the prompt and the image, free those
encoders, and only then bring in the transformer: peak memory is the biggest part, not the sum.
Weights are safetensors, memory-mapped and placed on the target device by `from_pretrained`
(low-CPU-memory loading), never first gathered as one copy in RAM.

Every file is checked before a library sees it, so what the user gets for a missing folder or a
truncated download is a `ModelsMissing` that names the file and the command that fixes it, not a
library traceback. Precision choices beyond a plain dtype (fp8, int8, nf4) hook in at
`load_pretrained`, which forwards extra keyword arguments such as a quantization config.
torch, diffusers and transformers are imported inside the functions, so resolving the models
folder (which the CLI does first) does not cost their import time.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ModelsMissing
from .demo import build_demo_models
from .layout import component, locate, missing_components, missing_files, missing_in_folder, weight_files

if TYPE_CHECKING:
    import torch
    from diffusers import AutoencoderKLHunyuanVideo, HunyuanVideoFramepackTransformer3DModel
    from transformers import (
        CLIPTextModel,
        CLIPTokenizer,
        LlamaModel,
        PreTrainedTokenizerFast,
        SiglipImageProcessor,
        SiglipVisionModel,
    )

DEMO_SPEC = "demo"
FIX_HINT = (
    "Run `framepack-desktop models download` to get the models, "
    "or `framepack-desktop models demo` for the tiny demo set."
)


@dataclass
class TextEncoders:
    """The two prompt encoders with their tokenizers (HunyuanVideo's Llama and CLIP-L)."""

    llama: LlamaModel
    llama_tokenizer: PreTrainedTokenizerFast
    clip: CLIPTextModel
    clip_tokenizer: CLIPTokenizer


@dataclass
class ImageEncoder:
    """SigLIP vision tower and its preprocessing, for the start (and end) image embeds."""

    model: SiglipVisionModel
    processor: SiglipImageProcessor


def demo_models_dir() -> Path:
    """Where `--models demo` lives: the app's data folder (FRAMEPACK_DESKTOP_HOME respected), shared by every job."""
    from ...settings import AppPaths

    return AppPaths.default().data_dir / "models-demo"


def resolve_models_dir(spec: str) -> Path:
    """Turn `Job.models` into a folder: "demo" is the demo set, built on first use; else a path."""
    if spec.strip().lower() == DEMO_SPEC:
        return build_demo_models(demo_models_dir())
    return Path(spec).expanduser()


def require_models(models_dir: Path, variant: str = "original") -> None:
    """Fail fast, before anything loads, when a generation with `variant` cannot run."""
    models_dir = _require_dir(models_dir)
    missing = missing_components(models_dir, variant)
    if missing:
        first = missing_files(models_dir, missing[0], variant)[0]
        raise ModelsMissing(
            f"The models in {models_dir} are incomplete: {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing (first missing file: {first}). {FIX_HINT}"
        )


def load_text_encoders(
    models_dir: Path,
    device: str | torch.device,
    dtype: torch.dtype,
    *,
    precision: str | None = None,
    prepared_root: Path | None = None,
) -> TextEncoders:
    """Both prompt encoders; the Llama in `precision` (default: plain `dtype`), see text_encoder.py."""
    from transformers import CLIPTextModel, CLIPTokenizer, PreTrainedTokenizerFast

    from .quantize import name_of
    from .text_encoder import load_llama

    return TextEncoders(
        llama=load_llama(models_dir, device, dtype, precision or name_of(dtype), prepared_root),
        # transformers 5's LlamaTokenizerFast gives other ids for this byte-level tokenizer (DESIGN.md section 3).
        llama_tokenizer=load_pretrained(PreTrainedTokenizerFast, models_dir, "tokenizer"),
        clip=load_pretrained(CLIPTextModel, models_dir, "text_encoder_2", device=device, dtype=dtype),
        clip_tokenizer=load_pretrained(CLIPTokenizer, models_dir, "tokenizer_2"),
    )


def load_image_encoder(models_dir: Path, device: str | torch.device, dtype: torch.dtype) -> ImageEncoder:
    from transformers import SiglipVisionModel

    return ImageEncoder(
        model=load_pretrained(SiglipVisionModel, models_dir, "image_encoder", device=device, dtype=dtype),
        processor=load_pretrained(_siglip_processor_class(), models_dir, "feature_extractor"),
    )


def load_vae(models_dir: Path, device: str | torch.device, dtype: torch.dtype) -> AutoencoderKLHunyuanVideo:
    from diffusers import AutoencoderKLHunyuanVideo

    return load_pretrained(AutoencoderKLHunyuanVideo, models_dir, "vae", device=device, dtype=dtype)


def load_transformer(
    models_dir: Path,
    variant: str,
    device: str | torch.device,
    dtype: torch.dtype,
    *,
    precision: str | None = None,
    prepared_root: Path | None = None,
) -> HunyuanVideoFramepackTransformer3DModel:
    """The FramePack transformer of `variant`, with its output projection kept in float32.

    `precision` (default: plain `dtype`) may be fp8, int8 or nf4, `dtype` then being the compute
    dtype; the weights come from whichever form is on disk (transformer.py). `prepared_root` is
    where quantized forms are saved for the next start.
    """
    from .quantize import name_of
    from .transformer import load

    return load(models_dir, variant, device, dtype, precision or name_of(dtype), prepared_root)


def keep_proj_out_float32(transformer: HunyuanVideoFramepackTransformer3DModel) -> None:
    """Run the final projection in float32 whatever the rest runs in, as FramePack does.

    The last linear layer maps features to the predicted velocity; doing it in bf16 costs visible
    quality. Its weights become float32 and its input is cast to float32, so the model's output
    (the velocity the sampler integrates) is float32 too, as in the original. The hook also
    restores float32 weights if a later `.to(dtype)` of the whole model turned them back.
    """
    import torch

    proj_out = transformer.proj_out
    proj_out.to(torch.float32)
    if not getattr(proj_out, "_framepack_fp32", False):
        proj_out.register_forward_pre_hook(_proj_out_in_float32)
        proj_out._framepack_fp32 = True


def _proj_out_in_float32(module, args):
    import torch

    if module.weight.dtype != torch.float32:
        module.to(torch.float32)
    return tuple(a.to(torch.float32) if torch.is_tensor(a) else a for a in args)


def load_pretrained(
    cls: type,
    models_dir: Path,
    name: str,
    variant: str = "original",
    *,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    **options: Any,
):
    """Check a component's files, then `cls.from_pretrained` its folder.

    Models (device and dtype given) are memory-mapped straight onto `device` in `dtype`;
    tokenizers and processors take neither. `options` go to `from_pretrained` unchanged: the
    place for quantization configs and other precision choices.
    """
    folder = check_component(models_dir, name, variant)
    if device is not None:
        options["device_map"] = str(device)
    if dtype is not None:
        options["torch_dtype" if cls.__module__.startswith("diffusers") else "dtype"] = dtype
    from safetensors import SafetensorError

    try:
        loaded = cls.from_pretrained(folder, **options)
    except (SafetensorError, OSError) as exc:
        raise ModelsMissing(f"Could not load {name} from {folder}: {exc}. {FIX_HINT}") from exc
    if device is not None:
        loaded.eval().requires_grad_(False)
    return loaded


def check_component(models_dir: Path, name: str, variant: str = "original") -> Path:
    """The component's folder, once its files are all there and readable; else ModelsMissing.

    JSON files must parse and weights must have an intact safetensors header that covers the
    whole file: that is what a cut-off download or a saved error page fails.
    """
    models_dir = _require_dir(models_dir)
    part = component(name, variant)
    folder = locate(models_dir, name, variant)
    missing = missing_in_folder(models_dir, name, variant)
    if missing:
        where = f"{part.repo_id}" + (f", subfolder {part.subfolder}" if part.subfolder else "")
        raise ModelsMissing(
            f"The {name} model is incomplete: {', '.join(str(p) for p in missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing ({where}). {FIX_HINT}"
        )
    for json_file in [folder / f for f in part.files if f.endswith(".json")]:
        _check_json(json_file)
    for weights in weight_files(models_dir, name, variant):
        _check_safetensors(weights)
    return folder


def _require_dir(models_dir: Path) -> Path:
    models_dir = Path(models_dir)
    if not models_dir.is_dir():
        raise ModelsMissing(f"The models folder {models_dir} does not exist. {FIX_HINT}")
    return models_dir


def _check_json(path: Path) -> None:
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelsMissing(f"{path} is damaged (not valid JSON: {exc}). Delete it, then: {FIX_HINT}") from exc


def _check_safetensors(path: Path) -> None:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt"):
            pass
    except SafetensorError as exc:
        raise ModelsMissing(
            f"{path} is damaged: truncated or not a safetensors file ({exc}). Delete it, then: {FIX_HINT}"
        ) from exc


def _siglip_processor_class():
    """The PIL SigLIP preprocessing when this transformers has it, else the plain class.

    transformers 5 splits the processor into a torchvision and a PIL backend; the PIL one is what
    FramePack's own code ran (transformers 4) and needs no torchvision.
    """
    import transformers

    return getattr(transformers, "SiglipImageProcessorPil", None) or transformers.SiglipImageProcessor
