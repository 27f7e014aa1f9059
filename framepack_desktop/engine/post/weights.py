"""Interpolation and upscaler model files: how they load, and what a wrong file says.

Where they live is in files.py. The files are the public ones: RIFE's keys may carry
DataParallel's `module.` prefix, Real-ESRGAN keeps its weights under `params_ema`.

Every load is strict: a cut-off download, a file of another kind (a FramePack checkpoint, an
upscaler given as the interpolator) or an unknown layout becomes one `BadModelFile` line naming
the file and what it should be, never a traceback. `torch.load` runs with `weights_only=True`, so
a pickle cannot run code. Models run on the GPU in fp16 when there is one, else on the CPU in fp32.
"""
from __future__ import annotations

import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path

import torch

from ..errors import UserError
from .files import default_rife, default_upscaler

__all__ = ["BadModelFile", "default_rife", "default_upscaler", "device", "load_rife", "load_upscaler",
           "read_state_dict"]

_WRAPPERS = ("params_ema", "params", "state_dict", "model")
_TORCH_MAGIC = (b"PK", b"\x80\x02")  # a torch zip archive, or the legacy format's pickle protocol 2


class BadModelFile(UserError):
    """A model file that is missing, damaged or of the wrong kind."""


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a .safetensors or torch file, unwrapped and without `module.` prefixes."""
    path = Path(path)
    if not path.is_file():
        raise BadModelFile(f"{path} does not exist. Put the model file there, or choose another.")
    with open(path, "rb") as f:
        magic = f.read(4)
    safetensors = path.suffix.lower() == ".safetensors"
    if not safetensors and magic[:2] not in _TORCH_MAGIC:
        raise BadModelFile(f"{path} is not a model file (neither a torch file nor safetensors); choose another.")
    try:
        if safetensors:
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError, EOFError, KeyError, pickle.UnpicklingError, zipfile.BadZipFile) as err:
        raise BadModelFile(f"{path} is not a readable model file ({_short(err)}); download it again.") from err
    for key in _WRAPPERS:
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise BadModelFile(f"{path} holds no model weights; download it again.")
    return {k.removeprefix("module."): v for k, v in state.items()}


def load_rife(path: Path) -> torch.nn.Module:
    """RIFE's IFNet from `path`, on the device, in eval mode."""
    from .ifnet import IFNet

    state = read_state_dict(path)
    try:
        net = IFNet.from_state_dict(state)
    except (KeyError, RuntimeError) as err:
        raise BadModelFile(f"{path} is not a RIFE v4 interpolation model (flownet.pkl from Practical-RIFE "
                           f"4.x): {_describe(state)}. Choose the RIFE file or the 'flow' method.") from err
    return _ready(net)


def load_upscaler(path: Path) -> tuple[Callable[[torch.Tensor], torch.Tensor], int]:
    """An upscaler from `path` as (callable on N x 3 x H x W in 0..1, its scale)."""
    try:
        import spandrel
    except ImportError:
        spandrel = None
    if spandrel is not None:
        return _load_with_spandrel(spandrel, Path(path))
    from .rrdbnet import RRDBNet

    state = read_state_dict(path)
    try:
        net = RRDBNet.from_state_dict(state)
    except (KeyError, RuntimeError, ValueError) as err:
        raise BadModelFile(f"{path} is not an ESRGAN-family upscaler (e.g. RealESRGAN_x4plus.pth): "
                           f"{_describe(state)}. Choose an upscaler file or 'lanczos'.") from err
    return _ready(net), net.scale


def _load_with_spandrel(spandrel, path: Path):
    if not path.is_file():
        raise BadModelFile(f"{path} does not exist. Put the model file there, or choose another.")
    try:
        descriptor = spandrel.ModelLoader().load_from_file(str(path))
    except spandrel.UnsupportedModelError as err:
        raise BadModelFile(f"{path} is not an upscaler spandrel knows. Choose an upscaler file or 'lanczos'.") from err
    except (OSError, RuntimeError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise BadModelFile(f"{path} is not a readable model file ({_short(err)}); download it again.") from err
    if not isinstance(descriptor, spandrel.ImageModelDescriptor) or descriptor.input_channels != 3:
        raise BadModelFile(f"{path} is a {descriptor.architecture.name} model, not an RGB upscaler.")
    descriptor.to(device()).eval()
    if device().type == "cuda" and descriptor.supports_half:
        descriptor.half()
    return descriptor, descriptor.scale


def _ready(net: torch.nn.Module) -> torch.nn.Module:
    net.eval().requires_grad_(False).to(device())
    return net.half() if device().type == "cuda" else net


def _describe(state: dict[str, torch.Tensor]) -> str:
    keys = sorted(state)
    return f"its {len(keys)} tensors start with '{keys[0]}'" if keys else "it holds no tensors"


def _short(err: Exception) -> str:
    first = str(err).splitlines()[0].split(". ")[0] if str(err) else type(err).__name__
    return first[:100]
