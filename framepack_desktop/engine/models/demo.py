"""The demo model set: every component at a tiny size with random weights, in the real layout.

No machine that builds or tests this project can reach a model hub, so the real loading and
generation code runs on this set instead: the same classes, the same file names and folders
(`layout.py`), the same dimension contracts between the parts, only tiny. Its videos are noise.
It is built offline in about a second and is byte-for-byte the same for a given seed.

The sizes are chosen for speed on a 2-core CPU while keeping what the engine relies on: the VAE's
8x spatial / 4x temporal compression and 16 latent channels, the transformer's (1, 2, 2) patches,
its 1x/2x/4x history embedders and image projection. Decode time is dominated by the VAE's
work at full video resolution, so the demo VAE drops its mid-block attention (quadratic in
latent positions), runs at 4 channels and keeps one resnet per decoder block
(`layers_per_block=0`: the encoder's down blocks are then bare strided convolutions).
"""
from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from ..errors import BadSettings
from .layout import DEMO_MARKER, component_dir, is_demo, missing_components

DEMO_FORMAT = 2  # 2: with the post-processing models (RIFE, ESRGAN)

LATENT_CHANNELS = 16
LLAMA_HIDDEN = 48
CLIP_HIDDEN = 24
SIGLIP_HIDDEN = 40
SIGLIP_IMAGE_SIZE = 64

TRANSFORMER_CONFIG = dict(
    in_channels=LATENT_CHANNELS,
    out_channels=LATENT_CHANNELS,
    num_attention_heads=2,
    attention_head_dim=16,
    num_layers=1,
    num_single_layers=1,
    num_refiner_layers=1,
    mlp_ratio=4.0,
    patch_size=2,
    patch_size_t=1,
    qk_norm="rms_norm",
    guidance_embeds=True,
    text_embed_dim=LLAMA_HIDDEN,
    pooled_projection_dim=CLIP_HIDDEN,
    rope_theta=256.0,
    rope_axes_dim=(4, 6, 6),
    image_condition_type=None,
    has_image_proj=True,
    image_proj_dim=SIGLIP_HIDDEN,
    has_clean_x_embedder=True,
)

# The released FramePack transformer (both variants), for the key set and the contracts only.
REAL_TRANSFORMER_CONFIG = dict(
    in_channels=16,
    out_channels=16,
    num_attention_heads=24,
    attention_head_dim=128,
    num_layers=20,
    num_single_layers=40,
    num_refiner_layers=2,
    mlp_ratio=4.0,
    patch_size=2,
    patch_size_t=1,
    qk_norm="rms_norm",
    guidance_embeds=True,
    text_embed_dim=4096,
    pooled_projection_dim=768,
    rope_theta=256.0,
    rope_axes_dim=(16, 56, 56),
    image_condition_type=None,
    has_image_proj=True,
    image_proj_dim=1152,
    has_clean_x_embedder=True,
)

VAE_CONFIG = dict(
    in_channels=3,
    out_channels=3,
    latent_channels=LATENT_CHANNELS,
    block_out_channels=(4, 4, 4, 4),
    layers_per_block=0,
    norm_num_groups=2,
    scaling_factor=0.476986,
    spatial_compression_ratio=8,
    temporal_compression_ratio=4,
    mid_block_add_attention=False,
)

LLAMA_CONFIG = dict(
    hidden_size=LLAMA_HIDDEN,
    intermediate_size=96,
    num_hidden_layers=3,
    num_attention_heads=2,
    num_key_value_heads=1,
    head_dim=24,
    max_position_embeddings=2048,
    rms_norm_eps=1e-5,
)

CLIP_CONFIG = dict(
    hidden_size=CLIP_HIDDEN,
    intermediate_size=48,
    projection_dim=CLIP_HIDDEN,
    num_hidden_layers=2,
    num_attention_heads=2,
    max_position_embeddings=77,
)

