"""Finishing a video after generation: trim, loop, upscale, interpolate, export (issue 18).

`PostPlan` (plan.py) says what to do, `run_post` (pipeline.py) does it by streaming frames from
the source through the steps into a writer, used alike by the `post` command and the window's
Finish panel. The model-based steps (RIFE, ESRGAN) run on the GPU when there is one.

The names below load on first use, so the window can import the torch-free `PostPlan` without
pulling in torch (the pipeline imports it).
"""
from importlib import import_module

_WHERE = {"PostPlan": ".plan", "PostProgress": ".pipeline", "preview": ".pipeline", "run_post": ".pipeline"}
__all__ = list(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_WHERE[name], __name__), name)
