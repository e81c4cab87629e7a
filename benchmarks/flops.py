"""The FLOP model of one training step: which matrix products a rule needs, and their FLOPs.

Every matrix product of an (m×k) by a (k×n) matrix counts 2·m·k·n; element-wise work (f, f′,
softmax, bias, the mean F, the SGD axpy) is not counted, so the fraction of peak is the fraction of
time the machine spends doing *necessary* matrix arithmetic. :func:`step_gemms` builds the same
products as runnable GEMMs in the engine's shapes and layouts (timed by ``ceilings.gemm_ceiling``).
"""

from __future__ import annotations

import torch

EPOCH = 60_000  # MNIST training examples


def transports(rule, sizes):
    """The error-transport products of one example's step under ``rule``, per hidden layer (lowest
    first): tuples (what, nᵢ, nⱼ), each a product of 2·nᵢ·nⱼ FLOPs, where nᵢ is the layer's width.

    * ``"B"``: Bⁱeⁱ, once if the layer computes it (a direct term, or a neighbour reads its tilde delta
      δãⁱ; ``Rule.needs``); nⱼ = n_out; ``"aux"``: with auxiliary errors, the logits (Bⁱ)ᵀhⁱ as well;
    * ``"weights"`` / ``"feedback"``: a term that reads neighbour j's delta (``Term.neighbour``) through
      Wᵀ, or through B̃ or B̄; above the top hidden layer sits the output, nⱼ = n_out.
    """
    n = list(sizes)
    for i in range(rule.n_hidden):  # 0-based hidden layer i is the paper's layer i+1, width n[i+1]
        width = n[i + 1]
        if "B" in rule.needs(i):
            yield "B", width, n[-1]
            if rule.error == "auxiliary":
                yield "aux", width, n[-1]
        for term in rule.layers[i]:
            j = term.neighbour(i)
            if j is not None:
                yield term.via, width, n[-1] if j == rule.n_hidden else n[j + 1]


def flops_per_example(rule, sizes) -> int:
    """Floating-point operations of one training example under ``rule`` (a fa_lab Rule), GEMMs only.

    Per example, with layer widths n₀..n_ℓ (n_ℓ = n_out):

    * forward:          Σᵢ 2·nᵢ₋₁·nᵢ over all ℓ layers                      (aⁱ = Wⁱhⁱ⁻¹ + bⁱ)
    * weight updates:   Σᵢ 2·nᵢ₋₁·nᵢ over all ℓ layers                      (δWⁱ = δaⁱ(hⁱ⁻¹)ᵀ)
    * error transport:  2·nᵢ·nⱼ per product of :func:`transports`.

    One epoch is ``EPOCH`` examples times this (the batch size does not change the count).
    """
    n = list(sizes)
    layers = sum(a * b for a, b in zip(n[:-1], n[1:]))
    forward = updates = 2 * layers
    return forward + updates + sum(2 * width * n_j for _, width, n_j in transports(rule, n))


def flops_per_epoch(rule, sizes) -> int:
    """:func:`flops_per_example` times the ``EPOCH`` = 60 000 MNIST training examples."""
    return EPOCH * flops_per_example(rule, sizes)


def step_gemms(rule, sizes, device, batch, models=1):
    """The GEMMs of one training step of ``rule`` at ``batch``, as zero-argument callables on random
    operands of the engine's shapes and layouts, and their FLOPs (counted from the operands' shapes;
    they equal ``batch`` times :func:`flops_per_example`, which is checked). ``models`` > 1: the same
    for K models stacked the way lockstep stacks them (batched GEMMs over (K, n, m) weights).

    Forward ``addmm(b, h, Wᵀ)``; transport ``e·Bᵀ`` once per layer that forms Bⁱe (plus the auxiliary
    logits ``h·B``), ``δ·W`` (BP) or ``δ·B̃ᵀ``/``δ·B̄ᵀ`` per neighbour term; update ``W.addmm_(δᵀ, h)``."""
    stack = (models,) if models > 1 else ()

    def mat(*shape, scale=1.0):
        return torch.randn(*stack, *shape, device=device) * scale

    n = list(sizes)
    gemms = [_forward(mat, batch, n_in, n_out) for n_in, n_out in zip(n[:-1], n[1:])]
    gemms += [_transport(mat, batch, what, width, n_j) for what, width, n_j in transports(rule, n)]
    gemms += [_update(mat, batch, n_in, n_out) for n_in, n_out in zip(n[:-1], n[1:])]
    flops = sum(f for _, f in gemms)
    assert flops == batch * flops_per_example(rule, sizes), "step_gemms and the FLOP model disagree"
    return [call for call, _ in gemms], models * flops


def _flops(x, y):
    """2·m·k·n: the FLOPs of x (m×k) times y (k×n), per stacked model."""
    assert x.shape[-1] == y.shape[-2]
    return 2 * x.shape[-2] * x.shape[-1] * y.shape[-1]


def _forward(mat, batch, n_in, n_out):
    """aⁱ = h Wᵀ + b: ``addmm`` (``baddbmm`` for stacked models); (call, FLOPs)."""
    W, h = mat(n_out, n_in, scale=0.01), mat(batch, n_in)
    flops = _flops(h, W.transpose(-1, -2))
    if W.dim() == 3:
        b = mat(1, n_out)
        return (lambda: torch.baddbmm(b, h, W.transpose(-1, -2))), flops
    b = mat(n_out)
    return (lambda: torch.addmm(b, h, W.T)), flops


def _transport(mat, batch, what, width, n_j):
    """One product of :func:`transports`: ``e·Bᵀ`` ("B"), ``h·B`` ("aux"), ``δ·W`` ("weights") or
    ``δ·B̃ᵀ``/``δ·B̄ᵀ`` ("feedback"); (call, FLOPs)."""
    if what == "aux":
        x, y = mat(batch, width), mat(width, n_j)
    elif what == "weights":
        x, y = mat(batch, n_j), mat(n_j, width)
    else:
        x, y = mat(batch, n_j), mat(width, n_j).transpose(-1, -2)
    mm = torch.bmm if x.dim() == 3 else torch.mm
    return (lambda: mm(x, y)), _flops(x, y)


def _update(mat, batch, n_in, n_out):
    """δWⁱ: ``W.addmm_(δᵀ, h)`` (``baddbmm_`` for stacked models) with the SGD step folded in; (call, FLOPs)."""
    W, d, h = mat(n_out, n_in, scale=0.01), mat(batch, n_out, scale=1e-6), mat(batch, n_in)
    flops = _flops(d.transpose(-1, -2), h)
    if W.dim() == 3:
        return (lambda: W.baddbmm_(d.transpose(1, 2), h, alpha=-1e-3)), flops
    return (lambda: W.addmm_(d.T, h, alpha=-1e-3)), flops