SIGLIP_CONFIG = dict(
    hidden_size=SIGLIP_HIDDEN,
    intermediate_size=80,
    num_hidden_layers=2,
    num_attention_heads=2,
    image_size=SIGLIP_IMAGE_SIZE,
    patch_size=8,
)

LLAMA_SPECIAL_TOKENS = (
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
    "<pad>",
)
CLIP_BOS, CLIP_EOS = "<|startoftext|>", "<|endoftext|>"
LLAMA_MERGES = 256
CLIP_MERGES = 128

# Text the tiny tokenizers learn their merges from: the HunyuanVideo prompt template and a
# few prompts, so templated prompts come out at a realistic number of tokens.
_CORPUS = (
    "<|start_header_id|>system<|end_header_id|>\n\nDescribe the video by detailing the following aspects: "
    "1. The main content and theme of the video.2. The color, shape, size, texture, quantity, text, and "
    "spatial relations of the objects.3. Actions, events, behaviors temporal relationships, physical "
    "movement changes of the objects.4. background environment, light, camera angle, and camera "
    "movement.5. camera transitions, with the special effects.<|eot_id|><|start_header_id|>user"
    "<|end_header_id|>\n\n",
    "The girl dances gracefully, with clear movements, full of charm.",
    "A cat walks on the grass, realistic style. The camera slowly moves forward.",
    "A man turns his head and smiles at the camera, soft light, detailed face.",
)


def build_demo_models(models_dir: Path, seed: int = 0) -> Path:
    """Write the demo set into `models_dir` (if it is not already there) and return the path.

    The set is written into a sibling temporary folder and moved into place, so an interrupted
    build never leaves a half set behind that looks complete. A folder that holds anything but a
    demo set is refused rather than overwritten: it may hold 40 GB of real models.
    """
    models_dir = Path(models_dir)
    if _is_complete(models_dir, seed):
        return models_dir
    if models_dir.exists() and not is_demo(models_dir) and any(models_dir.iterdir()):
        raise BadSettings(
            f"{models_dir} already holds files and is not a demo model set; "
            "choose an empty or new folder for the demo models."
        )
    models_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = models_dir.parent / f".{models_dir.name}.building-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        _write_demo_set(staging, seed)
        if models_dir.exists():
            shutil.rmtree(models_dir)
        os.replace(staging, models_dir)
    except OSError:
        if not _is_complete(models_dir, seed):
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return models_dir


def marker_text(seed: int) -> str:
    return (
        "FramePack Desktop demo models: tiny random weights in the layout of the real ones.\n"
        "Videos made with them are noise; they exist to run every code path without a download.\n"
        f"format: {DEMO_FORMAT}\nseed: {seed}\n"
    )


def _is_complete(models_dir: Path, seed: int) -> bool:
    marker = models_dir / DEMO_MARKER
    if not marker.is_file() or marker.read_text(encoding="utf-8") != marker_text(seed):
        return False
    return not missing_components(models_dir, "original") and not missing_components(models_dir, "f1")


def _write_demo_set(root: Path, seed: int) -> None:
    """Every component, each from its own seed so none depends on how the others drew numbers."""
    import torch

    from ..post.demo import write_post_models

    llama_ids = _write_llama_tokenizer(component_dir(root, "tokenizer"))
    clip_vocab = _write_clip_tokenizer(component_dir(root, "tokenizer_2"))
    _write_image_processor(component_dir(root, "feature_extractor"))
    models = [
        (component_dir(root, "transformer", "original"), _write_transformer),
        (component_dir(root, "transformer", "f1"), _write_transformer),
        (component_dir(root, "text_encoder"), lambda folder: _write_llama(folder, llama_ids)),
        (component_dir(root, "text_encoder_2"), lambda folder: _write_clip(folder, clip_vocab)),
        (component_dir(root, "vae"), _write_vae),
        (component_dir(root, "image_encoder"), _write_siglip),
    ]
    with _quiet_progress_bars():
        for position, (folder, write) in enumerate(models):
            torch.manual_seed(seed * len(models) + position)
            write(folder)
    write_post_models(root, seed)
    (root / DEMO_MARKER).write_text(marker_text(seed), encoding="utf-8")


