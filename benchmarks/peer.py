"""The "autograd peer": fa_lab's six presets written the way common libraries write them.

``nn.Linear`` layers, custom ``torch.autograd.Function`` objects that swap the backward matrix (FA) or
inject B·e (DFA), trained by an ``optim.SGD`` optimizer (``rows.peer_row``). fa_lab's speed-up
over it is what the bench reports as ``autograd_speedup``.
"""

from __future__ import annotations

import torch
from torch import nn

from fa_lab.core.rules import Term, mean


class FALinearFn(torch.autograd.Function):
    """y = x Wᵀ + b whose backward sends the error down through a fixed B̃ instead of W (FA)."""

    @staticmethod
    def forward(ctx, x, W, b, B_tilde):
        ctx.save_for_backward(x, B_tilde)
        return torch.addmm(b, x, W.t())

    @staticmethod
    def backward(ctx, g):
        x, B_tilde = ctx.saved_tensors
        return g @ B_tilde.t(), g.t() @ x, g.sum(0), None


class Inject(torch.autograd.Function):
    """Identity on hⁱ whose backward replaces the incoming gradient by the rule's combination of
    terms: the gradient from above (BP/FA), Bⁱe (DFA), or neighbours' DFA-only deltas (s2/s3);
    the autograd tanh node below it then multiplies by f′(aⁱ)."""

    @staticmethod
    def forward(ctx, h, peer, i):
        ctx.peer, ctx.i = peer, i
        return h.view_as(h)

    @staticmethod
    def backward(ctx, g):
        return ctx.peer.combine(ctx.i, g), None, None


class Peer(nn.Module):
    """fa_lab's six presets written as a common library would: nn.Linear + custom autograd Functions.

    Per hidden layer, ``terms`` lists what its backward averages (F = fa_lab's mean): 'grad' (whatever
    autograd brings from above: Wᵀδ for nn.Linear, B̃ᵀδ for the FA Function), 'direct' (Bⁱe; e
    is captured by a hook on the logits), 'above~'/'below~' (fa_lab's terms: the neighbour's
    DFA-only delta Bʲe ⊙ f′(aʲ), recomputed from the saved hʲ, the way s2's δa¹ and s3's δã are formed).
    """

    SPECS = {  # (layer-2 input Linear kind, [terms of hidden layer 1, terms of hidden layer 2])
        "bp": ("W", [["grad"], ["grad"]]),
        "fa": ("B", [["grad"], ["grad"]]),
        "dfa": ("W", [["direct"], ["direct"]]),
        "s1": ("B", [["direct", "grad"], ["direct"]]),
        "s2": ("W", [["direct"], ["direct", "below~"]]),
        "s3": ("W", [["direct", "above~"], ["direct", "below~"]]),
    }

    def __init__(self, model):
        super().__init__()
        kind, terms = self.SPECS[model.rule.name]
        self.terms = [[t if t == "grad" else Term.parse(t) for t in ts] for ts in terms]
        W, b = model.net.W, model.net.b
        self.lin = nn.ModuleList()
        for Wi, bi in zip(W, b):
            lin = nn.Linear(Wi.shape[1], Wi.shape[0], device=Wi.device)
            with torch.no_grad():
                lin.weight.copy_(Wi)
                lin.bias.copy_(bi)
            self.lin.append(lin)
        fb = model.feedback
        dev = W[0].device
        n = model.sizes
        self.B = [fb.get(("B", i), torch.rand(n[i], n[-1], device=dev) - 0.5) for i in (1, 2)]
        self.B_tilde = [fb.get(("B_tilde", i), torch.rand(n[i], n[i + 1], device=dev) - 0.5) for i in (1, 2)]
        self.B_bar = fb.get(("B_bar", 2), torch.rand(n[2], n[1], device=dev) - 0.5)
        self.fa = kind == "B"  # the FA Function replaces nn.Linear's backward above each hidden layer
        self.e = None
        self.h = [None, None]

    def _store_e(self, g):
        self.e = g

    def combine(self, i, g):
        e = self.e
        out = []
        for term in self.terms[i]:
            if term == "grad":
                out.append(g)
            elif term.source == "direct":
                out.append(e @ self.B[i].t())
            else:  # a neighbour's DFA-only delta δãʲ = Bʲe ⊙ f′(aʲ), through B̃ (above) or B̄ (below)
                j = term.neighbour(i)
                h = self.h[j]
                tilde = (e @ self.B[j].t()) * (1 - h * h)
                out.append(tilde @ (self.B_tilde[i] if j > i else self.B_bar).t())
        return mean(out)

    def forward(self, x):
        h = x
        for i, lin in enumerate(self.lin):
            if i == 0 or not self.fa:
                a = lin(h)
            else:
                a = FALinearFn.apply(h, lin.weight, lin.bias, self.B_tilde[i - 1])  # B̃ⁱ sits above hidden layer i
            if i < len(self.lin) - 1:
                h = torch.tanh(a)
                self.h[i] = h.detach()
                h = Inject.apply(h, self, i)
        if a.requires_grad:
            a.register_hook(self._store_e)
        return a
