"""`models download --finishing`: RIFE and Real-ESRGAN from the (local fake) hub, placed and verified.

The fake hub of test_models_download serves the public repos' names with the demo set's tiny
random-weight files in their public containers (RIFE inside Practical-RIFE's release zip), so the
real loaders run on what arrived. No network.
"""
import io
import zipfile

import pytest
import test_models_download as fakehub
from test_models_download import FakeHub

from framepack_desktop.app import main
from framepack_desktop.engine.models.download import wanted_files
from framepack_desktop.engine.models.errors import DownloadFailed
from framepack_desktop.engine.models.finishing import FINISHING_FILES, download_finishing, plan_finishing
from framepack_desktop.engine.models.verify import verify_models
from framepack_desktop.engine.post.demo import write_post_models
from framepack_desktop.engine.post.weights import load_rife, load_upscaler


@pytest.fixture(autouse=True)
def isolated(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_TOKEN", "")
    # model files are LFS on the hub, so they come with a SHA-256 (what verify --hashes compares)
    monkeypatch.setattr(fakehub, "is_lfs", lambda path: path.endswith((".safetensors", ".pth", ".zip")))


@pytest.fixture
def models(tmp_path):
    """The demo finishing files: (rife bytes, x2 bytes, x4 bytes)."""
    rife, x2, x4 = write_post_models(tmp_path / "demo-post")
    return rife.read_bytes(), x2.read_bytes(), x4.read_bytes()


@pytest.fixture
def hub(models):
    rife, x2, x4 = models
    release = io.BytesIO()
    with zipfile.ZipFile(release, "w") as z:
        z.writestr("train_log/IFNet_HDv3.py", "# the network's code, which is not used\n")
        z.writestr("train_log/flownet.pkl", rife)
    fake = FakeHub({
        "Bash2X/RIFE-Models": {"RIFE_v4.6.zip": release.getvalue(), "RIFE_v4.26.zip": b"\0" * 99},
        "2kpr/Real-ESRGAN": {"RealESRGAN_x2plus.pth": x2, "RealESRGAN_x4plus.pth": x4, "README.md": b"# mirror\n"},
    })
    yield fake
    fake.close()


def finishing_problems(folder, hashes=True):
    return [str(p) for p in verify_models(folder, hashes=hashes) if p.component == "finishing models"]


def test_the_files_land_where_finish_looks_load_and_verify(hub, models, tmp_path):
    target = tmp_path / "models"
    seen = []
    placed = download_finishing(target, progress=lambda d, t, text: seen.append((d, t)), endpoint=hub.endpoint)
    rife, x2, x4 = target / "rife/flownet.pkl", target / "upscale_models/RealESRGAN_x2plus.pth", \
        target / "upscale_models/RealESRGAN_x4plus.pth"
    assert placed == [rife, x2, x4]
    assert (rife.read_bytes(), x2.read_bytes(), x4.read_bytes()) == models
    assert seen[-1][0] == seen[-1][1] > 0
    assert not hub.fetched("RIFE_v4.26.zip") and not hub.fetched("README.md")
    assert not list(target.rglob("*.part"))
    load_rife(rife)
    assert load_upscaler(x4)[1] == 4 and load_upscaler(x2)[1] == 2
    assert finishing_problems(target) == []

    damaged = bytearray(x4.read_bytes())
    damaged[-100] ^= 0xFF                              # same size, in the archive's directory
    x4.write_bytes(bytes(damaged))
    container, checksum = finishing_problems(target)
    assert "RealESRGAN_x4plus.pth is cut off or damaged" in container
    assert "RealESRGAN_x4plus.pth does not match its SHA-256 checksum" in checksum
    rife.write_bytes(rife.read_bytes()[:-10])
    assert any("flownet.pkl has" in p and "the download was" in p for p in finishing_problems(target, hashes=False))


def test_a_second_run_fetches_nothing_and_a_damaged_file_comes_again(hub, models, tmp_path):
    target = tmp_path / "models"
    download_finishing(target, endpoint=hub.endpoint)
    hub.requests.clear()
    assert plan_finishing(target, endpoint=hub.endpoint).files == ()
    download_finishing(target, endpoint=hub.endpoint)
    assert not [r for r in hub.requests if r[0] == "GET" and "/resolve/" in r[1]]
    x2 = target / "upscale_models/RealESRGAN_x2plus.pth"
    x2.write_bytes(x2.read_bytes()[:50])
    download_finishing(target, endpoint=hub.endpoint)
    assert x2.read_bytes() == models[1] and len(hub.fetched("RealESRGAN_x2plus.pth")) == 1


def test_the_users_own_files_are_left_alone(hub, tmp_path):
    target = tmp_path / "models"
    mine = target / "upscale_models/RealESRGAN_x2plus.pth"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"my own fine-tuned upscaler")
    plan = plan_finishing(target, endpoint=hub.endpoint)
    assert plan.skipped == ("Real-ESRGAN ×2 (your own upscale_models/RealESRGAN_x2plus.pth)",)
    assert download_finishing(target, endpoint=hub.endpoint) == [target / "rife/flownet.pkl",
                                                                 target / "upscale_models/RealESRGAN_x4plus.pth"]
    assert mine.read_bytes() == b"my own fine-tuned upscaler"
    assert not hub.fetched("RealESRGAN_x2plus.pth")


def test_never_part_of_the_main_download_and_offline_says_so(monkeypatch, tmp_path):
    repos = set(wanted_files(("original", "f1"), "bf16")) | set(wanted_files(("original", "f1"), "fp8"))
    assert not repos & {f.repo_id for f in FINISHING_FILES}
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DownloadFailed, match="Downloads are switched off"):
        download_finishing(tmp_path / "models")
    assert not (tmp_path / "models").exists()


def test_the_command(hub, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    target = tmp_path / "models"
    assert main(["models", "download", "--finishing", "--models", str(target)]) == 0
    assert (target / "rife/flownet.pkl").is_file() and not (target / "lllyasviel").exists()
    assert str(target / "upscale_models/RealESRGAN_x4plus.pth") in capsys.readouterr().err


def test_the_models_window_lists_them_and_fetches_them(qtbot, hub, monkeypatch, tmp_path):
    from framepack_desktop.ui.background import Tasks
    from framepack_desktop.ui.models_window import ModelsWindow

    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    target = tmp_path / "models"
    target.mkdir()
    window = ModelsWindow(str(target), Tasks())
    qtbot.addWidget(window)
    finishing = lambda: {r[0]: r[1] for r in window.rows() if r[0].endswith("(Finish)")}  # noqa: E731
    assert finishing() == {"RIFE 4.6 (Finish)": "optional, not downloaded",
                           "Real-ESRGAN ×2 (Finish)": "optional, not downloaded",
                           "Real-ESRGAN ×4 (Finish)": "optional, not downloaded"}
    window.get_finishing.click()
    qtbot.waitUntil(lambda: window.status.text().startswith("Finishing models ready"), timeout=30_000)
    assert set(finishing().values()) == {"installed"} and (target / "rife/flownet.pkl").is_file()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (target / "upscale_models/RealESRGAN_x4plus.pth").unlink()
    window.get_finishing.click()
    qtbot.waitUntil(lambda: window.get_finishing.isEnabled(), timeout=30_000)
    assert window.status.text().startswith("Downloads are switched off")
