"""fp8 compute: on Ada/Hopper/Blackwell tensor cores an fp8 matmul runs at twice the bf16 rate. The
blocks' linear layers become `Float8Linear`: e4m3 weights with a scale per output row, the
activation quantised per token on the fly, `torch._scaled_mm` with bf16 output. Whether the
result is good enough on a GPU is `fp8_quality.py`'s question.
"""
from __future__ import annotations

import torch
from torch import nn

E4M3 = torch.float8_e4m3fn
E4M3_MAX = float(torch.finfo(E4M3).max)
FP8_MIN_CAPABILITY = (8, 9)
_MIN_SCALE = 1e-12


class Float8Linear(nn.Module):
    """y = x W^T + b computed by an fp8 (e4m3) matmul with float scales, output in x's dtype.

    The weight is stored in e4m3 with one scale per output row (or one for the whole matrix when
    `rowwise` is False, for GPUs or dtypes whose kernels lack row scales); each call quantises the
    activation with one scale per token (or per tensor) from its absolute maximum, so no
    calibration is needed. The bias stays in high precision and is added after the matmul.
    The e4m3 weight and its float32 scales are kept as raw bits in integer buffers: a later
    `model.to(dtype)` casts floating-point buffers, and must neither turn the quantised weight
    back into bf16 nor round its scales.
    """

    def __init__(self, weight: torch.Tensor, weight_scale: torch.Tensor, bias: torch.Tensor | None, rowwise: bool):
        super().__init__()
        self.out_features, self.in_features = weight.shape
        self.rowwise = rowwise
        self.register_buffer("weight_bytes", weight.view(torch.uint8))
        self.register_buffer("weight_scale_bits", weight_scale.float().contiguous().view(torch.int32))
        self.bias = None if bias is None else nn.Parameter(bias, requires_grad=False)

    @classmethod
    def from_linear(cls, linear: nn.Linear, rowwise: bool = True, work_device: torch.device | None = None,
                    keep_on: torch.device | None = None) -> "Float8Linear":
        """Quantise `linear`; the arithmetic runs on `work_device` (default: where the weight is)
        and the result is kept on `keep_on` (default: the work device)."""
        w = linear.weight.detach().to(work_device or linear.weight.device).float()
        scale = _scale(w, rowwise)
        q = (w / scale).clamp(-E4M3_MAX, E4M3_MAX).to(E4M3)
        bias = None if linear.bias is None else linear.bias.detach().clone()
        if keep_on is not None:
            q, scale = q.to(keep_on), scale.to(keep_on)
            bias = None if bias is None else bias.to(keep_on)
        return cls(q, scale.reshape(-1) if rowwise else scale.reshape(1), bias, rowwise)

    @property
    def weight(self) -> torch.Tensor:
        return self.weight_bytes.view(E4M3)

    @property
    def weight_scale(self) -> torch.Tensor:
        return self.weight_scale_bits.view(torch.float32)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        x2 = x.reshape(-1, shape[-1])
        # The scale is rounded to x's dtype before use, so quantising and rescaling agree exactly.
        x_scale = _scale(x2, self.rowwise).to(x2.dtype)
        x_q = (x2 / x_scale).clamp(-E4M3_MAX, E4M3_MAX).to(E4M3)
        w_scale = self.weight_scale
        y = torch._scaled_mm(
            x_q, self.weight.t(),
            scale_a=x_scale.float().reshape(-1, 1) if self.rowwise else x_scale.float().reshape(()),
            scale_b=w_scale.reshape(1, -1) if self.rowwise else w_scale.reshape(()),
            out_dtype=x.dtype,
        )
        if self.bias is not None:
            y = y + self.bias.to(y.dtype)
        return y.reshape(*shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, rowwise={self.rowwise}"


def _scale(x: torch.Tensor, rowwise: bool) -> torch.Tensor:
    """float32 scale(s) that map x's absolute maximum (per row, or overall) onto e4m3's maximum."""
    amax = x.abs().amax(dim=-1, keepdim=True) if rowwise else x.abs().amax()
    return (amax.float() / E4M3_MAX).clamp(min=_MIN_SCALE)


def fp8_layers(transformer: nn.Module) -> list[tuple[nn.Module, str, nn.Linear]]:
    """(parent, name, linear) of every linear layer fp8 may take: inside the transformer blocks,
    except the modulation layers (`norm*`, one vector per call: nothing to gain, precision to lose),
    with both sizes multiples of 16 (what the fp8 kernels accept)."""
    found = []
    for blocks in (transformer.transformer_blocks, transformer.single_transformer_blocks):
        for block in blocks:
            for path, module in block.named_modules():
                for name, child in module.named_children():
                    full = f"{path}.{name}" if path else name
                    if (isinstance(child, nn.Linear) and not any(p.startswith("norm") for p in full.split("."))
                            and child.in_features % 16 == 0 and child.out_features % 16 == 0):
                        found.append((module, name, child))
    return found


def convert_to_fp8(transformer: nn.Module, rowwise: bool = True, work_device: torch.device | None = None,
                   keep_on: torch.device | None = None) -> int:
    """Replace the blocks' eligible linear layers by Float8Linear, in place; returns how many.

    Layer by layer, so a model on the CPU is quantised on the GPU (`work_device`) without ever
    being whole there; `keep_on` is where the fp8 weights stay (the GPU, or RAM for offloading).
    """
    layers = fp8_layers(transformer)
    for parent, name, linear in layers:
        setattr(parent, name, Float8Linear.from_linear(linear, rowwise, work_device, keep_on))
    return len(layers)


def count_fp8_linears(transformer: nn.Module) -> int:
    return sum(isinstance(m, Float8Linear) for m in transformer.modules())


def fp8_hardware(device: torch.device) -> str | None:
    """Why this device has no fp8 tensor cores for us, or None when it has (compute capability 8.9+)."""
    if device.type != "cuda" or not torch.cuda.is_available():
        return "fp8 compute needs an NVIDIA GPU"
    capability = torch.cuda.get_device_capability(device)
    if capability < FP8_MIN_CAPABILITY:
        name = torch.cuda.get_device_name(device)
        return (f"fp8 compute needs an Ada, Hopper or Blackwell GPU (compute capability 8.9 or newer); "
                f"{name} is {capability[0]}.{capability[1]}")
    return None


def fp8_rowwise_works(device: torch.device) -> bool:
    """Whether this torch/GPU pair has row-scaled fp8 matmuls (else one scale per tensor is used)."""
    a = torch.ones(16, 16, device=device, dtype=torch.bfloat16)
    layer = nn.Linear(16, 16, bias=False, device=device, dtype=torch.bfloat16)
    try:
        Float8Linear.from_linear(layer, rowwise=True)(a)
    except (RuntimeError, NotImplementedError):
        return False
    return True
