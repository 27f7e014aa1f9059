"""Input images: every kind of file a user may bring, buckets, cover-and-crop, model tensor."""
import io
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from framepack_desktop.engine.errors import BadImage
from framepack_desktop.engine.images import (
    BUCKETS_640,
    buckets,
    fit_to_bucket,
    image_from_bytes,
    load_image,
    nearest_bucket,
    to_model_tensor,
)

RED, BLUE = (255, 0, 0), (0, 0, 255)


def coordinate_image(h: int, w: int) -> np.ndarray:
    """Red encodes x (0 at the left, 255 at the right), green encodes y."""
    x = np.linspace(0, 255, w)[None, :].repeat(h, 0)
    y = np.linspace(0, 255, h)[:, None].repeat(w, 1)
    return np.stack([x, y, np.full((h, w), 128.0)], axis=2).round().astype(np.uint8)


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def png_claiming_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height: what a decompression bomb looks like."""
    data = bytearray(png_bytes(Image.new("RGB", (1, 1))))
    ihdr = bytes(data[16:29])
    ihdr = struct.pack(">II", width, height) + ihdr[8:]
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


# ----- buckets -----


def test_buckets_of_the_640_class_are_the_original_list():
    assert buckets(640) == list(BUCKETS_640)


@pytest.mark.parametrize("resolution", [320, 480, 720])
def test_other_classes_scale_the_list_to_multiples_of_16(resolution):
    scale = resolution / 640
    for (h, w), (h640, w640) in zip(buckets(resolution), BUCKETS_640):
        assert h % 16 == 0 and w % 16 == 0
        assert abs(h - h640 * scale) <= 8 and abs(w - w640 * scale) <= 8


@pytest.mark.parametrize(
    ("h", "w", "bucket"),
    [
        (1920, 1080, (832, 480)),  # portrait phone photo, 16:9
        (1080, 1920, (480, 832)),  # landscape video frame
        (3000, 1000, (960, 416)),  # tall strip: the tallest bucket
        (1000, 1000, (640, 608)),  # square: 608x640 and 640x608 tie, the later one wins
        (600, 800, (544, 704)),  # 4:3 landscape
    ],
)
def test_nearest_bucket(h, w, bucket):
    assert nearest_bucket(h, w, 640) == bucket


def test_nearest_bucket_in_another_class_is_the_scaled_choice():
    index = BUCKETS_640.index(nearest_bucket(1920, 1080, 640))
    assert nearest_bucket(1920, 1080, 320) == buckets(320)[index]


# ----- loading -----


def test_odd_aspect_png_loads_unchanged(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (97, 301, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "odd.png")
    loaded = load_image(tmp_path / "odd.png")
    assert loaded.dtype == np.uint8 and loaded.shape == (97, 301, 3)
    np.testing.assert_array_equal(loaded, pixels)


def test_exif_orientation_is_applied(tmp_path):
    stored = np.zeros((40, 64, 3), np.uint8)
    stored[:, :32] = RED
    stored[:, 32:] = BLUE
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display", as phones write portrait shots
    Image.fromarray(stored).save(tmp_path / "phone.jpg", exif=exif, quality=95)
    upright = load_image(tmp_path / "phone.jpg")
    assert upright.shape == (64, 40, 3)
    top, bottom = upright[:24].reshape(-1, 3).mean(0), upright[-24:].reshape(-1, 3).mean(0)
    assert top[0] > 200 and top[2] < 50  # the left half (red) is on top now
    assert bottom[2] > 200 and bottom[0] < 50


def test_transparency_is_flattened_onto_white(tmp_path):
    rgba = np.zeros((40, 60, 4), np.uint8)
    rgba[:, :20] = (255, 0, 0, 255)  # opaque red
    rgba[:, 20:40] = (0, 0, 0, 0)  # fully transparent
    rgba[:, 40:] = (0, 0, 0, 128)  # half-transparent black
    Image.fromarray(rgba, "RGBA").save(tmp_path / "cutout.png")
    rgb = load_image(tmp_path / "cutout.png")
    assert rgb.shape == (40, 60, 3)
    np.testing.assert_array_equal(rgb[:, :20], np.broadcast_to(RED, (40, 20, 3)))
    np.testing.assert_array_equal(rgb[:, 20:40], np.full((40, 20, 3), 255))
    assert np.all(np.abs(rgb[:, 40:].astype(int) - 127) <= 1)


def test_palette_with_transparency_is_flattened_onto_white(tmp_path):
    image = Image.new("P", (40, 40), 0)
    image.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    image.paste(1, (0, 0, 20, 40))
    image.save(tmp_path / "sticker.png", transparency=0)
    rgb = load_image(tmp_path / "sticker.png")
    np.testing.assert_array_equal(rgb[:, :20], np.broadcast_to((0, 255, 0), (40, 20, 3)))
    np.testing.assert_array_equal(rgb[:, 20:], np.full((40, 20, 3), 255))


def test_16_bit_greyscale_is_scaled_not_clipped(tmp_path):
    values = np.linspace(0, 65535, 64 * 48).reshape(48, 64).astype(np.uint16)
    Image.fromarray(values).save(tmp_path / "scan16.png")
    assert Image.open(tmp_path / "scan16.png").mode.startswith("I;16")
    rgb = load_image(tmp_path / "scan16.png")
    expected = np.rint(values / 257).astype(np.uint8)
    for channel in range(3):
        np.testing.assert_array_equal(rgb[..., channel], expected)
    assert rgb.min() == 0 and rgb.max() == 255


def test_greyscale_becomes_three_equal_channels(tmp_path):
    grey = coordinate_image(40, 50)[..., 0]
    Image.fromarray(grey, "L").save(tmp_path / "grey.png")
    rgb = load_image(tmp_path / "grey.png")
    for channel in range(3):
        np.testing.assert_array_equal(rgb[..., channel], grey)


def test_cmyk_jpeg_keeps_its_colours(tmp_path):
    rgb = np.zeros((48, 96, 3), np.uint8)
    rgb[:, :32] = RED
    rgb[:, 32:64] = (0, 255, 0)
    rgb[:, 64:] = (255, 255, 255)
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "print.jpg", quality=95)
    assert Image.open(tmp_path / "print.jpg").mode == "CMYK"
    loaded = load_image(tmp_path / "print.jpg")
    assert loaded.shape == rgb.shape
    inner = (slice(8, -8), np.r_[4:28, 36:60, 68:92])
    assert np.abs(loaded[inner].astype(int) - rgb[inner].astype(int)).max() <= 12


def test_animated_gif_gives_its_first_frame(tmp_path):
    frames = [Image.new("RGB", (40, 40), RED), Image.new("RGB", (40, 40), BLUE)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert Image.open(tmp_path / "anim.gif").n_frames == 2
    np.testing.assert_array_equal(load_image(tmp_path / "anim.gif"), np.broadcast_to(RED, (40, 40, 3)))


def test_bytes_load_like_files(tmp_path):
    pixels = coordinate_image(50, 70)
    data = png_bytes(Image.fromarray(pixels))
    (tmp_path / "a.png").write_bytes(data)
    np.testing.assert_array_equal(image_from_bytes(data, "clipboard image"), load_image(tmp_path / "a.png"))
    with pytest.raises(BadImage, match="clipboard image"):
        image_from_bytes(b"not an image at all", "clipboard image")
    with pytest.raises(BadImage, match="empty"):
        image_from_bytes(b"", "dropped file")


# ----- unusable files -----


def assert_bad(path, *words):
    with pytest.raises(BadImage) as info:
        load_image(path)
    message = str(info.value)
    assert str(path) in message
    for word in words:
        assert word in message
    return message


def test_missing_file(tmp_path):
    assert_bad(tmp_path / "nowhere.png", "does not exist")


def test_folder_is_not_an_image(tmp_path):
    assert_bad(tmp_path, "folder")


def test_empty_file(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    assert_bad(tmp_path / "empty.jpg", "empty")


def test_text_renamed_to_png(tmp_path):
    (tmp_path / "notes.png").write_text("this is a shopping list, not a picture\n" * 20)
    assert_bad(tmp_path / "notes.png", "not an image", "PNG")


@pytest.mark.parametrize("keep", [0.3, 0.7])
def test_truncated_jpeg(tmp_path, keep):
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (200, 300, 3), dtype=np.uint8)).save(buf, "JPEG")
    data = buf.getvalue()
    (tmp_path / "cut.jpg").write_bytes(data[: int(len(data) * keep)])
    assert_bad(tmp_path / "cut.jpg", "damaged")


def test_corrupt_png_data(tmp_path):
    data = bytearray(png_bytes(Image.fromarray(coordinate_image(100, 100))))
    data[60:200] = bytes(range(140))  # garbage in the compressed pixel data
    (tmp_path / "broken.png").write_bytes(bytes(data))
    assert_bad(tmp_path / "broken.png", "damaged")


def test_tiny_image(tmp_path):
    Image.new("RGB", (100, 20)).save(tmp_path / "icon.png")
    assert_bad(tmp_path / "icon.png", "100x20", "32 pixels")


@pytest.mark.parametrize("side", [11_000, 20_000])  # over our 100 MP limit; over Pillow's own too
def test_decompression_bomb(tmp_path, side):
    (tmp_path / "bomb.png").write_bytes(png_claiming_size(side, 10_000 if side == 11_000 else side))
    assert_bad(tmp_path / "bomb.png", "too large")


# ----- cover and crop -----


@pytest.mark.parametrize(("h", "w"), [(500, 1000), (1000, 500), (480, 832), (97, 301), (700, 700)])
def test_fit_covers_the_bucket_and_keeps_the_centre(h, w):
    img = coordinate_image(h, w)
    bh, bw = nearest_bucket(h, w, 640)
    out = fit_to_bucket(img, bh, bw)
    assert out.shape == (bh, bw, 3) and out.dtype == np.uint8
    # Centred: the coordinates cut away on one side equal those cut away on the other.
    left, right = out[bh // 2, 0, 0].astype(int), out[bh // 2, -1, 0].astype(int)
    top, bottom = out[0, bw // 2, 1].astype(int), out[-1, bw // 2, 1].astype(int)
    assert abs(left + right - 255) <= 3 and abs(top + bottom - 255) <= 3
    # Covered, not padded: one axis keeps the image's full extent.
    assert (left <= 3 and right >= 252) or (top <= 3 and bottom >= 252)


def test_fit_crops_the_sides_of_a_wide_image():
    out = fit_to_bucket(coordinate_image(500, 1500), 480, 832)
    assert out[240, 0, 0] > 40 and out[240, -1, 0] < 215  # the sides are gone
    assert out[0, 416, 1] <= 3 and out[-1, 416, 1] >= 252  # the full height stays


def test_fit_leaves_an_exact_size_alone():
    img = coordinate_image(480, 832)
    np.testing.assert_array_equal(fit_to_bucket(img, 480, 832), img)


# ----- model tensor -----


def test_model_tensor_layout_and_range():
    img = np.zeros((32, 48, 3), np.uint8)
    img[..., 0] = 255
    img[0, 0] = (0, 51, 255)
    t = to_model_tensor(img)
    assert t.shape == (1, 3, 1, 32, 48) and t.dtype == torch.float32
    assert t[0, 0, 0, 5, 5].item() == 1.0 and t[0, 1, 0, 5, 5].item() == -1.0
    torch.testing.assert_close(t[0, :, 0, 0, 0], torch.tensor([-1.0, 51 / 127.5 - 1, 1.0]))


def test_reading_images_does_not_load_torch():
    """The UI loads and previews images through this module and must stay free of torch."""
    code = (
        "import sys; from framepack_desktop.engine.images import load_image, nearest_bucket, fit_to_bucket; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent.parent)
