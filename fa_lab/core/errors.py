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


def choose(kind, value, choices):
    """Return ``value`` if it is one of ``choices``, else raise a FaLabError naming them."""
    if value not in choices:
        raise FaLabError(f"unknown {kind} {value!r}; valid choices: {', '.join(map(str, choices))}")
    return value
