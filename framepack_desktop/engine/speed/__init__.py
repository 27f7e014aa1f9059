"""Making the transformer fast: attention backend, regional torch.compile, fp8 compute.

A sampling step is one call of a 13B transformer over ~18k tokens; nothing else in a job costs
as much. Three levers, each optional and each leaving the model's maths unchanged or checked, one
module each: `attention.py` (the fastest working kernel, measured), `compiling.py` (regional
torch.compile), `fp8.py` (fp8 matmuls) and `fp8_quality.py` (whether fp8 is good enough on this GPU).
`setup.py` is what the runner, the session and the window call; `common.py` the verdicts' cache.

The names below are the package's public face; code that replaces one (a test standing in for a
GPU) patches the module that defines it, where every caller looks it up.
"""
from .attention import (AUTO_ATTENTION, NATIVE, attention_candidates, attention_names, choose_attention,
                        fastest_attention, probe_attention, time_attention)
from .common import device_name, relative_error, speed_cache_dir
from .compiling import (compile_blocks, compile_cache_dir, compile_unavailable, compiles_at_next_call,
                        count_compiled_blocks, mark_compiled_run, set_compiled, use_compile_cache)
from .fp8 import (E4M3, FP8_MIN_CAPABILITY, Float8Linear, convert_to_fp8, count_fp8_linears, fp8_hardware, fp8_layers,
                  fp8_rowwise_works)
from .fp8_quality import FP8_MAX_RELATIVE_ERROR, Fp8Check, build_random, fp8_check, fp8_unavailable, fp8_verdict, random_inputs
from .setup import SpeedSetup, enable_fp8, prepare_transformer, support, transformer_config, tune_convolutions

__all__ = [
    "AUTO_ATTENTION", "E4M3", "FP8_MAX_RELATIVE_ERROR", "FP8_MIN_CAPABILITY", "NATIVE", "Float8Linear", "Fp8Check",
    "SpeedSetup", "attention_candidates", "attention_names", "build_random", "choose_attention", "compile_blocks",
    "compile_cache_dir", "compile_unavailable", "compiles_at_next_call", "convert_to_fp8", "count_compiled_blocks",
    "count_fp8_linears", "device_name", "enable_fp8", "fastest_attention", "fp8_check", "fp8_hardware", "fp8_layers",
    "fp8_rowwise_works", "fp8_unavailable", "fp8_verdict", "mark_compiled_run", "prepare_transformer", "probe_attention", "random_inputs",
    "relative_error", "set_compiled", "speed_cache_dir", "support", "time_attention", "transformer_config",
    "tune_convolutions", "use_compile_cache",
]
