"""One engine for every rule: evaluate eq. 4 layer by layer, then form δWⁱ = δaⁱ (hⁱ⁻¹)ᵀ.

All tensors hold rows of examples and may carry a leading model dimension K (models
trained in lockstep share one rule per call). Index conventions: ``W[k]`` is W^{k+1};
hidden layer ``i`` (0-based) is the paper's layer i+1; ``fb['B', i+1]`` is its Bⁱ⁺¹.
"""

from __future__ import annotations

import torch


def T(m):
    """Transpose the last two dimensions (matrices may be stacked over models)."""
    return m.transpose(-1, -2)


def hidden_deltas(rule, act, head, fw, W, fb, e, t, errors=None):
    """δaⁱ for every hidden layer under ``rule`` (eq. 4); returns a list, lowest layer first.

    ``fw``: the forward pass (hⁱ, aⁱ); ``e``: output error δaˡ; ``t``: target rows
    (needed only for auxiliary errors eⁱ = head(hⁱ Bⁱ) − t, §2.1.1). ``errors``: a dict that receives
    {i: eⁱ} for every layer whose direct term was computed (what a learned Bⁱ learns from).
    """
    n = rule.n_hidden
    fprime = [None] * n
    direct = [None] * n  # uⁱ = Bⁱ eⁱ, computed at most once per layer
    delta = [None] * n

    def f_prime(i):
        if fprime[i] is None:
            fprime[i] = act.df(fw.a[i], fw.h[i + 1])
        return fprime[i]

    def layer_error(i):
        if rule.error == "output":
            return e
        return head.error(fw.h[i + 1] @ fb["B", i + 1], t)  # aⁱₓ = (Bⁱ)ᵀ hⁱ

    def direct_term(i):
        if direct[i] is None:
            ei = layer_error(i)
            if errors is not None:
                errors[i] = ei
            direct[i] = ei @ T(fb["B", i + 1])
        return direct[i]

    def neighbour_delta(j, tilde):
        if j == n:  # above the top hidden layer sits the output: δaˡ = e
            return e
        return direct_term(j) * f_prime(j) if tilde else delta[j]  # δãʲ = Bʲ eʲ ⊙ f′(aʲ)

    for i in rule.order:
        terms = []
        for term in rule.layers[i]:
            if term.source == "direct":
                terms.append(direct_term(i))
                continue
            j = term.neighbour(i)
            src = neighbour_delta(j, term.tilde)
            if term.via == "weights":
                terms.append(src @ W[j])  # (Wʲ⁺¹)ᵀ δa, rows: δa Wʲ⁺¹
            elif term.via == "sign":
                terms.append(src @ torch.sign(W[j]))  # sign(Wʲ⁺¹)ᵀ δa
            else:
                terms.append(src @ T(fb["B_tilde" if term.source == "above" else "B_bar", i + 1]))
        delta[i] = rule.F(terms) * f_prime(i)
    return delta


def backward(rule, act, head, fw, W, fb, t, errors=None):
    """The error e = δaˡ and all δaⁱ, lowest first (the output's last); ``errors`` as in :func:`hidden_deltas`."""
    e = head.error(fw.a[-1], t)
    return hidden_deltas(rule, act, head, fw, W, fb, e, t, errors) + [e]


def weight_updates(fw, deltas):
    """δWⁱ = δaⁱ (hⁱ⁻¹)ᵀ and δbⁱ = δaⁱ, summed over the examples of the batch (eq. 2)."""
    return [(T(d) @ h, d.sum(-2)) for d, h in zip(deltas, fw.h)]


@torch.no_grad()
def decay(tensors, lr, weight_decay):
    """The weight-decay part of a step, before the update: X ← (1 − lr·λ) X."""
    if weight_decay:
        for x in tensors:
            x.mul_(1 - lr * weight_decay)


@torch.no_grad()
def learn_feedback(rule, fb, fw, deltas, lr, errors=None):
    """The learned feedback's step (the decay is separate). Kolen–Pollack: B̃ⁱ ← B̃ⁱ − lr·(δWⁱ⁺¹)ᵀ =
    B̃ⁱ − lr·(hⁱ)ᵀ δaⁱ⁺¹. Direct Kolen–Pollack: Bⁱ ← Bⁱ − lr·(hⁱ)ᵀ eⁱ, with eⁱ the error the layer's direct
    term used (``errors`` from :func:`backward`: e, or the auxiliary eⁱ)."""
    for kind, k in rule.learned:
        B, h = fb[kind, k], fw.h[k]
        d = deltas[k] if kind == "B_tilde" else errors[k - 1]
        if B.dim() == 2:
            B.addmm_(h.T, d, alpha=-lr)
        else:
            B.baddbmm_(h.transpose(1, 2), d, alpha=-lr)


@torch.no_grad()
def sgd_step(W, b, fw, deltas, lr):
    """W ← W − lr·δW, b ← b − lr·δb, in place, fusing the product into the update."""
    for Wi, bi, d, h in zip(W, b, deltas, fw.h):
        if Wi.dim() == 2:
            Wi.addmm_(d.T, h, alpha=-lr)
        else:  # K models; input rows shared by all K are a stride-0 batch, never copied
            Wi.baddbmm_(d.transpose(1, 2), h.expand(Wi.shape[0], *h.shape) if h.dim() == 2 else h, alpha=-lr)
        bi.sub_(d.sum(-2), alpha=lr)
