"""Parity with diffusers' HunyuanVideoFramepackPipeline on the demo models.

With Euler and TeaCache off, the same models, seed and inputs give the same final latents, for
both variants and with an end frame. The pipeline is used as diffusers ships it, except for one
of our documented differences (README): the image latents are the VAE posterior's mean, not a
sample drawn from the job's generator (a draw that would shift every later section's noise).
With end_influence 0 our end-frame conditioning is the pipeline's (which ignores the end image's
SigLIP embedding).
"""
import pytest
import torch
from diffusers import FlowMatchEulerDiscreteScheduler, HunyuanVideoFramepackPipeline
from PIL import Image

from framepack_desktop.engine import events as ev
from framepack_desktop.engine.conditioning import LLAMA_TEMPLATE, encode_latent, template_crop
from framepack_desktop.engine.images import fit_to_bucket, load_image
from framepack_desktop.engine.job import Job
from framepack_desktop.engine.jobfolder import JobFolder
from framepack_desktop.engine.models import loader
from framepack_desktop.engine.runner import run_job

pytestmark = pytest.mark.slow  # whole sections through diffusers' pipeline and ours (about a minute each)


CPU = torch.device("cpu")


class MeanLatentPipeline(HunyuanVideoFramepackPipeline):
    def prepare_image_latents(self, image, dtype=None, device=None, generator=None, latents=None):
        if latents is None:
            latents = encode_latent(self.vae, image.unsqueeze(2))
        return latents.to(device=device, dtype=dtype)


def load_pipeline(models_dir, variant):
    text = loader.load_text_encoders(models_dir, CPU, torch.float32)
    image = loader.load_image_encoder(models_dir, CPU, torch.float32)
    pipe = MeanLatentPipeline(
        text_encoder=text.llama, tokenizer=text.llama_tokenizer, text_encoder_2=text.clip,
        tokenizer_2=text.clip_tokenizer, image_encoder=image.model, feature_extractor=image.processor,
        vae=loader.load_vae(models_dir, CPU, torch.float32),
        transformer=loader.load_transformer(models_dir, variant, CPU, torch.float32),
        scheduler=FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=True, time_shift_type="exponential"),
    )
    return pipe, template_crop(text.llama_tokenizer)


@pytest.mark.parametrize("variant,with_end", [("original", False), ("f1", False), ("original", True)])
def test_final_latents_match_the_diffusers_pipeline(demo_models, tmp_path, make_image, variant, with_end):
    start = make_image(tmp_path / "start.png", (300, 220), seed=1)
    end = make_image(tmp_path / "end.png", (300, 220), seed=2) if with_end else None
    job = Job(
        image=str(start), end_image=str(end) if end else None, prompt="a red fox runs through snow",
        output=str(tmp_path / "out.mp4"), seconds=2.0, window=5, variant=variant, resolution=320, steps=4,
        sampler="euler", teacache=0.0, seed=1234, models=str(demo_models), end_influence=0.0,
    )
    events = list(run_job(job))
    assert isinstance(events[-1], ev.Finished), events[-1]
    started = events[0]
    assert job.num_sections == 3
    folder = JobFolder(job)
    ours = torch.cat([folder.read_section(s) for s in range(job.num_sections)], dim=2)
    folder.close()

    pipe, crop = load_pipeline(demo_models, variant)
    size = (started.height, started.width)
    extra = {}
    if end:
        extra["last_image"] = Image.fromarray(fit_to_bucket(load_image(end), *size))
    theirs = pipe(
        image=Image.fromarray(fit_to_bucket(load_image(start), *size)), prompt=job.prompt,
        height=size[0], width=size[1], num_frames=job.num_sections * (4 * (job.window - 1) + 1),
        latent_window_size=job.window, num_inference_steps=job.steps, guidance_scale=job.gs,
        generator=torch.Generator().manual_seed(job.seed), output_type="latent",
        prompt_template={"template": LLAMA_TEMPLATE, "crop_start": crop},
        sampling_type="inverted_anti_drifting" if variant == "original" else "vanilla", **extra,
    ).frames[-1]

    assert theirs.shape[2] == ours.shape[2] + 1  # theirs starts with the start image's latent
    scale = theirs.abs().max().item()
    err = (ours - theirs[:, :, 1:]).abs().max().item()
    assert err <= 1e-4 * scale, f"max abs difference {err} (scale {scale})"
