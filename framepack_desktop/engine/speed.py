"""Making the transformer fast: attention backend, regional torch.compile, fp8 compute.

A sampling step is one call of a 13B transformer over ~18k tokens; nothing else in a job costs
as much. Three levers, each optional and each leaving the model's maths unchanged or checked:

- Attention backend. diffusers routes every attention call through its dispatcher, so a faster
  kernel (FlashAttention 2/3, SageAttention, cuDNN, xformers) is a setting of the model, not a
  code change. "auto" takes the installed ones that suit the GPU and agree with PyTorch's SDPA on
  a tiny probe, times each (and SDPA, "native") on one attention call of FramePack's size, and
  uses the fastest; the verdict is cached per GPU. The name used is recorded in the job's log.
- Regional torch.compile. The 60 transformer blocks are two classes repeated; compiling each block
  (not the whole model) compiles each class once (keeping compile time short),
  and leaves the code around the blocks (history packing, TeaCache's skip decision, offloading
  hooks) eager. Inductor's cache lives in the user cache folder, so later starts reuse the kernels.
- fp8 compute. On Ada/Hopper/Blackwell tensor cores an fp8 matmul runs at twice the bf16 rate.
  The blocks' linear layers become `Float8Linear`: e4m3 weights with a scale per output row, the
  activation quantised per token on the fly, `torch._scaled_mm` with bf16 output. Precision drops,
  so fp8 is offered only where a check against bf16 on the same random weights and inputs keeps the
  relative error of the predicted velocity under `FP8_MAX_RELATIVE_ERROR`; the verdict is cached
  per GPU model and library versions.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .errors import BadSettings
from ..settings import APP_NAME, HOME_ENV

NATIVE = "native"
# The backends "auto" considers on CUDA besides "native" (PyTorch SDPA with its own default pick):
# those installed that suit the GPU and pass the probe are timed, the fastest is used
# (`fastest_attention`). cuDNN's attention is PyTorch's own, so it is always there on CUDA;
# FlashAttention 3 is Hopper-only.
AUTO_ATTENTION = ("sage", "_flash_3", "_native_cudnn", "flash", "xformers")
ATTENTION_MIN_CAPABILITY = {"sage": (8, 0), "_flash_3": (9, 0), "_native_cudnn": (8, 0), "flash": (8, 0),
                            "xformers": (7, 0)}
ATTENTION_MAX_CAPABILITY = {"_flash_3": (9, 0)}
PROBE_MAX_RELATIVE_ERROR = 0.05

E4M3 = torch.float8_e4m3fn
E4M3_MAX = float(torch.finfo(E4M3).max)
FP8_MIN_CAPABILITY = (8, 9)
# e4m3 rounds each matmul to ~3.5 %; through FramePack's 60 blocks with random weights that
# accumulates to 6-7 % (docs/BENCHMARKS.md). Well above that means a broken kernel or activations
# whose outliers per-token scales cannot hold.
FP8_MAX_RELATIVE_ERROR = 0.10
_MIN_SCALE = 1e-12


@dataclass(frozen=True)
class SpeedSetup:
    """What `prepare_transformer` did, for the job log and the job's record."""

    attention: str
    compiled_blocks: int = 0
    fp8_linears: int = 0
    attention_seconds: tuple[tuple[str, float], ...] = ()   # the timed candidates, fastest first

    def describe(self) -> str:
        compiled = f"{self.compiled_blocks} blocks compiled" if self.compiled_blocks else "eager"
        fp8 = f"fp8 compute in {self.fp8_linears} linear layers" if self.fp8_linears else "no fp8 compute"
        timed = ""
        if len(self.attention_seconds) > 1:
            timed = " (timed: " + ", ".join(f"{name} {s * 1000:.2f} ms" for name, s in self.attention_seconds) + ")"
        return f"attention {self.attention}{timed}, {compiled}, {fp8}"


