"""One exception type for every user-facing error in fa_lab.

Errors name what was wrong and the valid choices, so a user never has to read
a torch stack trace to find a typo.
"""


class FaLabError(ValueError):
    """A bad input or an impossible request, explained in one line."""


class TrainingDiverged(FaLabError):
    """Training produced NaN/inf; ``history`` keeps every epoch finished before."""

    def __init__(self, message, history=None):
        super().__init__(message)
        self.history = history


def positive(name, value, kind=int):
    """Return ``value`` if it is a positive int (``kind=int``) or a positive finite number (``kind=float``),
    else raise a FaLabError naming it. The one home of this check (API and command line)."""
    import math

    types = (int, float) if kind is float else (int,)
    if isinstance(value, bool) or not isinstance(value, types) or not math.isfinite(value) or value <= 0:
        raise FaLabError(f"{name} must be a positive {'number' if kind is float else 'integer'}, got {value!r}")
    return value


def choose(kind, value, choices):
    """Return ``value`` if it is one of ``choices``, else raise a FaLabError naming them."""
    if value not in choices:
        raise FaLabError(f"unknown {kind} {value!r}; valid choices: {', '.join(map(str, choices))}")
    return value
