"""Checkers for the book's exercises: the student writes one piece of a method, the checker
compares it with the engine on random tiny nets and says whether it is right and, if not, why.

Every student function works on ONE example in the paper's orientation (column vectors as
1-D tensors, Wⁱ of shape (nᵢ, nᵢ₋₁)), so the formulas of the paper can be typed as they are::

    def dfa_delta(B, e, f_prime):          # δaⁱ = Bⁱ e ⊙ f′(aⁱ)            (eq. 3, right)
        return (B @ e) * f_prime

    check_dfa_delta(dfa_delta)             # -> Verdict: "correct: ..." or what is wrong

A checker returns a :class:`Verdict` (truthy when right) whose text is what a notebook shows; it
never raises on the student's code. A stub (a body of ``...``, ``return None`` or
``raise NotImplementedError``) gets "not implemented yet"; wrong answers are diagnosed against
the usual slips: wrong shape, off by a transpose, missing f′, wrong sign, a forgotten softmax,
layers listed top-down, a feedback family without its noise or identity part, ...
The diagnosis itself lives in the private module ``_diagnose``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..core.errors import FaLabError
from ..core.feedback import FAMILIES
from ..core.model import build
from ..core.rules import Rule, get_rule
from ._diagnose import (ACTS, SIZES, TODO, as_tensor, attempt, cases, describe, diagnose, family_problem, forward, same,
                        todo)

__all__ = ["Verdict", "check_bp_delta", "check_fa_delta", "check_dfa_delta", "check_aux_error",
           "check_strategy", "check_family", "autograd_check", "expect"]


@dataclass
class Verdict:
    """The checker's answer: ``ok`` and a one-paragraph explanation (``todo``: the answer is still a stub)."""

    ok: bool
    message: str

    @property
    def todo(self):
        return self.message.startswith(TODO)

    def __bool__(self):
        return self.ok

    def __repr__(self):
        return ("✔ " if self.ok else "✎ " if self.todo else "✘ ") + self.message

    def _repr_html_(self):
        colour = "#1a7f37" if self.ok else "#9a6700" if self.todo else "#cf222e"
        return f'<div style="color:{colour};font-weight:bold">{self!r}</div>'


def _run(fn, args, what):
    """(output, None) or (None, Verdict) when ``fn`` is a stub or raises."""
    if fn is None or fn is Ellipsis:
        return None, Verdict(False, todo(what))
    try:
        out = fn(*args)
    except NotImplementedError:
        return None, Verdict(False, todo(what, fn))
    except Exception as exc:  # the student's code raised: say where
        shapes = [tuple(a.shape) if isinstance(a, torch.Tensor) else a for a in args]
        said = "argument shapes" if any(isinstance(a, torch.Tensor) for a in args) else "arguments"
        return None, Verdict(False, f"your function raised {type(exc).__name__}: {exc} ({said}: {shapes}).")
    if out is None or out is Ellipsis:
        return None, Verdict(False, todo(what, fn))
    return out, None


def _check(fn, what, make, n=6, hint="", **case_kw):
    """Run ``fn`` on ``n`` tiny nets; ``make(m, x, y)`` gives (args, want, wrong); ``hint`` is added when
    the student's code raises (usually a shape mismatch)."""
    for k, (m, x, y) in enumerate(cases(n, **case_kw)):
        args, want, wrong = make(m, x, y)
        out, verdict = _run(fn, args, what)
        if verdict is not None:
            return verdict if verdict.todo else Verdict(False, verdict.message + hint)
        problem = diagnose(out, want, wrong, what)
        if problem:
            return Verdict(False, problem + f" [net {list(m.sizes)}, activation {m.net.act.name}, seed {k}]")
    return Verdict(True, f"correct: {what} matches the engine on {n} random nets (tanh, sigmoid, relu).")