def _write_transformer(folder: Path) -> None:
    from diffusers import HunyuanVideoFramepackTransformer3DModel

    model = HunyuanVideoFramepackTransformer3DModel(**TRANSFORMER_CONFIG)
    model.save_pretrained(folder, safe_serialization=True)


def _write_vae(folder: Path) -> None:
    from diffusers import AutoencoderKLHunyuanVideo

    AutoencoderKLHunyuanVideo(**VAE_CONFIG).save_pretrained(folder, safe_serialization=True)


def _write_llama(folder: Path, token_ids: dict[str, int]) -> None:
    from transformers import LlamaConfig, LlamaModel

    LlamaModel(LlamaConfig(**token_ids, **LLAMA_CONFIG)).save_pretrained(folder)


def _write_clip(folder: Path, vocab: dict[str, int]) -> None:
    from transformers import CLIPTextConfig, CLIPTextModel

    config = CLIPTextConfig(
        vocab_size=len(vocab),
        bos_token_id=vocab[CLIP_BOS],
        eos_token_id=vocab[CLIP_EOS],
        pad_token_id=vocab[CLIP_EOS],
        **CLIP_CONFIG,
    )
    CLIPTextModel(config).save_pretrained(folder)


def _write_siglip(folder: Path) -> None:
    from transformers import SiglipVisionConfig, SiglipVisionModel

    SiglipVisionModel(SiglipVisionConfig(**SIGLIP_CONFIG)).save_pretrained(folder)


def _write_image_processor(folder: Path) -> None:
    """The real SigLIP preprocessing (bicubic resize, mean/std 0.5) at the demo's input size."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "do_convert_rgb": True,
        "do_normalize": True,
        "do_rescale": True,
        "do_resize": True,
        "image_mean": [0.5, 0.5, 0.5],
        "image_processor_type": "SiglipImageProcessor",
        "image_std": [0.5, 0.5, 0.5],
        "processor_class": "SiglipProcessor",
        "resample": 3,
        "rescale_factor": 1 / 255,
        "size": {"height": SIGLIP_IMAGE_SIZE, "width": SIGLIP_IMAGE_SIZE},
    }
    _write_json(folder / "preprocessor_config.json", config)


def _write_llama_tokenizer(folder: Path) -> dict[str, int]:
    """A byte-level BPE like Llama 3's: bytes, merges, then the special tokens at the end.

    Written as the real folder is (tokenizer.json + tokenizer_config.json naming
    `PreTrainedTokenizerFast`); returns the ids the text encoder's config needs.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

    bos, eos, pad = LLAMA_SPECIAL_TOKENS[0], LLAMA_SPECIAL_TOKENS[1], LLAMA_SPECIAL_TOKENS[-1]
    splitter = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    merges = _learn_merges([word for word, _ in splitter.pre_tokenize_str(_plain_corpus())], LLAMA_MERGES)
    vocab = _vocab(sorted(pre_tokenizers.ByteLevel.alphabet()), merges, LLAMA_SPECIAL_TOKENS)

    backend = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    backend.add_special_tokens(list(LLAMA_SPECIAL_TOKENS))
    backend.pre_tokenizer = splitter
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, vocab[bos])]
    )
    folder.mkdir(parents=True, exist_ok=True)
    backend.save(str(folder / "tokenizer.json"))
    _write_json(
        folder / "tokenizer_config.json",
        {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "bos_token": bos,
            "eos_token": eos,
            "pad_token": pad,
            "model_max_length": 131072,
            "clean_up_tokenization_spaces": False,
        },
    )
    ids = {"bos_token_id": vocab[bos], "eos_token_id": vocab[eos], "pad_token_id": vocab[pad]}
    return {"vocab_size": len(vocab), **ids}


