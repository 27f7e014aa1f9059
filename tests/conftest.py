"""Shared fixtures: offscreen Qt, one demo model set per test session, test images."""
import os
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests never read or write the user's real settings, outputs, prompt cache or hub cache.
_home = tempfile.mkdtemp(prefix="framepack-tests-")
os.environ["FRAMEPACK_DESKTOP_HOME"] = _home
os.environ["HF_HUB_CACHE"] = os.path.join(_home, "no-hub-cache")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402


@pytest.fixture(autouse=True)
def no_user_hub_cache(tmp_path, monkeypatch):
    """Each test starts with an empty Hugging Face cache of its own: components missing from a
    models folder must never be found in the developer's cache, or in one an earlier test filled."""
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "no-hub-cache"))


@pytest.fixture
def no_grad():
    """Model calls without autograd, as the engine makes them (files opt in with `usefixtures`)."""
    import torch

    with torch.no_grad():
        yield


@pytest.fixture(scope="session")
def demo_models(tmp_path_factory):
    from framepack_desktop.engine.models.demo import build_demo_models

    return build_demo_models(tmp_path_factory.mktemp("models") / "demo")


@pytest.fixture
def make_image():
    """Write a deterministic picture (smooth gradients plus texture) of (width, height) to a path."""

    def make(path, size, seed=0):
        w, h = size
        rng = np.random.default_rng(seed)
        y, x = np.mgrid[0:h, 0:w]
        base = np.stack([x / w * 255, y / h * 255, (x + y) / (w + h) * 255], axis=-1)
        img = np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(path)
        return path

    return make


@pytest.fixture(scope="module")
def one_torch_thread():
    """The demo models are tiny: one torch thread beats two contending for a shared CI machine's cores."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
