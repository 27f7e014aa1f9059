"""The user-facing errors of the model layer, each a `UserError` the CLI and the window show as is."""
from __future__ import annotations

from ..errors import BadSettings, ModelsMissing, UserError


class CheckpointMismatch(ModelsMissing):
    """A checkpoint file does not fit the model it is loaded into (other keys or shapes)."""


class QuantizationUnavailable(BadSettings):
    """The chosen precision needs a package or a device this computer lacks."""


class NotEnoughMemory(UserError):
    """No loading mode fits this computer's GPU memory and RAM; the message says what to change."""


class NotEnoughDisk(UserError):
    """A download or a saved quantized model would not fit on the drive."""


class DownloadFailed(UserError):
    """The hub could not be reached or refused; what was downloaded so far is kept."""


class DownloadCancelled(UserError):
    """The user stopped a download; partial files are kept so the next run resumes."""