# ---------------------------------------------------------------- chapter 2: back-propagation
def check_bp_delta(fn, n=6):
    """``fn(W_next, delta_next, f_prime) -> δaⁱ = (Wⁱ⁺¹)ᵀ δaⁱ⁺¹ ⊙ f′(aⁱ)`` (eq. 2)."""

    def make(m, x, y):
        d = [t[0] for t in m.deltas(x, y)]
        _, fp = forward(m, x)
        i = m.seed % 2  # alternate hidden layers 1 (W² square: a transpose slip keeps the shape) and 2
        W, dn = m.weight(i + 2), d[i + 1]
        wrong = {"(Wⁱ⁺¹)ᵀ δaⁱ⁺¹ without ⊙ f′(aⁱ): the derivative of the activation is missing": W.T @ dn,
                 "Wⁱ⁺¹ δaⁱ⁺¹ ⊙ f′(aⁱ): off by a transpose, use W_next.T": attempt(lambda: (W @ dn) * fp[i]),
                 "Wⁱ⁺¹ δaⁱ⁺¹ without transpose and without f′": attempt(lambda: W @ dn)}
        return (W, dn, fp[i]), d[i], wrong

    return _check(fn, "the BP delta", make, n,
                  hint=" Wⁱ⁺¹ is (nᵢ₊₁, nᵢ): carry δaⁱ⁺¹ down with W_next.T @ delta_next.")


# ---------------------------------------------------------------- chapter 3: feedback alignment
def check_fa_delta(fn, n=6):
    """``fn(B_tilde, delta_next, f_prime) -> δaⁱ = B̃ⁱ δaⁱ⁺¹ ⊙ f′(aⁱ)`` (eq. 3, left)."""

    def make(m, x, y):
        d = [t[0] for t in m.deltas(x, y)]
        _, fp = forward(m, x)
        i = m.seed % 2  # B̃¹ is square, B̃² is (n₂, n_out): the top hidden layer reads e itself
        B, dn = m.feedback_matrix("B_tilde", i + 1), d[i + 1]
        W = m.weight(i + 2)
        wrong = {"B̃ δaⁱ⁺¹ without ⊙ f′(aⁱ): the derivative of the activation is missing": B @ dn,
                 "B̃ᵀ δaⁱ⁺¹ ⊙ f′(aⁱ): off by a transpose; B̃ⁱ is already (nᵢ, nᵢ₊₁), use it as it is": attempt(lambda: (B.T @ dn) * fp[i]),
                 "(Wⁱ⁺¹)ᵀ δaⁱ⁺¹ ⊙ f′(aⁱ): that is back-propagation; FA uses the fixed B̃ⁱ": (W.T @ dn) * fp[i]}
        return (B, dn, fp[i]), d[i], wrong

    return _check(fn, "the FA delta", make, n, rule="fa",
                  hint=" B̃ⁱ is (nᵢ, nᵢ₊₁): B_tilde @ delta_next has nᵢ entries.")


# ---------------------------------------------------------------- chapter 4: direct feedback alignment
def check_dfa_delta(fn, n=6):
    """``fn(B, e, f_prime) -> δaⁱ = Bⁱ e ⊙ f′(aⁱ)`` (eq. 3, right), checked on both hidden layers."""

    def make(m, x, y):
        d = [t[0] for t in m.deltas(x, y)]
        _, fp = forward(m, x)
        i = (m.seed % 2)  # alternate between hidden layers 1 and 2
        B, e = m.feedback_matrix("B", i + 1), d[-1]
        wrong = {"Bⁱ e without ⊙ f′(aⁱ): the derivative of the activation is missing": B @ e}
        return (B, e, fp[i]), d[i], wrong

    return _check(fn, "the DFA delta", make, n, rule="dfa",
                  hint=" Bⁱ is (nᵢ, n_out) and e is (n_out,): the product is B @ e (not B.T @ e), "
                       "and e must go through Bⁱ before ⊙ f′(aⁱ).")


