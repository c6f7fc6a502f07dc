"""Helpers the native module calls back into."""
import functools


def timed(histogram, func):
    """``func`` wrapped so that each call is timed into ``histogram`` (``@h.time()``)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with histogram.time():
            return func(*args, **kwargs)

    return wrapper