def prepare_transformer(transformer: nn.Module, device: str | torch.device, attention: str = "auto") -> SpeedSetup:
    """Choose the attention kernel of a loaded transformer and record its speed settings; the
    runner's one call. fp8 compute and compile were applied when the session loaded the model
    (`session.py`: fp8 before the offloading hooks, compile after), so they are counted here, not
    set: a transformer kept between jobs carries them.
    """
    device = torch.device(device)
    timings: dict[str, float] = {}
    backend = choose_attention(transformer, device, attention, timings)
    return SpeedSetup(backend, count_compiled_blocks(transformer), count_fp8_linears(transformer),
                      tuple(sorted(timings.items(), key=lambda item: item[1])))


def support(device: str | torch.device = "auto", models: str | None = None) -> tuple[str | None, str | None]:
    """(why compile is not offered, why fp8 compute is not) on `device`, None where it is: what the
    window asks once at start to enable its checkboxes.

    With `models` (a models folder or "demo") fp8 compute is offered only if its quality check
    passes on this GPU (run once with a narrow model of the transformer's full depth, then cached;
    22.6 s on a 2-core CPU, not yet timed on a GPU); without a transformer on disk only the hardware is checked, and the check runs
    when a job loads.
    """
    if str(device) == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(device)
    fp8 = fp8_hardware(device)
    config = transformer_config(models) if fp8 is None and models else None
    if config:
        fp8 = fp8_unavailable(device, config)
    return compile_unavailable(device), fp8


