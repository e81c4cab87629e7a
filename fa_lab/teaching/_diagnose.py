"""Private helpers of :mod:`fa_lab.teaching.exercises`: tiny nets to check on, and the diagnosis of a
student's answer (a message saying what is off, or None when it is right).

Feedback families are judged by the statistics they are defined by (``fa_lab.core.feedback``): a
base (zeros, ones, the identity, or sparse 0/1 entries of a given density) plus a noise part
(Gaussian or uniform, of a given spread, or none). Tolerances are six standard errors of the
statistic for the number of entries drawn, so a right answer passes on any matrix size.
"""

from __future__ import annotations

import inspect
import math

import torch

from ..core.feedback import DENSITY, NOISE_SD, FAMILIES
from ..core.model import build

ACTS = ("tanh", "sigmoid", "relu")
# square hidden layers, so that a forgotten transpose still has the right shape and must be caught by value
SIZES = (7, 5, 5, 3)
TODO = "not implemented yet"


def _default(name, param):
    return inspect.signature(FAMILIES[name]).parameters[param].default


# family -> (base, noise kind, noise spread, density); spread: sd for "normal", half-width for "uniform"
SPECS = {"uniform": ("zeros", "uniform", _default("uniform", "high"), None),
         "B1": ("ones", "normal", NOISE_SD, None), "B2": ("identity", None, 0.0, None),
         "B3": ("identity", "normal", NOISE_SD, None), "B4": ("sparse", None, 0.0, DENSITY),
         "B5": ("ones", "uniform", _default("B5", "eps"), None), "B6": ("sparse", "normal", NOISE_SD, DENSITY),
         "B7": ("zeros", "normal", NOISE_SD, None)}
BASE = {"zeros": "zeros", "ones": "ones (torch.ones)", "identity": "the non-square identity (torch.eye(n, m))",
        "sparse": "sparse ones (each entry 1 with probability {density:g}, else 0)"}
NOISE = {"zeros": "your entries", "ones": "your entries − 1", "identity": "your entries − the identity",
         "sparse": "your entries − their 0/1 part"}


def law(kind, spread):
    return f"N(0, {spread:g}²)" if kind == "normal" else f"U[−{spread:g}, {spread:g}]"


def describe(name):
    """A family in words, e.g. 'the non-square identity (torch.eye(n, m)) + N(0, 0.01²) noise'."""
    base_kind, kind, spread, density = SPECS[name]
    return BASE[base_kind].format(density=density) + (f" + {law(kind, spread)} noise" if kind else ", no noise")


def todo(what, fn=None):
    """The message for an answer that is still a stub."""
    name = f"`{fn.__name__}`" if getattr(fn, "__name__", "<lambda>") != "<lambda>" else "your function"
    return (f"{TODO}: {name} does not return {what} yet. Replace the `...` under '# your code here' with your "
            f"code, then run the cell again.")


def cases(n=6, aux=False, rule="bp", sizes=SIZES):
    """Tiny nets (one per activation and seed) with one random example each, in float64."""
    for k in range(n):
        m = build(list(sizes), ACTS[k % len(ACTS)], rule, aux=aux, seed=k, dtype="float64")
        g = torch.Generator().manual_seed(100 + k)
        x = torch.rand(1, sizes[0], generator=g, dtype=torch.float64)
        y = torch.randint(0, sizes[-1], (1,), generator=g)
        yield m, x, y


def forward(m, x):
    fw = m.net.forward(x)
    fprime = [m.net.act.df(a, h)[0] for a, h in zip(fw.a[:-1], fw.h[1:])]
    return fw, fprime


def as_tensor(out, what):
    """(float64 tensor, None) or (None, what is wrong)."""
    if not isinstance(out, torch.Tensor):
        try:
            out = torch.as_tensor(out, dtype=torch.float64)
        except Exception:
            return None, f"{what} must return a tensor, got {type(out).__name__}"
    return out.to(torch.float64), None


def attempt(f):
    """A candidate wrong answer, or None where its shapes do not fit (then the slip would raise instead)."""
    try:
        return f()
    except RuntimeError:
        return None


def same(a, b):
    return a.shape == b.shape and torch.allclose(a, b, rtol=1e-6, atol=1e-9)


def diagnose(out, want, wrong, what):
    """Compare ``out`` with ``want``; ``wrong`` maps a description of a slip to the tensor it would give."""
    out, err = as_tensor(out, what)
    if err:
        return err
    if out.dim() == 2 and 1 in out.shape and out.numel() == want.numel():
        return (f"{what} returned shape {tuple(out.shape)}; the book works with 1-D vectors, expected shape "
                f"{tuple(want.shape)} (drop the extra dimension, e.g. with .reshape(-1))")
    if out.shape != want.shape:
        hint = "".join(f" This is the shape of {name}." for name, t in wrong.items() if t is not None
                       and tuple(t.shape) == tuple(out.shape))
        return f"{what} returned shape {tuple(out.shape)}, expected {tuple(want.shape)}.{hint}"
    if same(out, want):
        return None
    for name, t in wrong.items():
        if t is not None and same(out, t):
            return f"{what} is off: your result equals {name}."
    if same(out, -want):
        return f"{what} has the wrong sign: the update direction is δa, and SGD subtracts it later."
    rel = float((out - want).norm() / want.norm().clamp_min(1e-30))
    return f"{what} has the right shape but the wrong values (relative error {rel:.2g})."


