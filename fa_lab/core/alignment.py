"""Alignment diagnostics: why does a rule learn? Measured per layer on a fixed probe batch, cheap enough to
keep on in every run (two backward passes on a few hundred examples per epoch).

For weight layer i (1..ℓ):

- ``angle``: degrees between the rule's δWⁱ and BP's gradient (0° = the rule follows the gradient);
- ``norm_ratio``: ‖δWⁱ‖ / ‖∇Wⁱ‖;
- ``example_angle_mean`` / ``_sd``: the same angle per example (δWⁱ of one example is δaⁱ (hⁱ⁻¹)ᵀ, so it
  is the angle between the rule's δaⁱ and BP's), mean and sd over the probe batch;

and for hidden layer i (1..ℓ−1), the feedback the rule uses against what BP would use there:
``feedback_angle`` = ∠(B̃ⁱ, (Wⁱ⁺¹)ᵀ) for FA-type terms, ∠(Bⁱ, (Wⁱ⁺¹)ᵀ⋯(Wˡ)ᵀ) for DFA-type terms (the product
that carries e down to layer i in BP), ∠(sign(Wⁱ⁺¹), Wⁱ⁺¹) for sign symmetry; ``feedback_norm`` = the Frobenius
norm of that feedback matrix (B̃ⁱ, Bⁱ or sign(Wⁱ⁺¹): a learned one grows or shrinks); None for BP itself.
"""

from __future__ import annotations

import math

import torch

from .engine import backward, weight_updates
from .rules import bp

# what each measure is, for plots and tables (field of a row -> (what it measures, unit)); example_angle is the
# pair example_angle_mean / example_angle_sd
MEASURES = {"angle": ("∠(δW{i}, BP's ∇W{i})", "degrees"),
            "feedback_angle": ("∠(feedback{i}, BP's)", "degrees"),  # BP's: what BP uses there
            "norm_ratio": ("‖δW{i}‖ / ‖∇W{i}‖", "ratio"),
            "feedback_norm": ("‖feedback{i}‖ (Frobenius)", "norm"),
            "example_angle": ("∠(δa{i}, BP's) per example, mean ± sd", "degrees")}


def row_key(measure):
    """The field of a row (:func:`measure`) that holds ``measure``: example_angle is stored as its mean and sd."""
    return "example_angle_mean" if measure == "example_angle" else measure


def _angle(a, b):
    cos = (a * b).sum() / (a.norm() * b.norm()).clamp_min(1e-30)
    return math.degrees(math.acos(float(cos.clamp(-1, 1))))


def _example_angles(d, g):
    """Per-example angles (degrees) between rows of d and g."""
    cos = (d * g).sum(-1) / (d.norm(dim=-1) * g.norm(dim=-1)).clamp_min(1e-30)
    return torch.rad2deg(torch.acos(cos.clamp(-1, 1)))


def bp_path(W_above):
    """(Wⁱ⁺¹)ᵀ(Wⁱ⁺²)ᵀ⋯(Wˡ)ᵀ, of shape (nᵢ, n_out), from ``W_above`` = [Wⁱ⁺¹, …, Wˡ] (the forward weights above
    hidden layer i, lowest first): what carries e down to layer i in BP (eq. 2 without the f′ factors), so what
    a direct matrix Bⁱ stands in for."""
    path = W_above[-1].T
    for w in reversed(W_above[:-1]):
        path = w.T @ path
    return path


def feedback_pair(model, i):
    """(the feedback matrix hidden layer i (1-based) uses, BP's counterpart) as in the module docstring, or None."""
    terms = model.rule.layers[i - 1]
    W = model.net.W
    if any(t.source == "direct" for t in terms):
        return model.feedback["B", i], bp_path(W[i:])
    if any(t.source == "above" and t.via == "sign" for t in terms):
        return torch.sign(W[i]), W[i]
    if ("B_tilde", i) in model.feedback:
        return model.feedback["B_tilde", i], W[i].T
    return None


def feedback_angle(model, i):
    """∠ between the feedback hidden layer i (1-based) uses and BP's counterpart (see module docstring)."""
    pair = feedback_pair(model, i)
    return None if pair is None else _angle(*pair)


@torch.no_grad()
def measure(model, x, t):
    """One row per weight layer (dicts, see module docstring) for the probe batch ``x`` with targets ``t``."""
    net = model.net
    fw = net.forward(x)
    mine = backward(model.rule, net.act, net.head, fw, net.W, model.feedback, t)
    grad = backward(bp(net.n_hidden), net.act, net.head, fw, net.W, model.feedback, t)
    rows = []
    for i, ((dw, _), (gw, _), d, g) in enumerate(zip(weight_updates(fw, mine), weight_updates(fw, grad), mine, grad), 1):
        per = _example_angles(d, g)
        rows.append({"angle": _angle(dw, gw), "norm_ratio": float(dw.norm() / gw.norm().clamp_min(1e-30)),
                     "example_angle_mean": float(per.mean()), "example_angle_sd": float(per.std()) if len(per) > 1
                     else 0.0, **_feedback(model, i)})
    return rows


def _feedback(model, i):
    """feedback_angle and feedback_norm of weight layer i (None for the output layer and for BP)."""
    pair = feedback_pair(model, i) if i < len(model.net.W) else None
    return {"feedback_angle": None if pair is None else _angle(*pair),
            "feedback_norm": None if pair is None else float(pair[0].norm())}


class AlignmentProbe:
    """A :func:`~fa_lab.core.train.fit` callback: measures every model on a fixed probe batch before training
    and after every epoch, into each history's ``alignment`` (a list over epochs of per-layer rows)."""

    def __init__(self, models, data, n=256):
        ref = models[0].net.W[0]
        self.models = models
        self.x = data.x_train[:n].to(ref.device, ref.dtype)
        self.t = models[0].net.head.target(data.y_train[:n].to(ref.device), self.x, models[0].sizes[-1], ref.dtype)
        self.first = [measure(m, self.x, self.t) for m in models]

    def __call__(self, epoch, histories):
        for m, h, first in zip(self.models, histories, self.first):
            if not h.alignment:
                h.alignment.append(first)
            if not h.diverged:
                h.alignment.append(measure(m, self.x, self.t))