# ---------------------------------------------------------------- chapter 5: auxiliary outputs (LAFS)
def check_aux_error(fn, n=6):
    """``fn(B, h, y_onehot) -> eⁱ = softmax((Bⁱ)ᵀ hⁱ) − y`` (§2.1.1, our reading aⁱₓ = (Bⁱ)ᵀ hⁱ).

    Checked through the engine: Bⁱ eⁱ ⊙ f′(aⁱ) with your eⁱ must equal the engine's δaⁱ under dfa+aux.
    """

    def make(m, x, y):
        d = [t[0] for t in m.deltas(x, y)]
        fw, fp = forward(m, x)
        i = m.seed % 2
        B, h = m.feedback_matrix("B", i + 1), fw.h[i + 1][0]
        t = torch.nn.functional.one_hot(y, m.sizes[-1])[0].to(torch.float64)
        want = torch.softmax(B.T @ h, 0) - t
        assert same((B @ want) * fp[i], d[i]), "engine and reference disagree"  # the engine is the judge
        wrong = {"(Bⁱ)ᵀ hⁱ − y: the softmax of the auxiliary logits is missing": B.T @ h - t,
                 "softmax((Bⁱ)ᵀ hⁱ): the target y was not subtracted": torch.softmax(B.T @ h, 0),
                 "the output error e = ŷ − y: this is Experiment 1's signal, not the layer's own auxiliary error":
                     d[-1]}
        if i > 0:
            hb = fw.h[i][0]  # hⁱ⁻¹ has n_{i-1} entries; equal to nᵢ only in square nets
            if hb.shape[0] == B.shape[0]:
                wrong["softmax((Bⁱ)ᵀ hⁱ⁻¹) − y: the paper's literal formula; read it as (Bⁱ)ᵀ hⁱ"] = \
                    torch.softmax(B.T @ hb, 0) - t
        return (B, h, t), want, wrong

    return _check(fn, "the auxiliary error eⁱ", make, n, rule="dfa", aux=True,
                  hint=" Bⁱ is (nᵢ, n_out) and hⁱ is (nᵢ,): the auxiliary logits are B.T @ h (n_out entries).")


# ---------------------------------------------------------------- chapter 6: a strategy as a Rule
def check_strategy(rule, target="s1", n=4, n_hidden=2):
    """Is ``rule`` (a :class:`~fa_lab.Rule`) the same learning rule as preset ``target`` on ``n_hidden`` hidden layers?

    Compared both as data (the terms per layer) and as numbers (δa of every layer on tiny nets).
    """
    if rule is None or rule is Ellipsis:
        return Verdict(False, f"{TODO}: your rule is still None. Replace the None after '# your code here' with "
                              f"a fa_lab.Rule, then run the cell again.")
    if not isinstance(rule, Rule):
        return Verdict(False, f"expected a fa_lab.Rule, got {type(rule).__name__}; "
                              f"write e.g. Rule('mine', layers=(('direct',), ('direct',)))")
    ref = get_rule(target, n_hidden)
    if rule.n_hidden != ref.n_hidden:
        return Verdict(False, f"your rule describes {rule.n_hidden} hidden layers; {target} has {ref.n_hidden}: "
                              f"give one tuple of terms per hidden layer")
    if rule.error != ref.error:
        return Verdict(False, f"your rule uses error={rule.error!r}, {target} uses {ref.error!r}")
    mine = [set(map(str, ts)) for ts in rule.layers]
    want = [set(map(str, ts)) for ts in ref.layers]
    if mine != want:
        if mine == want[::-1]:
            return Verdict(False, "the layers are listed top-down: Rule.layers starts with hidden layer 1 "
                                  "(the lowest), so reverse the tuple")
        for i, (a, b) in enumerate(zip(mine, want)):
            if a != b:
                extra, missing = sorted(a - b), sorted(b - a)
                hint = ""
                if any(t.rstrip("~") in missing or t + "~" in missing for t in extra):
                    hint = " ('above~'/'below~' read the neighbour's DFA-only delta δã; plain 'above'/'below' read δa)"
                return Verdict(False, f"hidden layer {i + 1}: you have terms {sorted(a)}, {target} has {sorted(b)}"
                                      f" (extra {extra}, missing {missing}){hint}")
    sizes = [SIZES[0], *(SIZES[1] + j % 2 for j in range(n_hidden)), SIZES[-1]]  # widths differ: no silent transposes
    for k in range(n):  # and as numbers, through the engine
        a = build(sizes, ACTS[k % 3], rule, seed=k, dtype="float64")
        b = build(sizes, ACTS[k % 3], target, seed=k, dtype="float64")
        x = torch.rand(3, SIZES[0], generator=torch.Generator().manual_seed(k), dtype=torch.float64)
        y = torch.tensor([0, 1, 2])
        for da, db in zip(a.deltas(x, y), b.deltas(x, y)):
            if not torch.allclose(da, db):
                return Verdict(False, "same terms but different deltas: is your F the element-wise mean?")
    where = "(Table 1)" if n_hidden == 2 else f"on {n_hidden} hidden layers"
    return Verdict(True, f"correct: your rule is {target} {where}: " + "; ".join(f"{k} = {v}" for k, v in rule.describe()))


