"""Loading model components from a models directory, one part at a time.

Each part loads on its own so the runner can encode the prompt and the image, free those
encoders, and only then bring in the transformer: peak memory is the biggest part, not the sum.
Weights are safetensors, memory-mapped and placed on the target device by `from_pretrained`
(low-CPU-memory loading), never first gathered as one copy in RAM.

Every file is checked before a library sees it (`pretrained.py`, shared with `transformer.py` and
`text_encoder.py`). Precision choices beyond a plain dtype (fp8, int8, nf4) hook in at
`load_pretrained`, which forwards extra keyword arguments such as a quantization config.
torch, diffusers and transformers are imported inside the functions, so resolving the models
folder (which the CLI does first) does not cost their import time.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ModelsMissing
from ..paths import AppPaths
from .demo import build_demo_models
from .layout import (
    COMPONENT_NAMES, component, locate, missing_components, missing_files, transformer_files, weight_files,
)
from .pretrained import FIX_HINT, VERIFY_HINT, check_component, load_pretrained, require_dir  # noqa: F401 - check_component: the loaders' API
from .safetensors_io import DamagedFile, read_header, read_index
from .transformer import keep_proj_out_float32  # noqa: F401 - part of the loaders' API (benchmarks)

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
    return AppPaths.default().data_dir / "models-demo"


def resolve_models_dir(spec: str) -> Path:
    """Turn `Job.models` into a folder: "demo" is the demo set, built on first use; else a path."""
    if spec.strip().lower() == DEMO_SPEC:
        return build_demo_models(demo_models_dir())
    return Path(spec).expanduser()


def require_models(models_dir: Path, variant: str = "original") -> None:
    """Fail fast, before anything loads, when a generation with `variant` cannot run."""
    models_dir = require_dir(models_dir)
    try:
        for name in COMPONENT_NAMES:
            part = component(name, variant)
            index = locate(models_dir, name, variant) / part.index_name if part.weights else None
            if index is not None and index.is_file():
                read_index(index)
    except DamagedFile as e:
        raise ModelsMissing(f"{e}. {VERIFY_HINT}") from None
    missing = missing_components(models_dir, variant)
    if missing:
        first = missing_files(models_dir, missing[0], variant)[0]
        raise ModelsMissing(
            f"The models in {models_dir} are incomplete: {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing (first missing file: {first}). {FIX_HINT}"
        )
    try:
        for name in COMPONENT_NAMES:
            for path in (transformer_files(models_dir, variant) if name == "transformer" else []) or \
                    weight_files(models_dir, name, variant):
                read_header(path)
    except DamagedFile as e:
        raise ModelsMissing(f"{e}. {VERIFY_HINT}") from None


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


def _siglip_processor_class():
    """The PIL SigLIP preprocessing when this transformers has it, else the plain class.

    transformers 5 splits the processor into a torchvision and a PIL backend; the PIL one is what
    FramePack's own code ran (transformers 4) and needs no torchvision.
    """
    import transformers

    return getattr(transformers, "SiglipImageProcessorPil", None) or transformers.SiglipImageProcessor
