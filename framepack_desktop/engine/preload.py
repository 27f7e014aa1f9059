"""Import the model libraries up front.

diffusers, transformers and their tokenizers are imported lazily by the loaders. In the window
that would happen during the first job, and every import creates hundreds of thousands of objects
that the GUI thread's garbage collections then walk (200-400 ms freezes). The window calls
`preload()` once at start-up, before it freezes the survivors out of collection.
"""
from __future__ import annotations


def preload() -> None:
    import diffusers  # noqa: F401
    import safetensors.torch  # noqa: F401
    import tokenizers  # noqa: F401
    import transformers  # noqa: F401
    from diffusers import AutoencoderKLHunyuanVideo, HunyuanVideoFramepackTransformer3DModel  # noqa: F401
    from transformers import CLIPTextModel, LlamaModel, SiglipVisionModel  # noqa: F401

    from . import runner  # noqa: F401