# ---------------------------------------------------------------- chapter 10: a feedback family
def check_family(fn, name="B2", shape=(40, 10)):
    """``fn(shape, generator) -> tensor`` should draw family ``name`` (uniform, B1..B7) like the library.

    Checked on ``shape``, its transpose and (300, 200), by what the family is defined by: its base
    (zeros, ones, the identity, sparse 0/1 entries of density 0.1: their fraction of ones) and its
    noise part (none, or Gaussian/uniform: mean, standard deviation, range, shape of the law), with
    tolerances of six standard errors for the matrix size. Noise-free families must match exactly.
    """
    if name not in FAMILIES:
        raise FaLabError(f"unknown family {name!r}; valid choices: {', '.join(FAMILIES)}")
    for shp in (tuple(shape), tuple(shape[::-1]), (300, 200)):
        out, verdict = _run(fn, (shp, torch.Generator().manual_seed(0)), "a matrix")
        if verdict is not None:
            return verdict
        out, err = as_tensor(out, "your family")
        if err:
            return Verdict(False, err)
        if tuple(out.shape) != shp:
            return Verdict(False, f"asked for shape {shp}, got {tuple(out.shape)} (feedback matrices are rarely "
                                  f"square: Bⁱ is (nᵢ, n_out))")
        problem = family_problem(out, name)
        if problem:
            return Verdict(False, f"{problem} [shape {shp}]")
    return Verdict(True, f"correct: your function draws family {name} = {describe(name)}, for any shape.")


# ---------------------------------------------------------------- helpers for the notebooks
def autograd_check(model, x, y):
    """Largest |δW − ∂L/∂W| over all layers between the engine's BP update and torch.autograd.

    ``model`` must use rule 'bp'; ``x``, ``y`` a batch. Returns (max abs difference, max |gradient|).
    """
    if model.rule.name != "bp":
        raise FaLabError(f"autograd_check compares back-propagation; this model uses {model.rule.name!r}")
    W = [w.detach().clone().requires_grad_(True) for w in model.net.W]
    b = [v.detach().clone().requires_grad_(True) for v in model.net.b]
    h = torch.as_tensor(x, dtype=W[0].dtype)
    for i, (Wi, bi) in enumerate(zip(W, b)):
        a = h @ Wi.T + bi
        h = model.net.act.f(a) if i < len(W) - 1 else a
    loss = torch.nn.functional.cross_entropy(h, torch.as_tensor(y), reduction="sum")
    grads = torch.autograd.grad(loss, W + b)
    mine = [dW for dW, _ in model.updates(x, y)] + [db for _, db in model.updates(x, y)]
    diff = max(float((g - m).abs().max()) for g, m in zip(grads, mine))
    scale = max(float(g.abs().max()) for g in grads)
    return diff, scale


def expect(value, reference, tol, what="value"):
    """Assert ``|value − reference| ≤ tol`` with a readable message; returns ``value`` rounded for printing.

    The notebooks print measured numbers next to the recorded ones; nbval masks the digits
    (book/nbval_sanitize.cfg) and this check carries the stated tolerance instead.
    """
    if not (math.isfinite(value) and abs(value - reference) <= tol):
        raise AssertionError(f"{what} = {value:.4g}, expected {reference:.4g} ± {tol:g}")
    return round(value, 2)
