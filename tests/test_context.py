"""The packed-context layout reproduces the FramePack method's facts (DESIGN.md section 4)."""
import torch

from framepack_desktop.engine.sampling import order as section_order
from framepack_desktop.engine.sampling.variants import VARIANTS, generated_count, variant_of


def latent(value, c=4, h=2, w=3):
    return torch.full((1, c, 1, h, w), float(value))


def test_padding_schedule_matches_the_original():
    assert section_order.paddings(1) == [0]
    assert section_order.paddings(3) == [2, 1, 0]
    assert section_order.paddings(4) == [3, 2, 1, 0]
    assert section_order.paddings(7) == [3, 2, 2, 2, 2, 1, 0]


def test_original_samples_from_the_end_and_f1_from_the_start():
    assert section_order.sampling_orders("original", 4) == [3, 2, 1, 0]
    assert section_order.sampling_orders("f1", 4) == [0, 1, 2, 3]


def test_original_index_line_and_history_from_the_front():
    n, w = 5, 9
    history = torch.cat([latent(i) for i in range(1, 20)], dim=2)  # history latents 1..19, newest first
    c = variant_of("original").context(1, n, w, history, latent(100))
    pad = section_order.paddings(n)[1] * w
    assert c.indices_latents.tolist() == list(range(1 + pad, 1 + pad + w))
    assert c.indices_latents_clean.tolist() == [0, 1 + pad + w]
    assert c.indices_latents_history_2x.tolist() == [2 + pad + w, 3 + pad + w]
    assert c.indices_latents_history_4x.tolist() == list(range(4 + pad + w, 20 + pad + w))
    assert c.latents_clean[0, 0, :, 0, 0].tolist() == [100, 1]
    assert c.latents_history_2x[0, 0, :, 0, 0].tolist() == [2, 3]
    assert c.latents_history_4x[0, 0, :, 0, 0].tolist() == list(range(4, 20))


def test_end_frame_replaces_the_post_latent_only_in_the_first_section_sampled():
    history = torch.zeros(1, 4, 19, 2, 3)
    first = variant_of("original").context(0, 3, 9, history, latent(7), end_latent=latent(42))
    second = variant_of("original").context(1, 3, 9, history, latent(7), end_latent=latent(42))
    assert first.latents_clean[0, 0, :, 0, 0].tolist() == [7, 42]
    assert second.latents_clean[0, 0, :, 0, 0].tolist() == [7, 0]


def test_f1_index_line_takes_history_from_the_end():
    w = 9
    history = torch.cat([latent(i) for i in range(1, 31)], dim=2)  # oldest .. newest
    c = variant_of("f1").context(3, 6, w, history, latent(100))
    assert c.indices_latents.tolist() == list(range(20, 20 + w))
    assert c.indices_latents_clean.tolist() == [0, 19]
    assert c.indices_latents_history_4x.tolist() == list(range(1, 17))
    assert c.indices_latents_history_2x.tolist() == [17, 18]
    assert c.latents_clean[0, 0, :, 0, 0].tolist() == [100, 30]
    assert c.latents_history_2x[0, 0, :, 0, 0].tolist() == [28, 29]
    assert c.latents_history_4x[0, 0, :, 0, 0].tolist() == list(range(12, 28))


def test_f1_history_starts_with_zeros_then_the_start_latent():
    h = variant_of("f1").initial_history(latent(5))
    assert h.shape[2] == 20 and h[0, 0, :19].abs().sum() == 0 and h[0, 0, 19, 0, 0] == 5
    assert variant_of("original").initial_history(latent(5)).abs().sum() == 0


def run_layout(variant, n, w):
    """Replay a job's history updates and decodes; return the frame count decoded per section."""
    start = latent(-1)
    history = variant_of(variant).initial_history(start)
    generated = 1 if variant == "f1" else 0
    frames = 0
    for order in range(n):
        new = latent(order).repeat(1, 1, w, 1, 1)
        history = variant_of(variant).add_to_history(history, new, order, n, start)
        generated += w + (1 if variant == "original" and order == n - 1 else 0)
        assert generated_count(history) == generated      # it follows from the history's length
        a, b = variant_of(variant).decode_slice(order, n, w, generated)
        chunk = section_order.frames_of(b - a)
        frames = chunk if order == 0 else frames + chunk - (4 * w - 3)
        assert section_order.frames_of(generated) == frames
    return history, generated, frames


def test_every_layout_gives_exactly_4wn_plus_1_frames():
    for variant in ("original", "f1"):
        for n in (1, 2, 3, 5, 8):
            for w in (5, 9):
                _, generated, frames = run_layout(variant, n, w)
                assert generated == w * n + 1
                assert frames == 4 * w * n + 1


def test_original_history_ends_with_the_start_latent_in_front():
    history, generated, _ = run_layout("original", 3, 2)
    real = variant_of("original").generated_latents(history)[0, 0, :, 0, 0].tolist()
    assert real == [-1, 2, 2, 1, 1, 0, 0]
    history, generated, _ = run_layout("f1", 3, 2)
    assert variant_of("f1").generated_latents(history)[0, 0, :, 0, 0].tolist() == [-1, 0, 0, 1, 1, 2, 2]


def test_every_variant_a_job_may_name_has_its_object():
    from framepack_desktop.engine.choices import VARIANTS as CHOICES

    assert tuple(VARIANTS) == CHOICES.names
