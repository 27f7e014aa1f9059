"""Floating-point operations of one FramePack transformer call, counted from its shapes.

MFU (model FLOP utilisation) is achieved FLOP/s over the device's peak; the achieved side needs
the work of one model call, which depends only on the config and the packed sequence: the noisy
window's tokens, the 1x/2x/4x history tokens (coarser patches, so few), the image and text
tokens. A multiply-add counts as 2 FLOPs, attention as its two matmuls (QK^T and PV) over the full
joint sequence, as torch.utils.flop_counter does; elementwise work (norms, RoPE, activations,
softmax) is left out, as it is there. Every matmul and convolution of the forward is counted, so
the total can be checked exactly against torch's counter on a tiny model (tests/test_speed.py).

The forward (diffusers' HunyuanVideoFramepackTransformer3DModel) in matmuls, with D the hidden
size, F the MLP width, L the packed latent tokens, C = image + effective text tokens, S = L + C:
- patch embeddings: one convolution per stream (kernels (1,2,2), (2,4,4), (4,8,8) for history);
- condition embeddings on single vectors (timestep, guidance, pooled text) and the modulation
  linears of every block (D -> 6D, 3D or 2D on one vector);
- the text token refiner over all text tokens fed (padding included, it runs before the crop);
- the image projection (SigLIP width -> 3D -> D);
- per double block: QKV + output projections and a 4x MLP on both streams, attention over S;
- per single block: QKV and the parallel MLP on S, output projection from D + F, attention over S;
- the output projection on the noisy window's tokens only.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

TIMESTEP_CHANNELS = 256


@dataclass(frozen=True)
class Tokens:
    """Token counts of one call: the packed latent streams, image tokens and text tokens."""

    noisy: int
    clean: int
    history_2x: int
    history_4x: int
    image: int
    text_fed: int       # text tokens handed to the model (padded length)
    text: int           # real text tokens (mask sum): what the blocks see after the crop at batch 1

    @property
    def latent(self) -> int:
        return self.noisy + self.clean + self.history_2x + self.history_4x

    @property
    def joint(self) -> int:
        return self.latent + self.image + self.text


def _patches(frames: int, height: int, width: int, kernel: tuple[int, int, int]) -> int:
    """Output positions of a strided 3D patch convolution over input padded up to the kernel."""
    kt, kh, kw = kernel
    return math.ceil(frames / kt) * math.ceil(height / kh) * math.ceil(width / kw)


def packed_tokens(
    config: Mapping, latent_height: int, latent_width: int, window: int = 9,
    clean_latents: int = 2, history_2x: int = 2, history_4x: int = 16,
    image_tokens: int = 729, text_fed: int = 512, text: int = 512,
) -> Tokens:
    """Token counts for a section of `window` latents at a latent size (e.g. 68 x 88 for 544 x 704).

    Defaults are FramePack's: two clean latents (start + newest), 2 at 2x, 16 at 4x; SigLIP
    so400m's 729 image tokens; text padded to 512 tokens. Pass the real text length as `text`
    (with batch 1 the model drops the padding before the blocks).
    """
    p, pt = config["patch_size"], config["patch_size_t"]
    return Tokens(
        noisy=_patches(window, latent_height, latent_width, (pt, p, p)),
        clean=_patches(clean_latents, latent_height, latent_width, (1, 2, 2)),
        history_2x=_patches(history_2x, latent_height, latent_width, (2, 4, 4)),
        history_4x=_patches(history_4x, latent_height, latent_width, (4, 8, 8)),
        image=image_tokens,
        text_fed=text_fed,
        text=text,
    )


def transformer_flops(config: Mapping, tokens: Tokens) -> int:
    """FLOPs of one forward call of the FramePack transformer with `config` on `tokens` (batch 1)."""
    d = config["num_attention_heads"] * config["attention_head_dim"]
    f = int(d * config["mlp_ratio"])
    cin, cout = config["in_channels"], config.get("out_channels") or config["in_channels"]
    p, pt = config["patch_size"], config["patch_size_t"]
    text_dim, pooled_dim, image_dim = config["text_embed_dim"], config["pooled_projection_dim"], config["image_proj_dim"]
    n, c, s = tokens.latent, tokens.image + tokens.text, tokens.joint

    def linear(rows: int, fan_in: int, fan_out: int) -> int:
        return 2 * rows * fan_in * fan_out

    def attention(queries: int, keys: int) -> int:
        return 4 * queries * keys * d

    embed = (
        linear(tokens.noisy, cin * pt * p * p, d)
        + linear(tokens.clean, cin * 4, d)
        + linear(tokens.history_2x, cin * 32, d)
        + linear(tokens.history_4x, cin * 256, d)
    )
    timestep_mlp = linear(1, TIMESTEP_CHANNELS, d) + linear(1, d, d)
    conditions = timestep_mlp + linear(1, pooled_dim, d) + linear(1, d, d)
    if config.get("guidance_embeds", True):
        conditions += timestep_mlp
    refiner_block = (
        4 * linear(tokens.text_fed, d, d)
        + attention(tokens.text_fed, tokens.text_fed)
        + linear(tokens.text_fed, d, 4 * d) + linear(tokens.text_fed, 4 * d, d)
        + linear(1, d, 2 * d)
    )
    refiner = (
        timestep_mlp + linear(1, text_dim, d) + linear(1, d, d)
        + linear(tokens.text_fed, text_dim, d)
        + config["num_refiner_layers"] * refiner_block
    )
    image = linear(tokens.image, image_dim, 3 * d) + linear(tokens.image, 3 * d, d) if config.get("has_image_proj") else 0
    double = (
        2 * linear(1, d, 6 * d)
        + 4 * linear(n, d, d) + 4 * linear(c, d, d)
        + attention(s, s)
        + linear(n, d, f) + linear(n, f, d) + linear(c, d, f) + linear(c, f, d)
    )
    single = linear(1, d, 3 * d) + 3 * linear(s, d, d) + linear(s, d, f) + attention(s, s) + linear(s, d + f, d)
    output = linear(1, d, 2 * d) + linear(tokens.noisy, d, pt * p * p * cout)
    return (
        embed + conditions + refiner + image
        + config["num_layers"] * double + config["num_single_layers"] * single
        + output
    )


def mfu(flops_per_call: float, seconds_per_call: float, peak_flops: float | None) -> float | None:
    """Model FLOP utilisation: achieved FLOP/s over the device's peak (None when the peak is unknown)."""
    if not peak_flops or seconds_per_call <= 0:
        return None
    return flops_per_call / seconds_per_call / peak_flops


def vae_decode_flops(config: Mapping, latent_frames: int, latent_height: int, latent_width: int,
                     framewise: bool, tiled: bool) -> int:
    """FLOPs of one VAE decode, counted by torch's FLOP counter on a shape-only (meta) model.

    The HunyuanVideo VAE is 3D convolutions and a mid-block attention; frame chunks and spatial
    tiles overlap, so by-frames and tiled decodes compute more than one pass over the section.
    """
    import torch
    from diffusers import AutoencoderKLHunyuanVideo
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        vae = AutoencoderKLHunyuanVideo(**config)
    vae.use_framewise_decoding = framewise
    vae.enable_tiling() if tiled else vae.disable_tiling()
    vae.use_framewise_decoding = framewise
    z = torch.empty(1, vae.config.latent_channels, latent_frames, latent_height, latent_width, device="meta")
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        vae.decode(z, return_dict=False)
    return counter.get_total_flops()
