"""Turning the user's inputs into what the transformer is conditioned on.

- Prompt: the Llama text encoder with HunyuanVideo's system template, hidden state [-3] of up to
  256 prompt tokens after the template is cropped away, with its mask; and CLIP-L's pooled output.
- Image: SigLIP's last hidden state (the image embeds) and the VAE latent of the start/end frame.

Conditioning is computed once per job (each distinct prompt once) and kept on the CPU, so the
text encoders can be freed before the transformer is loaded.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

LLAMA_TEMPLATE = (
    "<|start_header_id|>system<|end_header_id|>\n\nDescribe the video by detailing the following aspects: "
    "1. The main content and theme of the video."
    "2. The color, shape, size, texture, quantity, text, and spatial relationships of the objects."
    "3. Actions, events, behaviors temporal relationships, physical movement changes of the objects."
    "4. background environment, light, style and atmosphere."
    "5. camera angles, movements, and transitions used in the video:<|eot_id|>"
    "<|start_header_id|>user<|end_header_id|>\n\n{}<|eot_id|>"
)
# The real Llama-3 tokenizer turns the template's system part into 95 tokens (the value the original
# and diffusers use). Other tokenizers (the demo set's) are measured instead.
REAL_TEMPLATE_CROP = 95
REAL_LLAMA_VOCAB = 128000
MAX_PROMPT_TOKENS = 256
CLIP_TOKENS = 77


@dataclass(frozen=True)
class PromptEmbeds:
    llama: torch.Tensor     # [1, L, D] float32, CPU
    mask: torch.Tensor      # [1, L] (1 = real token)
    pooled: torch.Tensor    # [1, D_clip]

    def zeros(self) -> "PromptEmbeds":
        """The 'empty' negative conditioning the original uses when real CFG is off."""
        return PromptEmbeds(torch.zeros_like(self.llama), self.mask.clone(), torch.zeros_like(self.pooled))

    def to(self, device: torch.device, dtype: torch.dtype) -> dict[str, torch.Tensor]:
        return {
            "encoder_hidden_states": self.llama.to(device=device, dtype=dtype),
            "encoder_attention_mask": self.mask.to(device=device, dtype=dtype),
            "pooled_projections": self.pooled.to(device=device, dtype=dtype),
        }


def blend_prompt_embeds(old: PromptEmbeds, new: PromptEmbeds, old_weight: float) -> PromptEmbeds:
    """A prompt part way from `old` to `new` (prompt blending): both texts' embeddings and pooled
    vectors mixed linearly, attending to the tokens of either."""
    mix = lambda a, b: old_weight * a + (1 - old_weight) * b  # noqa: E731
    return PromptEmbeds(mix(old.llama, new.llama), torch.maximum(old.mask, new.mask), mix(old.pooled, new.pooled))


def template_crop(tokenizer) -> int:
    """How many leading tokens of the templated prompt belong to the template."""
    if len(tokenizer) >= REAL_LLAMA_VOCAB:
        return REAL_TEMPLATE_CROP
    prefix = LLAMA_TEMPLATE.split("{}")[0]
    return len(tokenizer(prefix)["input_ids"])


@torch.no_grad()
def encode_prompt(llama, llama_tokenizer, clip, clip_tokenizer, prompt: str) -> PromptEmbeds:
    crop = template_crop(llama_tokenizer)
    tokens = llama_tokenizer(
        [LLAMA_TEMPLATE.format(prompt)],
        max_length=MAX_PROMPT_TOKENS + crop,
        padding="max_length",
        truncation=True,
        return_tensors="pt",
        return_attention_mask=True,
    )
    device = llama.device
    mask = tokens.attention_mask.to(device)
    hidden = llama(input_ids=tokens.input_ids.to(device), attention_mask=mask, output_hidden_states=True).hidden_states[-3]
    clip_ids = clip_tokenizer(
        [prompt], padding="max_length", max_length=CLIP_TOKENS, truncation=True, return_tensors="pt"
    ).input_ids
    pooled = clip(clip_ids.to(clip.device), output_hidden_states=False).pooler_output
    return PromptEmbeds(
        llama=hidden[:, crop:].float().cpu(),
        mask=mask[:, crop:].cpu(),
        pooled=pooled.float().cpu(),
    )


@torch.no_grad()
def encode_image_embeds(image_encoder, processor, pixels: torch.Tensor) -> torch.Tensor:
    """SigLIP last hidden state of a [1, 3, 1, H, W] image in [-1, 1]."""
    image = (pixels[:, :, 0] + 1) / 2
    inputs = processor(images=image, return_tensors="pt", do_rescale=False)
    inputs = inputs.to(device=image_encoder.device, dtype=image_encoder.dtype)
    return image_encoder(**inputs).last_hidden_state.float().cpu()


@torch.no_grad()
def encode_latent(vae, pixels: torch.Tensor) -> torch.Tensor:
    """The latents of [1, 3, T, H, W] frames (one latent frame for an image, (T - 1) / 4 + 1 for a
    clip): the posterior's mean, times the scaling factor.

    The original samples the posterior with the global RNG; the mean is deterministic, so the same
    job gives the same video, and the real VAE's posterior is narrow enough that nothing is lost.
    """
    posterior = vae.encode(pixels.to(device=vae.device, dtype=vae.dtype)).latent_dist
    return (posterior.mode() * vae.config.scaling_factor).float().cpu()


def blend_image_embeds(start: torch.Tensor, end: torch.Tensor | None, end_influence: float) -> torch.Tensor:
    """With an end frame the model sees a weighted mean of both images' embeds (0.5 = plain mean)."""
    if end is None:
        return start
    return (1 - end_influence) * start + end_influence * end
