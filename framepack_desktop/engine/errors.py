"""Errors that reach the user.

A `UserError` carries a message a person can act on: what is wrong and what to do. The CLI
prints it as one line and exits non-zero; the window shows it. Anything else that escapes the
engine is a bug and is logged with its traceback.
"""


class UserError(Exception):
    """A problem with the user's input, files or machine, worded for the user."""


class BadImage(UserError):
    pass


class ModelsMissing(UserError):
    pass


class BadSettings(UserError):
    pass


class OutputNotWritable(UserError):
    pass


class NonFiniteLatents(UserError):
    """Sampling gave NaN or infinite latents (a guidance value far too high, damaged weights)."""


class JobCancelled(Exception):
    """Raised inside the section loop when the user asked to stop; never shown as an error."""
