"""Fixed random feedback matrices: the default U(−½, ½) and the families B1–B7 of Experiment 4.

A family is a function ``(shape, generator, **params) -> tensor``. The paper's noise is
N(0, 0.01), read here as standard deviation ``sd=0.01``; the density of the sparse
families is not stated, the default here is ``density=0.1`` (each entry is 1 with
probability 0.1). Both are arguments. ``hidden_scale`` (any family) multiplies the matrices between two hidden
layers: the relu variants of Experiments 1 and 2 shrink them (REPLICATION.md, variants).

``Feedback`` holds the matrices one model needs, in the paper's orientation:
Bⁱ (nᵢ, n_out), B̃ⁱ (nᵢ, nᵢ₊₁), B̄ⁱ (nᵢ, nᵢ₋₁), keyed by (kind, i) with 1-based i.
"""

from __future__ import annotations

import torch

from .errors import FaLabError, choose
from .nets import generator

def _checked(m, shape, family_name, kind, i):
    """A drawn feedback matrix must be a finite tensor of the asked shape (custom families included)."""
    if not isinstance(m, torch.Tensor) or tuple(m.shape) != tuple(shape):
        got = tuple(m.shape) if isinstance(m, torch.Tensor) else type(m).__name__
        raise FaLabError(f"feedback family {family_name!r} returned {got} for {kind}{i}; it must return a tensor of "
                         f"shape {tuple(shape)}")
    if not torch.isfinite(m).all():
        raise FaLabError(f"feedback family {family_name!r} returned NaN or inf entries for {kind}{i}")
    return m


NOISE_SD = 0.01
DENSITY = 0.1


def _noise(shape, g, sd):
    return torch.randn(shape, generator=g, dtype=torch.float64) * sd


def _sparse(shape, g, density):
    if not 0 < density <= 1:
        raise FaLabError(f"density must be in (0, 1], got {density!r}")
    return (torch.rand(shape, generator=g, dtype=torch.float64) < density).double()


def uniform(shape, g, low=-0.5, high=0.5):
    """Default: entries U(low, high) = U(−½, ½) (paper §4)."""
    return torch.rand(shape, generator=g, dtype=torch.float64) * (high - low) + low


def ones_noise(shape, g, sd=NOISE_SD):
    """B1: ones + N(0, sd²)."""
    return torch.ones(shape, dtype=torch.float64) + _noise(shape, g, sd)


def identity(shape, g, tiled=False):
    """B2: the (non-square) identity, ones on the main diagonal. ``tiled``: the identity repeated along the longer
    side (entry (r, c) is 1 when r ≡ c mod min(shape)), so that every unit of a wide layer gets one class's error
    (the variant ``exp4-b2-tiled``; a square matrix is the identity either way)."""
    if not tiled:
        return torch.eye(*shape, dtype=torch.float64)
    n = min(shape)
    return (torch.arange(shape[0])[:, None] % n == torch.arange(shape[1])[None, :] % n).double()


def identity_noise(shape, g, sd=NOISE_SD):
    """B3: identity + N(0, sd²)."""
    return torch.eye(*shape, dtype=torch.float64) + _noise(shape, g, sd)


def sparse_ones(shape, g, density=DENSITY):
    """B4: each entry 1 with probability ``density``, else 0."""
    return _sparse(shape, g, density)


def ones_uniform(shape, g, eps=0.01):
    """B5: ones + U[−eps, eps]."""
    return torch.ones(shape, dtype=torch.float64) + uniform(shape, g, -eps, eps)


def sparse_ones_noise(shape, g, density=DENSITY, sd=NOISE_SD):
    """B6: sparse ones (B4) + N(0, sd²) on every entry."""
    return _sparse(shape, g, density) + _noise(shape, g, sd)


def noise(shape, g, sd=NOISE_SD):
    """B7: N(0, sd²) alone."""
    return _noise(shape, g, sd)


FAMILIES = {"uniform": uniform, "B1": ones_noise, "B2": identity, "B3": identity_noise, "B4": sparse_ones,
            "B5": ones_uniform, "B6": sparse_ones_noise, "B7": noise}
KINDS = ("B", "B_tilde", "B_bar")


def family(name):
    """A family function by name (uniform, B1..B7) or a callable ``(shape, generator, **params)``."""
    if callable(name):
        return name
    return FAMILIES[choose("feedback family", name, list(FAMILIES))]


def shape_of(kind, i, sizes):
    """Shape of feedback matrix ``kind`` for hidden layer i (1-based) of a net with ``sizes``."""
    choose("feedback matrix kind", kind, KINDS)
    n_hidden = len(sizes) - 2
    if not 1 <= i <= n_hidden:
        raise FaLabError(f"hidden layer index must be in 1..{n_hidden}, got {i}")
    other = {"B": sizes[-1], "B_tilde": sizes[i + 1], "B_bar": sizes[i - 1]}[kind]
    if kind == "B_bar" and i == 1:
        raise FaLabError("B_bar does not exist for hidden layer 1 (there is no hidden layer below it)")
    return (sizes[i], other)


def between_hidden(kind, i, n_hidden) -> bool:
    """Whether matrix ``kind`` of hidden layer i carries an error between two hidden layers: B̄ⁱ (from the layer
    below) and B̃ⁱ under the top hidden layer (the top's B̃ carries the output's δa, as B does the error)."""
    return kind == "B_bar" or (kind == "B_tilde" and i < n_hidden)


class Feedback(dict):
    """Feedback matrices of one model: ``fb['B', 1]`` is B¹ (n₁, n_out), etc."""

    @classmethod
    def for_rule(cls, rule, sizes, family_name="uniform", seed=0, dtype=torch.float32, device="cpu",
                 hidden_scale=1.0, **params):
        """Draw every matrix ``rule`` needs; each (kind, i) has its own seeded stream. ``hidden_scale``, for any
        family, multiplies the matrices between two hidden layers (:func:`between_hidden`)."""
        if not (isinstance(hidden_scale, (int, float)) and 0 <= hidden_scale < float("inf")):
            raise FaLabError(f"hidden_scale must be a finite number >= 0, got {hidden_scale!r}")
        make = family(family_name)
        fb = cls()
        for i in range(rule.n_hidden):
            for kind in sorted(rule.needs(i)):
                shape = shape_of(kind, i + 1, sizes)
                try:
                    m = make(shape, generator(seed, f"feedback/{kind}/{i + 1}"), **params)
                except TypeError as exc:
                    raise FaLabError(f"bad parameters {params} for feedback family {family_name!r}: {exc}") from None
                name = family_name if isinstance(family_name, str) else getattr(family_name, "__name__", "custom")
                fb[kind, i + 1] = _checked(m, shape, name, kind, i + 1).to(device, dtype)
                if hidden_scale != 1 and between_hidden(kind, i + 1, rule.n_hidden):
                    fb[kind, i + 1] = fb[kind, i + 1] * hidden_scale
        return fb
