"""RIFE and ESRGAN files: the demo set writes them in their public layouts and they load strictly."""
import pytest
import torch

from framepack_desktop.engine.post.demo import write_post_models
from framepack_desktop.engine.post.ifnet import PUBLIC_WIDTHS, IFNet
from framepack_desktop.engine.post.rrdbnet import RRDBNet
from framepack_desktop.engine.post.weights import (
    BadModelFile, default_rife, default_upscaler, load_rife, load_upscaler, read_state_dict,
)


def test_demo_set_includes_loadable_post_models(demo_models):
    rife = torch.load(default_rife(demo_models), weights_only=True)
    assert all(k.startswith("module.block") for k in rife)              # Practical-RIFE's DataParallel keys
    assert isinstance(load_rife(default_rife(demo_models)), IFNet)
    for scale in (2, 4):
        raw = torch.load(default_upscaler(demo_models, scale), weights_only=True)
        assert list(raw) == ["params_ema"]                               # Real-ESRGAN's wrapper
        model, model_scale = load_upscaler(default_upscaler(demo_models, scale))
        assert model_scale == scale


def test_public_rife_layout_has_the_released_shapes():
    """The v4.6 release's widths and inputs: block 0 sees 7 channels, the others 12; 4+1+1 outputs, shuffled x2."""
    state = IFNet(PUBLIC_WIDTHS).state_dict()
    assert state["block0.conv0.0.0.weight"].shape == (96, 7, 3, 3)
    assert state["block1.conv0.0.0.weight"].shape == (64, 12, 3, 3)
    assert state["block3.convblock.7.0.weight"].shape == (64, 64, 3, 3)
    assert state["block0.lastconv.0.weight"].shape == (192, 24, 4, 4)
    assert len(state) == 4 * (2 + 8 + 1) * 2


def test_prelu_releases_load_too(tmp_path):
    net = IFNet((16, 16, 8, 8), prelu=True)
    torch.save(net.state_dict(), tmp_path / "flownet.pkl")
    loaded = load_rife(tmp_path / "flownet.pkl")
    assert isinstance(loaded.block0.conv0[0][1], torch.nn.PReLU)


def test_esrgan_shape_is_read_from_the_file(tmp_path):
    torch.save(RRDBNet(scale=2, nf=12, gc=6, blocks=3).state_dict(), tmp_path / "x2.pth")
    net = RRDBNet.from_state_dict(read_state_dict(tmp_path / "x2.pth"))
    assert (net.scale, len(net.body), net.conv_first.in_channels) == (2, 3, 12)
    x = torch.rand(1, 3, 8, 12)
    assert net(x).shape == (1, 3, 16, 24)


def test_safetensors_upscalers_load(tmp_path):
    from safetensors.torch import save_file

    save_file(RRDBNet(scale=4, nf=8, gc=4, blocks=1).state_dict(), tmp_path / "up.safetensors")
    _, scale = load_upscaler(tmp_path / "up.safetensors")
    assert scale == 4


def test_a_framepack_checkpoint_is_not_an_upscaler(tmp_path, demo_models):
    weights = next((demo_models / "hunyuanvideo-community").rglob("*.safetensors"))
    with pytest.raises(BadModelFile, match="not an ESRGAN-family upscaler"):
        load_upscaler(weights)


def test_models_verify_checks_the_finishing_files(tmp_path):
    from framepack_desktop.engine.models.verify import verify_models

    write_post_models(tmp_path)
    checked = []
    assert not [p for p in verify_models(tmp_path, ("original",), on_file=checked.append) if p.component == "finishing models"]
    assert default_rife(tmp_path) in checked and default_upscaler(tmp_path, 4) in checked
    data = bytearray(default_upscaler(tmp_path, 4).read_bytes())
    data[len(data) // 2] ^= 0xFF                                   # one flipped byte inside the weights
    default_upscaler(tmp_path, 4).write_bytes(bytes(data))
    default_rife(tmp_path).write_bytes(default_rife(tmp_path).read_bytes()[:5000])   # a cut-off download
    found = {p.path: p.detail for p in verify_models(tmp_path, ("original",)) if p.component == "finishing models"}
    assert set(found) == {default_rife(tmp_path), default_upscaler(tmp_path, 4)}
    assert "cut off" in found[default_rife(tmp_path)] and "checksum" in found[default_upscaler(tmp_path, 4)]
