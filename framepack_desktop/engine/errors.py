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


# How running out of RAM reads when it is not a MemoryError: torch's CPU allocator, an mmap or a
# shared library that could not be mapped (ENOMEM's text), a failed import of one.
_OUT_OF_RAM_WORDS = ("can't allocate memory", "Cannot allocate memory", "failed to map segment")


def is_out_of_ram(error: BaseException | None) -> bool:
    """Whether `error`, or the error it was raised from (a library's lazy import wraps its cause),
    means the process ran out of memory (RAM or its memory limit)."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, MemoryError) or (isinstance(error, (RuntimeError, OSError, ImportError))
                                              and any(w in str(error) for w in _OUT_OF_RAM_WORDS)):
            return True
        error = error.__cause__ or error.__context__
    return False