# ---------------------------------------------------------------- feedback families
def _bases(shape):
    return {"zeros": torch.zeros(shape, dtype=torch.float64), "ones": torch.ones(shape, dtype=torch.float64),
            "identity": torch.eye(*shape, dtype=torch.float64)}


def _fits(out, base, sd):
    """Does ``out − base`` average 0 on the diagonal and off it, within six standard errors (of noise ``sd``
    or of the residual's own spread, whichever is larger)?"""
    res, diag = out - base, torch.eye(*out.shape, dtype=torch.bool)
    for part in (res[diag], res[~diag]):
        spread = max(sd, float(part.std())) if part.numel() > 1 else sd
        if part.numel() and abs(float(part.mean())) > 6 * spread / math.sqrt(part.numel()) + 1e-6:
            return False
    return True


def _base_problem(out, name, base_kind, sd, density):
    """The base part (zeros, ones, identity, sparse 0/1): (base tensor, None) or (None, what is off)."""
    n = out.numel()
    if base_kind == "sparse":
        base = out.round()
        if not bool(((base == 0) | (base == 1)).all()):
            return None, (f"{name}'s entries are 0 or 1 (plus noise of sd {sd:g}); yours range from "
                          f"{float(out.min()):.3g} to {float(out.max()):.3g}")
        frac, tol = float(base.mean()), 6 * math.sqrt(density * (1 - density) / n)
        if abs(frac - density) > tol:
            return None, (f"the fraction of ones in your matrix is {frac:.3f}, {name} has density {density:g} "
                          f"(each entry is 1 with probability {density:g}: torch.rand(shape, generator=generator) "
                          f"< {density:g})")
        return base, None
    bases = _bases(out.shape)
    if _fits(out, bases[base_kind], sd):
        return bases[base_kind], None
    like = [k for k, b in bases.items() if k != base_kind and _fits(out, b, sd)]
    hint = f" Your matrix looks like {like[0]}{' + noise' if float((out - bases[like[0]]).std()) else ''}." if like else ""
    diag = torch.eye(*out.shape, dtype=torch.bool)
    where = (f"its diagonal averages {float(out[diag].mean()):.4f} and its other entries "
             f"{float(out[~diag].mean()):.4f}") if "identity" in (base_kind, *like) else \
        f"its entries average {float(out.mean()):.4f}"
    return None, f"{name} is {describe(name)}; yours has another base: {where}.{hint}"


def _noise_problem(res, name, kind, spread, base_kind):
    """The noise part ``res`` = your entries − the base: its spread and, on large draws, its shape."""
    n, sd, what = res.numel(), float(res.std()), f"the noise part ({NOISE[base_kind]})"
    if kind is None:
        worst = float(res.abs().max())
        return None if worst <= 1e-6 else f"{name} has no noise, but {what} reaches {worst:.3g}"
    want = spread if kind == "normal" else spread / math.sqrt(3)
    law_ = law(kind, spread)
    if sd < want / 10:
        draw = f"{spread:g} * torch.randn(shape, generator=generator)" if kind == "normal" else \
            f"{spread:g} * (2 * torch.rand(shape, generator=generator) - 1)"
        return f"{what} has standard deviation {sd:.2g}: {name} adds {law_} noise to every entry (+ {draw})"
    if abs(sd - want) > 6 * want / math.sqrt(2 * n) + 0.01 * want:
        hint = " (did you read the paper's 0.01 as the variance? it is the standard deviation)" \
            if kind == "normal" and abs(sd - math.sqrt(spread)) < 0.1 * math.sqrt(spread) else ""
        return f"{what} has standard deviation {sd:.4f}, {name}'s noise {law_} has {want:.4f}{hint}"
    if abs(float(res.mean())) > 6 * want / math.sqrt(n):
        return f"{what} has mean {float(res.mean()):.4f}, {name}'s noise has mean 0"
    if kind == "uniform" and float(res.abs().max()) > spread * (1 + 1e-6):
        return f"{what} reaches {float(res.abs().max()):.4f}, {name}'s noise {law_} stays within ±{spread:g}"
    if n >= 10_000:  # excess kurtosis: 0 for a Gaussian, −1.2 for a uniform law
        kurt = float(((res - res.mean()) ** 4).mean() / sd ** 4) - 3
        if (kurt < -0.6) != (kind == "uniform"):
            got = "uniform (torch.rand)" if kurt < -0.6 else "Gaussian (torch.randn)"
            return f"{what} looks {got}, but {name}'s noise is {law_}"
    return None


def family_problem(out, name):
    """What is off in ``out`` as a draw of family ``name``, or None."""
    if not bool(torch.isfinite(out).all()):
        return "your matrix has NaN or infinite entries"
    base_kind, kind, spread, density = SPECS[name]
    sd = spread if kind == "normal" else spread / math.sqrt(3) if kind else 0.0
    base, problem = _base_problem(out, name, base_kind, sd, density)
    return problem or _noise_problem(out - base, name, kind, spread, base_kind)
