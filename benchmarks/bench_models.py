"""The models a speed benchmark runs: loaded from a models folder, or random weights on the device.

Loaded models go through the engine's own loader (what a job does). Random weights let the
full-size models be measured without downloading anything: each part is built with its parameters
on the meta device and then allocated and filled directly on the GPU in its run dtype
(`speed.build_random`), so a 13B transformer never exists on the CPU. The full-size configs are
those of the public checkpoints (DESIGN.md section 3); tokenizers and the SigLIP preprocessing
come from the demo set (random weights need no real vocabulary, only valid token ids).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from framepack_desktop.engine import speed
from framepack_desktop.engine.models import demo, loader
from framepack_desktop.engine.models.loader import ImageEncoder, TextEncoders
from framepack_desktop.engine.session import Placement

# The released HunyuanVideo VAE (diffusers' AutoencoderKLHunyuanVideo defaults).
FULL_VAE_CONFIG = dict(
    in_channels=3, out_channels=3, latent_channels=16, block_out_channels=(128, 256, 512, 512),
    layers_per_block=2, norm_num_groups=32, scaling_factor=0.476986, spatial_compression_ratio=8,
    temporal_compression_ratio=4, mid_block_add_attention=True,
)
# LLaVA-Llama-3-8B's text part, CLIP-L's text tower, SigLIP so400m (patch 14 at 384 px).
FULL_LLAMA_CONFIG = dict(
    hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
    num_key_value_heads=8, max_position_embeddings=8192, rms_norm_eps=1e-5, rope_theta=500000.0, vocab_size=128320,
)
FULL_CLIP_CONFIG = dict(
    hidden_size=768, intermediate_size=3072, projection_dim=768, num_hidden_layers=12, num_attention_heads=12,
    max_position_embeddings=77, vocab_size=49408,
)
FULL_SIGLIP_CONFIG = dict(hidden_size=1152, intermediate_size=4304, num_hidden_layers=27, num_attention_heads=16,
                          image_size=384, patch_size=14)


class FolderModels:
    """Components from a models folder (the demo set or the real models), loaded as a job loads them.

    The image encoder, VAE and transformer come through a `ModelSession` with the placement the
    memory policy chose (precision, resident / model offload / group offload, VAE tiling), so a
    budget run measures the engine's own offloading; the text encoders through the loader, without
    the session's prompt cache (which would make encoding free).
    """

    def __init__(self, models_dir: Path, variant: str, place: Placement):
        from framepack_desktop.engine.session import ModelSession

        loader.require_models(models_dir, variant)
        self.models_dir, self.variant, self.place = models_dir, variant, place
        self.session = ModelSession(prompt_cache_dir=None)
        self.label = f"loaded from {models_dir} ({place.summary()})"

    def text_encoders(self) -> TextEncoders:
        return loader.load_text_encoders(self.models_dir, self.place.device, self.place.text_dtype)

    def image_encoder(self) -> ImageEncoder:
        return self.session.image_encoder(self.models_dir, self.place)

    def vae(self):
        return self.session.vae(self.models_dir, self.place)

    def transformer(self):
        return self.session.transformer(self.models_dir, self.variant, self.place)


class RandomModels:
    """Every component with random weights at demo or full size, built on the device."""

    def __init__(self, full_size: bool, place: Placement, tokenizers_dir: Path):
        self.full, self.place, self.tokenizers_dir = full_size, place, tokenizers_dir
        self.label = f"random weights, {'full' if full_size else 'demo'} size"

    def _build(self, factory: Callable[[], torch.nn.Module], dtype: torch.dtype):
        return speed.build_random(factory, self.place.device, dtype)

    def text_encoders(self) -> TextEncoders:
        from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer, LlamaConfig, LlamaModel, PreTrainedTokenizerFast

        llama_tok = loader.load_pretrained(PreTrainedTokenizerFast, self.tokenizers_dir, "tokenizer")
        clip_tok = loader.load_pretrained(CLIPTokenizer, self.tokenizers_dir, "tokenizer_2")
        ids = dict(bos_token_id=llama_tok.bos_token_id, eos_token_id=llama_tok.eos_token_id,
                   pad_token_id=llama_tok.pad_token_id)
        llama_cfg = FULL_LLAMA_CONFIG if self.full else {**demo.LLAMA_CONFIG, "vocab_size": len(llama_tok)}
        clip_cfg = FULL_CLIP_CONFIG if self.full else {**demo.CLIP_CONFIG, "vocab_size": len(clip_tok)}
        clip_ids = dict(bos_token_id=clip_tok.bos_token_id, eos_token_id=clip_tok.eos_token_id,
                        pad_token_id=clip_tok.pad_token_id)
        dtype = self.place.text_dtype
        return TextEncoders(
            llama=self._build(lambda: LlamaModel(LlamaConfig(**llama_cfg, **ids)), dtype),
            llama_tokenizer=llama_tok,
            clip=self._build(lambda: CLIPTextModel(CLIPTextConfig(**clip_cfg, **clip_ids)), dtype),
            clip_tokenizer=clip_tok,
        )

    def image_encoder(self) -> ImageEncoder:
        import transformers
        from transformers import SiglipVisionConfig, SiglipVisionModel

        cfg = FULL_SIGLIP_CONFIG if self.full else demo.SIGLIP_CONFIG
        size = cfg["image_size"]
        processor_cls = getattr(transformers, "SiglipImageProcessorPil", None) or transformers.SiglipImageProcessor
        processor = processor_cls(size={"height": size, "width": size}, resample=3, do_rescale=True,
                                  rescale_factor=1 / 255, do_normalize=True, image_mean=[0.5] * 3, image_std=[0.5] * 3)
        model = self._build(lambda: SiglipVisionModel(SiglipVisionConfig(**cfg)), self.place.image_dtype)
        return ImageEncoder(model=model, processor=processor)

    def vae(self):
        from diffusers import AutoencoderKLHunyuanVideo

        cfg = FULL_VAE_CONFIG if self.full else demo.VAE_CONFIG
        return self._build(lambda: AutoencoderKLHunyuanVideo(**cfg), self.place.vae_dtype)

    def transformer(self):
        from diffusers import HunyuanVideoFramepackTransformer3DModel

        cfg = demo.REAL_TRANSFORMER_CONFIG if self.full else demo.TRANSFORMER_CONFIG
        model = self._build(lambda: HunyuanVideoFramepackTransformer3DModel(**cfg), self.place.transformer_dtype)
        loader.keep_proj_out_float32(model)
        return model
