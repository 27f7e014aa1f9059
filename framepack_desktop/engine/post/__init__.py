"""Finishing a video after generation: trim, loop, upscale, interpolate, export (issue 18).

`PostPlan` (plan.py) says what to do, `run_post` (pipeline.py) does it by streaming frames from
the source through the steps into a writer, used alike by the `post` command and the window's
Finish panel. The model-based steps (RIFE, ESRGAN) run on the GPU when there is one.
"""
from .pipeline import PostProgress, preview, run_post
from .plan import PostPlan

__all__ = ["PostPlan", "PostProgress", "preview", "run_post"]