def _write_clip_tokenizer(folder: Path) -> dict[str, int]:
    """CLIP's own file format: vocab.json + merges.txt with `</w>` word ends, specials last.

    The vocabulary holds every byte both inside and at the end of a word, so any text encodes;
    the merges are learned from `_CORPUS` split into words the way CLIP splits them.
    """
    from tokenizers import Regex, pre_tokenizers

    words_pattern = Regex(r"'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+")
    splitter = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(words_pattern, "removed", invert=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    words = [word for word, _ in splitter.pre_tokenize_str(_plain_corpus().lower())]
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    merges = _learn_merges(words, CLIP_MERGES, word_end="</w>")
    vocab = _vocab(alphabet + [c + "</w>" for c in alphabet], merges, (CLIP_BOS, CLIP_EOS))

    folder.mkdir(parents=True, exist_ok=True)
    _write_json(folder / "vocab.json", vocab)
    (folder / "merges.txt").write_text(
        "#version: 0.2\n" + "".join(f"{left} {right}\n" for left, right in merges), encoding="utf-8"
    )
    _write_json(
        folder / "tokenizer_config.json",
        {
            "tokenizer_class": "CLIPTokenizer",
            "bos_token": CLIP_BOS,
            "eos_token": CLIP_EOS,
            "unk_token": CLIP_EOS,
            "pad_token": CLIP_EOS,
            "model_max_length": 77,
            "do_lower_case": True,
        },
    )
    return vocab


def _plain_corpus() -> str:
    """The corpus without the template's special tokens, which are whole tokens, never merged."""
    text = " ".join(_CORPUS)
    for special in LLAMA_SPECIAL_TOKENS:
        text = text.replace(special, " ")
    return text


def _learn_merges(words: list[str], count: int, word_end: str = "") -> list[tuple[str, str]]:
    """Byte-pair merges: most frequent adjacent pair first, ties broken by the pair itself.

    Our own few lines rather than `tokenizers`' trainer, whose tie order changes between runs:
    the demo set must be the same bytes every time. `word_end` is CLIP's `</w>` suffix, glued
    to the last symbol of each word.
    """
    words_symbols = Counter()
    for word in words:
        symbols = list(word)
        symbols[-1] += word_end
        words_symbols[tuple(symbols)] += 1
    merges: list[tuple[str, str]] = []
    for _ in range(count):
        pairs: Counter = Counter()
        for symbols, n in words_symbols.items():
            for pair in zip(symbols, symbols[1:]):
                pairs[pair] += n
        if not pairs:
            break
        best = min(pairs, key=lambda pair: (-pairs[pair], pair))
        merges.append(best)
        words_symbols = Counter({_merge(symbols, best): n for symbols, n in words_symbols.items()})
    return merges


def _merge(symbols: tuple[str, ...], pair: tuple[str, str]) -> tuple[str, ...]:
    merged: list[str] = []
    i = 0
    while i < len(symbols):
        if symbols[i : i + 2] == pair:
            merged.append(pair[0] + pair[1])
            i += 2
        else:
            merged.append(symbols[i])
            i += 1
    return tuple(merged)


def _vocab(base: list[str], merges: list[tuple[str, str]], specials: tuple[str, ...]) -> dict[str, int]:
    tokens = list(base)
    known = set(tokens)
    for left, right in merges:
        if left + right not in known:
            tokens.append(left + right)
            known.add(left + right)
    tokens.extend(specials)
    return {token: i for i, token in enumerate(tokens)}


@contextmanager
def _quiet_progress_bars():
    """transformers draws a progress bar per saved file; a one-second build needs none."""
    from transformers.utils import logging

    was_enabled = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            logging.enable_progress_bar()


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