def transformer_config(models: str) -> dict | None:
    """The original transformer's config.json in a models folder ("demo": the demo set, if it was
    built already; nothing is built here, at start-up), or None when it is not there."""
    from .models.layout import locate
    from .models.loader import DEMO_SPEC, demo_models_dir

    folder = demo_models_dir() if models.strip().lower() == DEMO_SPEC else Path(models).expanduser()
    try:
        return json.loads((locate(folder, "transformer", "original") / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# ----- convolutions (the VAE) -----
def tune_convolutions(device: torch.device) -> bool:
    """Let cuDNN time its 3D-convolution algorithms once per shape and keep the fastest.

    A section's VAE decode at the 640 bucket is ~640 TFLOP of 3D convolutions by frames (counted
    with torch's FLOP counter, docs/BENCHMARKS.md): as much work as a sampling step, done while the
    user waits for the section to appear. Every section after the first decodes the same shapes,
    so the one-off timing pays for itself from the second section on. Returns whether it is on.
    """
    if torch.device(device).type != "cuda":
        return False
    torch.backends.cudnn.benchmark = True
    return True


# ----- attention backend -----
def attention_candidates(device: torch.device) -> list[str]:
    """Backends "auto" may try on `device`, best first; always ends with "native"."""
    if device.type != "cuda" or not torch.cuda.is_available():
        return [NATIVE]
    capability = torch.cuda.get_device_capability(device)

    def suits(name: str) -> bool:
        highest = ATTENTION_MAX_CAPABILITY.get(name)
        return capability >= ATTENTION_MIN_CAPABILITY[name] and (highest is None or capability <= highest)

    return [name for name in AUTO_ATTENTION if suits(name)] + [NATIVE]


def choose_attention(transformer: nn.Module, device: torch.device, requested: str = "auto",
                     timings: dict[str, float] | None = None) -> str:
    """Set the transformer's attention backend; returns the name in use.

    An explicit name must work (BadSettings otherwise); "auto" takes, of the candidates that
    diffusers accepts and that pass `probe_attention`, the fastest (`fastest_attention`; their
    seconds go into `timings` when given), else "native". Kernel-hub backends are never chosen:
    they download code at run time.
    """
    requested = (requested or "auto").strip().lower()
    if requested == "auto":
        usable = [name for name in attention_candidates(device)[:-1] if _try_backend(transformer, name, device) is None]
        best, seconds = fastest_attention(device, usable + [NATIVE]) if usable else (NATIVE, {})
        if timings is not None:
            timings.update(seconds)
        _set_backend(transformer, best)
        return best
    names = attention_names()
    if requested not in names:
        raise BadSettings(f"Unknown attention backend '{requested}': use auto or one of {', '.join(names)}.")
    problem = _try_backend(transformer, requested, device)
    if problem:
        raise BadSettings(f"The attention backend '{requested}' does not work here ({problem}). Choose 'auto'.")
    return requested


def fastest_attention(device: torch.device, usable: list[str],
                      cache_file: Path | None = None) -> tuple[str, dict[str, float]]:
    """The fastest of `usable` backends on this GPU and each one's seconds, timed once and remembered.

    Which kernel wins depends on the GPU, the sequence length and the library versions (cuDNN's
    attention beats FlashAttention 2 on Hopper, SageAttention's int8 kernels on Ada, ...), so the
    choice is measured: each backend on one attention call of FramePack's size, the fastest kept.
    The verdict is cached per GPU model, library versions and set of usable backends.
    """
    import diffusers

    cache_file = cache_file or speed_cache_dir() / "attention-choice.json"
    key = "|".join([device_name(device), torch.__version__, diffusers.__version__, ",".join(usable)])
    cached = _read_json(cache_file)
    if cached.get(key, {}).get("best") in usable:
        return cached[key]["best"], dict(cached[key].get("seconds", {}))
    timings = {}
    for name in usable:
        try:
            timings[name] = time_attention(name, device)
        except (RuntimeError, ValueError, TypeError, NotImplementedError):
            continue        # passed the small probe but fails at full size: not a candidate
    best = min(timings, key=timings.get) if timings else NATIVE
    cached[key] = {"best": best, "seconds": timings}
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    cache_file.write_text(json.dumps(cached, indent=1), encoding="utf-8")
    return best, timings


def time_attention(name: str, device: torch.device, repeats: int = 3) -> float:
    """Median seconds of one attention call through backend `name`: 24 heads of 128 over 8192
    tokens in bf16 on a GPU (about half of FramePack's joint sequence at the 640 bucket), smaller
    on the CPU. The first call (kernel selection, autotuning) is not counted."""
    import time

    from diffusers.models.attention_dispatch import dispatch_attention_fn

    cuda = device.type == "cuda"
    tokens, heads = (8192, 24) if cuda else (512, 4)
    gen = torch.Generator("cpu").manual_seed(0)
    q, k, v = (torch.randn(1, tokens, heads, 128, generator=gen).to(device, torch.bfloat16 if cuda else torch.float32)
               for _ in range(3))
    times = []
    for i in range(repeats + 1):
        if cuda:
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        dispatch_attention_fn(q, k, v, backend=name)
        if cuda:
            torch.cuda.synchronize(device)
        if i:
            times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def attention_names() -> list[str]:
    """Every backend name a job may ask for: diffusers' own, without those fetched from the Hub."""
    from diffusers.models.attention_dispatch import AttentionBackendName

    return sorted(b.value for b in AttentionBackendName if not b.value.endswith("_hub"))


def _try_backend(transformer: nn.Module, name: str, device: torch.device) -> str | None:
    """Set backend `name` if it is installed and computes attention correctly; else why not."""
    try:
        _set_backend(transformer, name)
    except (RuntimeError, ValueError, ImportError) as e:
        _set_backend(transformer, NATIVE)
        return str(e)
    problem = probe_attention(name, device)
    if problem:
        _set_backend(transformer, NATIVE)
    return problem


def _set_backend(transformer: nn.Module, name: str) -> None:
    """`set_attention_backend` without its "experimental feature" warning on every job's console."""
    from diffusers.utils import logging

    log = logging.get_logger("diffusers.models.modeling_utils")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        transformer.set_attention_backend(name)
    finally:
        log.setLevel(level)


def probe_attention(name: str, device: torch.device) -> str | None:
    """Run backend `name` once on a small input and compare with PyTorch SDPA; None when it agrees.

    Catches what an import check cannot: a kernel built for another GPU or torch, a backend
    that rejects this device. Inputs are bf16 on CUDA (what the flash kernels take), float32 else.
    """
    from diffusers.models.attention_dispatch import dispatch_attention_fn

    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    gen = torch.Generator("cpu").manual_seed(0)
    q, k, v = (torch.randn(1, 128, 2, 64, generator=gen).to(device=device, dtype=dtype) for _ in range(3))
    try:
        out = dispatch_attention_fn(q, k, v, backend=name)
    except (RuntimeError, ValueError, TypeError, NotImplementedError) as e:
        return f"{type(e).__name__}: {e}"
    expected = dispatch_attention_fn(q, k, v, backend=NATIVE)
    error = relative_error(out, expected)
    if not error <= PROBE_MAX_RELATIVE_ERROR:
        return f"its result differs from PyTorch SDPA by {error:.3g} (relative)"
    return None


# ----- regional torch.compile -----
def speed_cache_dir() -> Path:
    """The user cache folder of the speed settings (compiled kernels, fp8 and attention verdicts);
    under FRAMEPACK_DESKTOP_HOME when that is set, like everything else of the app."""
    import platformdirs

    home = os.environ.get(HOME_ENV)
    return Path(home) / "cache" if home else platformdirs.user_cache_path(APP_NAME, appauthor=False)


def compile_cache_dir() -> Path:
    """Where inductor keeps compiled kernels between runs."""
    return speed_cache_dir() / "torch-compile"


def use_compile_cache(folder: Path | None = None) -> Path:
    """Point inductor's on-disk caches at `folder` (default `compile_cache_dir()`), unless the user
    already chose one with TORCHINDUCTOR_CACHE_DIR. Must run before the first compilation."""
    chosen = Path(os.environ.get("TORCHINDUCTOR_CACHE_DIR") or folder or compile_cache_dir())
    chosen.mkdir(parents=True, exist_ok=True)
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(chosen)
    return chosen


def compile_unavailable(device: torch.device) -> str | None:
    """Why torch.compile cannot work on `device`, or None: inductor needs Triton on the GPU and a
    C++ compiler on the CPU."""
    if device.type == "cuda":
        from torch.utils._triton import has_triton

        if not has_triton():
            hint = "pip install triton-windows" if sys.platform == "win32" else "pip install triton"
            return f"torch.compile on the GPU needs Triton, which is not installed ({hint})"
        return None
    if device.type == "cpu":
        if os.environ.get("CXX") or any(shutil.which(c) for c in ("g++", "c++", "clang++", "cl")):
            return None
        return "torch.compile on the CPU needs a C++ compiler (g++, clang++ or MSVC's cl) on the PATH"
    return f"torch.compile is not supported by this app on {device.type}"


def count_compiled_blocks(transformer: nn.Module) -> int:
    blocks = [*transformer.transformer_blocks, *transformer.single_transformer_blocks]
    return sum(getattr(b, "_compiled_call_impl", None) is not None for b in blocks)


# Transformers whose compiled blocks have run once: their next call does not compile.
_compiled_runs: "weakref.WeakSet[nn.Module]" = weakref.WeakSet()


def compiles_at_next_call(transformer: nn.Module) -> bool:
    """Whether the next call will compile (compiled blocks that have not run yet): the runner says
    so, as that first step takes from seconds (kernels cached) to minutes."""
    return count_compiled_blocks(transformer) > 0 and transformer not in _compiled_runs


def mark_compiled_run(transformer: nn.Module) -> None:
    if count_compiled_blocks(transformer):
        _compiled_runs.add(transformer)


def set_compiled(transformer: nn.Module, device: torch.device, on: bool) -> int:
    """Compile the blocks, or return them to eager, in place; returns how many are compiled.

    A model kept between jobs changes mode without reloading its weights: compiling is lazy (the
    first call compiles), and going back to eager only drops the compiled wrappers.
    """
    blocks = [*transformer.transformer_blocks, *transformer.single_transformer_blocks]
    if on and count_compiled_blocks(transformer) < len(blocks):
        _compiled_runs.discard(transformer)
        compile_blocks(transformer, device)
    elif not on:
        for block in blocks:
            block._compiled_call_impl = None
    return count_compiled_blocks(transformer)


def compile_blocks(transformer: nn.Module, device: torch.device, cache_dir: Path | None = None,
                   **options) -> int:
    """Compile every double and single transformer block in place; returns how many.

    Compilation itself happens at the first call (the first sampling step is slow, later ones
    and later starts are fast). `options` go to torch.compile (e.g. mode="max-autotune-no-cudagraphs").
    Blocks keep their identity, so hooks on them and TeaCache's wrapper keep working.
    """
    problem = compile_unavailable(torch.device(device))
    if problem:
        raise BadSettings(f"Cannot compile the model: {problem}. Turn compilation off.")
    use_compile_cache(cache_dir)
    blocks = [*transformer.transformer_blocks, *transformer.single_transformer_blocks]
    for block in blocks:
        block.compile(**options)
    return len(blocks)


# ----- fp8 compute -----
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


@dataclass(frozen=True)
class Fp8Check:
    """Relative error of the fp8 velocity prediction against bf16 on the same weights and inputs."""

    relative_error: float
    threshold: float
    linears: int
    rowwise: bool

    @property
    def passed(self) -> bool:
        return self.relative_error <= self.threshold


def relative_error(value: torch.Tensor, reference: torch.Tensor) -> float:
    """||value - reference|| / ||reference|| in float32 (inf when the value is not finite)."""
    value, reference = value.float(), reference.float()
    if not torch.isfinite(value).all():
        return float("inf")
    return float((value - reference).norm() / reference.norm().clamp(min=1e-30))


@torch.no_grad()
def fp8_check(transformer: nn.Module, inputs: Mapping, rowwise: bool = True,
              threshold: float = FP8_MAX_RELATIVE_ERROR) -> Fp8Check:
    """Predict with `transformer` as it is (bf16), convert it to fp8 in place, predict again, compare.

    `inputs` are the transformer's keyword arguments (hidden_states, timestep, ... as the runner
    passes them). The transformer stays converted: build it for the check (random weights) or
    reload it when the check fails.
    """
    reference = transformer(**inputs, return_dict=False)[0].float()
    linears = convert_to_fp8(transformer, rowwise)
    value = transformer(**inputs, return_dict=False)[0].float()
    return Fp8Check(relative_error(value, reference), threshold, linears, rowwise)


def random_inputs(config: Mapping, device: torch.device, dtype: torch.dtype, latent_height: int,
                  latent_width: int, window: int = 9, text_tokens: int = 64, image_tokens: int = 729,
                  seed: int = 0) -> dict[str, torch.Tensor]:
    """Keyword arguments of one FramePack transformer call with random values, laid out as the
    original model's first section (start + 1x clean latents, 2x and 4x history)."""
    gen = torch.Generator("cpu").manual_seed(seed)
    c = config["in_channels"]

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=gen).to(device=device, dtype=dtype)

    size = (latent_height, latent_width)
    return {
        "hidden_states": rand(1, c, window, *size),
        "timestep": torch.tensor([900.0], device=device, dtype=dtype),
        "guidance": torch.tensor([10000.0], device=device, dtype=dtype),
        "encoder_hidden_states": rand(1, text_tokens, config["text_embed_dim"]),
        "encoder_attention_mask": torch.ones(1, text_tokens, device=device, dtype=dtype),
        "pooled_projections": rand(1, config["pooled_projection_dim"]),
        "image_embeds": rand(1, image_tokens, config["image_proj_dim"]),
        "indices_latents": torch.arange(1, 1 + window, device=device),
        "latents_clean": rand(1, c, 2, *size),
        "indices_latents_clean": torch.tensor([0, window + 1], device=device),
        "latents_history_2x": rand(1, c, 2, *size),
        "indices_latents_history_2x": torch.arange(window + 2, window + 4, device=device),
        "latents_history_4x": rand(1, c, 16, *size),
        "indices_latents_history_4x": torch.arange(window + 4, window + 20, device=device),
    }


def build_random(factory: Callable[[], nn.Module], device: str | torch.device, dtype: torch.dtype,
                 seed: int = 0) -> nn.Module:
    """A model with random weights made directly on `device` in `dtype`, never whole on the CPU.

    The model is constructed with its parameters on the meta device (buffers such as rotary
    tables stay real), then every parameter is allocated on `device` and filled: matrices and
    kernels from N(0, 1/fan_in), norm scales 1, biases 0, so activations keep their size through
    the depth as in a trained model. That is how a 13B transformer is measured without its weights.
    """
    from accelerate import init_empty_weights

    device = torch.device(device)
    with init_empty_weights(include_buffers=False):
        model = factory()
    gen = torch.Generator(device).manual_seed(seed)
    for module in model.modules():
        for name, param in list(module._parameters.items()):
            if param is None:
                continue
            data = torch.empty(param.shape, device=device, dtype=dtype)
            if data.ndim >= 2:
                data.normal_(0.0, (data[0].numel()) ** -0.5, generator=gen)
            elif name == "weight":
                data.fill_(1.0)
            else:
                data.zero_()
            module._parameters[name] = nn.Parameter(data, requires_grad=False)
    return model.to(device).eval()


def fp8_verdict(device: torch.device, config: Mapping, cache_file: Path | None = None) -> Fp8Check:
    """The fp8 quality check for this GPU, run once and cached per GPU model and library versions.

    The check model has the full depth and head size of `config` (error accumulates with depth)
    but 2 heads instead of 24: the rounding error of a matmul does not depend on its width, and
    the model then fits beside anything on any fp8-capable card. The benchmark runs the check at
    full size too.
    """
    import diffusers

    cache_file = cache_file or speed_cache_dir() / "fp8-check.json"
    key = "|".join([device_name(device), torch.__version__, diffusers.__version__, str(FP8_MAX_RELATIVE_ERROR)])
    cached = _read_json(cache_file)
    if key in cached:
        return Fp8Check(**cached[key])
    from diffusers import HunyuanVideoFramepackTransformer3DModel

    narrow = {k: v for k, v in dict(config).items() if not k.startswith("_")}
    narrow["num_attention_heads"] = 2
    model = build_random(lambda: HunyuanVideoFramepackTransformer3DModel(**narrow), device, torch.bfloat16)
    check = fp8_check(model, random_inputs(narrow, device, torch.bfloat16, 32, 32), fp8_rowwise_works(device),
                      threshold=FP8_MAX_RELATIVE_ERROR)
    del model
    cached[key] = {"relative_error": check.relative_error, "threshold": check.threshold,
                   "linears": check.linears, "rowwise": check.rowwise}
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    cache_file.write_text(json.dumps(cached, indent=1), encoding="utf-8")
    return check


def device_name(device: torch.device) -> str:
    """The GPU's model name, or the CPU's architecture: what a cached verdict is valid for."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import platform

    return f"{device.type} {platform.machine()}"


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def fp8_unavailable(device: torch.device, config: Mapping) -> str | None:
    """Why fp8 compute is not offered on `device`, or None when it is (hardware and quality check)."""
    problem = fp8_hardware(device)
    if problem:
        return problem
    check = fp8_verdict(device, config)
    if not check.passed:
        return (f"on this GPU fp8 changes the model's prediction by {check.relative_error:.1%} "
                f"(more than the {check.threshold:.0%} allowed)")
    return None


def enable_fp8(transformer: nn.Module, device: torch.device, keep_on: torch.device | None = None) -> int:
    """Switch the transformer's blocks to fp8 compute where offered; returns the fp8 layer count.

    The quantisation runs on `device`; the fp8 weights stay on `keep_on` (default `device`).
    """
    device = torch.device(device)
    problem = fp8_unavailable(device, transformer.config)
    if problem:
        raise BadSettings(f"fp8 compute is not available: {problem}. Turn fp8 compute off.")
    # Row-scaled kernels exist for bf16 output only; other dtypes get one scale per tensor.
    rowwise = transformer.dtype == torch.bfloat16 and fp8_rowwise_works(device)
    convert_to_fp8(transformer, rowwise, work_device=device, keep_on=keep_on or device)
    return count_fp8_linears(transformer)
