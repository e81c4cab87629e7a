"""Checkers for the exercises of chapter 14 (beyond the paper): sign symmetry's delta, direct Kolen–Pollack's
feedback step and a strategy for any depth. Same contract as :mod:`fa_lab.teaching.exercises` (one example, the paper's orientation, a
:class:`~fa_lab.teaching.exercises.Verdict` that never raises on the student's code)."""

from __future__ import annotations

import torch

from ..core.lockstep import Lockstep
from ._diagnose import forward
from .exercises import Verdict, _check, _run, check_strategy

__all__ = ["check_sign_delta", "check_dkp_step", "check_deep_strategy"]


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
