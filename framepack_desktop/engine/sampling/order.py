"""The arithmetic of a job's sections that needs no tensors: which section is sampled when, the
original model's padding schedule, how many frames latents decode to. torch-free, so the plan
(and through it the window) uses the same numbers as the sampler."""
from __future__ import annotations


def paddings(num_sections: int) -> list[int]:
    """Blank-padding multiples of the window for each section of the original model, in sampling order.

    The padding tells the model how far the sampled window is from the start frame. Beyond four
    sections the original keeps it at 2 for the middle, which is what makes long videos work.
    """
    if num_sections > 4:
        return [3] + [2] * (num_sections - 3) + [1, 0]
    return list(reversed(range(num_sections)))


def time_index(variant: str, order: int, num_sections: int) -> int:
    """Which section of the final video (0 = start) is sampled at position `order`."""
    return num_sections - 1 - order if variant == "original" else order


def sampling_orders(variant: str, num_sections: int) -> list[int]:
    """Time indices in the order they are sampled."""
    return [time_index(variant, o, num_sections) for o in range(num_sections)]


def frames_of(latents: int) -> int:
    """Video frames the causal VAE decodes from `latents` latent frames."""
    return 4 * (latents - 1) + 1


def latents_of(frames: int) -> int:
    """Latent frames behind `frames` video frames (the inverse of `frames_of`)."""
    return (frames - 1) // 4 + 1
