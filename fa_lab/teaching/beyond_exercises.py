"""Checkers for the exercises of chapter 14 (beyond the paper): sign symmetry's delta, Kolen–Pollack's gap to
the transpose, direct Kolen–Pollack's feedback step, BP's path that a direct matrix stands in for, and a strategy
for any depth. Same contract as :mod:`fa_lab.teaching.exercises` (one example, the paper's orientation, a
:class:`~fa_lab.teaching.exercises.Verdict` that never raises on the student's code)."""

from __future__ import annotations

import math

import torch

from ..core.alignment import bp_path
from ..core.lockstep import Lockstep
from ..core.rules import Rule
from ._diagnose import attempt, forward
from .exercises import Verdict, _check, _run, check_strategy

__all__ = ["check_sign_delta", "check_kp_gap", "check_dkp_step", "check_bp_path", "check_deep_strategy"]


def check_sign_delta(fn, n=6):
    """``fn(W_next, delta_next, f_prime) -> δaⁱ = sign(Wⁱ⁺¹)ᵀ δaⁱ⁺¹ ⊙ f′(aⁱ)`` (sign symmetry, chapter 14)."""

    def make(m, x, y):
        d = [t[0] for t in m.deltas(x, y)]
        _, fp = forward(m, x)
        i = m.seed % 2
        W, dn = m.weight(i + 2), d[i + 1]
        wrong = {"sign(Wⁱ⁺¹)ᵀ δaⁱ⁺¹ without ⊙ f′(aⁱ): the derivative of the activation is missing":
                 torch.sign(W).T @ dn,
                 "(Wⁱ⁺¹)ᵀ δaⁱ⁺¹ ⊙ f′(aⁱ): that is back-propagation; sign symmetry keeps only the signs":
                 (W.T @ dn) * fp[i],
                 "sign((Wⁱ⁺¹)ᵀ δaⁱ⁺¹) ⊙ f′(aⁱ): the sign goes on the weights, not on the transported error":
                 torch.sign(W.T @ dn) * fp[i]}
        return (W, dn, fp[i]), d[i], wrong

    return _check(fn, "the sign-symmetry delta", make, n, rule="sign",
                  hint=" Wⁱ⁺¹ is (nᵢ₊₁, nᵢ): torch.sign(W_next).T @ delta_next has nᵢ entries.")


