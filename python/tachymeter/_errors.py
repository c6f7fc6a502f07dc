"""The package's exceptions. Every error raised by tachymeter is a ``TachymeterError``; the
subclasses are also the matching built-in exceptions, so ``except ValueError`` works too."""


class TachymeterError(Exception):
    """Base class of tachymeter's errors."""


class RegistrationError(TachymeterError, ValueError):
    """A metric could not be registered: invalid name, label name or unit, a name already
    used by another kind or with other metadata, too many series. The message says how to
    fix it."""


class ConfigError(TachymeterError, ValueError):
    """Invalid configuration: engine settings, histogram buckets, alert rules, thresholds,
    or a report document that cannot be read."""


class ServerError(TachymeterError, OSError):
    """The /metrics server or a background thread could not start."""
