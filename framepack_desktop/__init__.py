"""FramePack Desktop: image + prompt to video of any length, section by section."""
__version__ = "0.1.0"