def check_kp_gap(fn, n=6):
    """``fn(gap0, lr, lam, steps) -> ‖Wⁱ⁺¹ − (B̃ⁱ)ᵀ‖ after ``steps`` SGD steps`` of Kolen–Pollack, from ``gap0`` before
    them: gap0·(1 − lr·λ)^steps, checked against the gap the engine leaves on tiny nets (λ and steps vary)."""

    def make(m, x, y):
        i, lr, lam, steps = m.seed % 2 + 1, 0.1, m.rule.weight_decay, 10 + 3 * m.seed

        def gap():
            return float((m.weight(i + 1) - m.feedback_matrix("B_tilde", i).T).norm())

        gap0, step = gap(), Lockstep([m])
        for _ in range(steps):
            step.step(x, m.net.head.target(y, x, m.sizes[-1], x.dtype), lr)
        r = 1 - lr * lam
        wrong = {"gap0·(1 − lr·λ): one step's factor; it applies at every step": gap0 * r,
                 "gap0·(1 − λ)^steps: the decay per step is lr·λ, not λ": gap0 * (1 - lam) ** steps,
                 "gap0·exp(−lr·λ·steps): the continuous-time approximation; the steps are discrete, so the factor "
                 "is (1 − lr·λ) per step": gap0 * math.exp(-lr * lam * steps),
                 "gap0·(1 − lr·λ·steps): the gap shrinks geometrically, by a factor per step, not linearly":
                 gap0 * (1 - lr * lam * steps),
                 "(1 − lr·λ)^steps: the factor alone; multiply it by the gap you start from": r ** steps}
        return (gap0, lr, lam, steps), torch.tensor(gap(), dtype=torch.float64), \
            {k: torch.tensor(v, dtype=torch.float64) for k, v in wrong.items()}

    cases = [Rule("kp", (("above:KP",),) * 2, weight_decay=lam) for lam in (0.2, 0.5)]
    for rule in cases:  # each λ on its own nets
        verdict = _check(fn, "the Kolen–Pollack gap", make, n // 2, rule=rule)
        if not verdict:
            return verdict
    return Verdict(True, f"correct: your gap matches the engine's ‖Wⁱ⁺¹ − (B̃ⁱ)ᵀ‖ on {n} random nets, whatever the "
                         f"data did: the updates cancel in the difference and only the decay is left.")


def check_dkp_step(fn, n=6):
    """``fn(B, h, e, lr, lam) -> Bⁱ after one example``: (1 − lr·λ) Bⁱ − lr·hⁱ (eⁱ)ᵀ (direct Kolen–Pollack), checked
    against the engine's step on tiny ``dkp`` nets (output error: eⁱ = e)."""

    def make(m, x, y):
        i, lr, lam = m.seed % 2 + 1, 0.1, m.rule.weight_decay
        fw, _ = forward(m, x)
        e = m.deltas(x, y)[-1][0]
        B, h = m.feedback_matrix("B", i).clone(), fw.h[i][0]
        Lockstep([m]).step(x, m.net.head.target(y, x, m.sizes[-1], x.dtype), lr)  # the engine's step, in place
        wrong = {"no decay: (1 − lr·λ) multiplies the old Bⁱ": B - lr * torch.outer(h, e),
                 "the update's sign: the step goes against (hⁱ)(eⁱ)ᵀ, Bⁱ − lr·hⁱ(eⁱ)ᵀ": (1 - lr * lam) * B + lr * torch.outer(h, e),
                 "decay after the update: decay the old Bⁱ, then subtract lr·hⁱ(eⁱ)ᵀ":
                 (1 - lr * lam) * (B - lr * torch.outer(h, e))}
        return (B, h, e, lr, lam), m.feedback_matrix("B", i), wrong

    return _check(fn, "the direct Kolen–Pollack step", make, n, rule="dkp",
                  hint=" Bⁱ is (nᵢ, n_out): torch.outer(h, e).")


def check_bp_path(fn, n=6):
    """``fn(W_above) -> (Wⁱ⁺¹)ᵀ⋯(Wˡ)ᵀ``, shape (nᵢ, n_out), from the forward weights above hidden layer i, lowest
    first: BP's path, what DFA's Bⁱ stands in for (:func:`fa_lab.core.alignment.bp_path`). Checked on tiny nets
    with three hidden layers of one width, so that a product in the wrong order keeps its shape."""

    def make(m, x, y):
        i = m.seed % 3 + 1
        W = [m.weight(j) for j in range(i + 1, len(m.sizes))]
        wrong = {"the hidden weights in the wrong order: the lowest, Wⁱ⁺¹, is the last one applied to e, so its "
                 "transpose comes first": attempt(lambda: bp_path(W[-2::-1] + W[-1:])),
                 "(Wⁱ⁺¹)ᵀ alone: that carries δaⁱ⁺¹ one layer down; e has to come down from the output":
                 W[0].T}
        return (W,), bp_path(W), wrong

    return _check(fn, "BP's path", make, n, rule="dfa", sizes=(7, 5, 5, 5, 3),
                  hint=" W_above[k] has shape (n_{i+k+1}, n_{i+k}): start from the last, W_above[-1].T, of shape "
                       "(n_ℓ, n_out), and multiply transposes on its left.")


def check_deep_strategy(fn, target="s3", depths=(1, 2, 3, 5)):
    """``fn(n_hidden) -> Rule``: strategy ``target`` (s1, s2, s3) for any number of hidden layers, as chapter 14
    defines it; at two it is Table 1. Checked at each of ``depths`` as data and through the engine
    (:func:`~fa_lab.teaching.exercises.check_strategy`)."""
    what = f"{target} for any depth"
    for n_hidden in depths:
        rule, verdict = _run(fn, (n_hidden,), what)
        if verdict is not None:
            return verdict
        verdict = check_strategy(rule, target, n_hidden=n_hidden)
        if not verdict:
            return Verdict(False, f"with {n_hidden} hidden layer{'s' if n_hidden > 1 else ''}: {verdict.message}")
    return Verdict(True, f"correct: your function gives {target} on {', '.join(map(str, depths))} hidden layers, "
                         f"as data and through the engine.")
