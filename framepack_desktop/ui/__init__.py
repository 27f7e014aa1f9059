"""Qt widgets. Never imports torch, diffusers or transformers."""
