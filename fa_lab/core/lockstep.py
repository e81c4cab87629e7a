"""Lockstep: K models that share sizes, activation, head, dtype and device train in one pass.

Their weights are stacked (K, nᵢ, nᵢ₋₁); the forward pass (eq. 1) and the weight updates (eq. 4, then the
outer products δWⁱ = δaⁱ (hⁱ⁻¹)ᵀ) are one batched product for all K; error transport runs once per group of
models sharing a rule. A single model runs the same code on its own 2-D tensors (plain GEMMs, no K dimension).
"""

from __future__ import annotations

import torch

from .engine import backward, decay, learn_feedback, sgd_step
from .errors import FaLabError
from .nets import Forward, forward


class Lockstep:
    """Stacks K compatible models; their tensors become views into the stacks (trained in place)."""

    def __init__(self, models):
        if not models:
            raise FaLabError("no models to train")
        if len({id(m) for m in models}) != len(models):
            raise FaLabError("the same model object is listed twice; build one model per entry (fa_lab.build)")
        ref = models[0].net
        for k, m in enumerate(models[1:], 2):
            same = (m.net.sizes == ref.sizes and m.net.act.name == ref.act.name and m.net.head.name == ref.head.name
                    and m.net.W[0].dtype == ref.W[0].dtype and m.net.W[0].device == ref.W[0].device)
            if not same:
                raise FaLabError(f"models trained in lockstep must share sizes, activation, head, dtype and device; "
                                 f"model {k} ({m!r}) differs from model 1 ({models[0]!r})")
        self.net = ref
        keys = {}
        for m in models:  # group models by rule; groups are contiguous slices of the stacks
            keys.setdefault((m.rule, id(m.rule.F)), []).append(m)
        self.groups = list(keys.values())
        self.models = [m for g in self.groups for m in g]
        depth = ref.depth
        self.single = len(self.models) == 1
        if self.single:  # K = 1 runs on the model's own 2-D tensors (plain GEMMs, no batch dimension)
            m = self.models[0]
            self.W, self.b = m.net.W, m.net.b
        else:
            self.W = [torch.stack([m.net.W[i] for m in self.models]) for i in range(depth)]
            self.b = [torch.stack([m.net.b[i] for m in self.models]) for i in range(depth)]
            for k, m in enumerate(self.models):
                m.net.W = [w[k] for w in self.W]
                m.net.b = [b[k] for b in self.b]
        self.slices, start = [], 0
        self.fb = []
        for g in self.groups:
            self.slices.append(slice(start, start + len(g)))
            start += len(g)
            self.fb.append(dict(g[0].feedback) if self.single else
                           {key: torch.stack([m.feedback[key] for m in g]) for key in g[0].feedback})
            if not self.single:  # feedback that learns (Kolen–Pollack) must stay each model's own, as a view
                for k, m in enumerate(g):
                    for key in self.fb[-1]:
                        m.feedback[key] = self.fb[-1][key][k]

    def step(self, x, t, lr):
        """One SGD step on a batch for all K models; returns the output logits (K, B, n_out)."""
        fw = forward(self.W, self.b, self.net.act, x)
        parts, subs, errs = [], [], []
        for g, sl, fb in zip(self.groups, self.slices, self.fb):
            subs.append(fw if len(self.groups) == 1 else Forward([x] + [h[sl] for h in fw.h[1:]], [a[sl] for a in fw.a]))
            errs.append({} if g[0].rule.learned else None)
            parts.append(backward(g[0].rule, self.net.act, self.net.head, subs[-1], self._part(self.W, sl), fb, t,
                                  errs[-1]))
        deltas = parts[0] if len(parts) == 1 else [torch.cat(ds) for ds in zip(*parts)]
        for g, sl, fb in zip(self.groups, self.slices, self.fb):  # weight decay (Kolen–Pollack), before the update
            decay(self._part(self.W, sl) + [fb[key] for key in g[0].rule.learned], lr, g[0].rule.weight_decay)
        sgd_step(self.W, self.b, fw, deltas, lr)
        for g, fb, sub, d, er in zip(self.groups, self.fb, subs, parts, errs):
            learn_feedback(g[0].rule, fb, sub, d, lr, er)
        return self._stacked(fw.a[-1])

    def _part(self, tensors, sl):
        """The slice of stacked tensors that belongs to one rule group (all of them for one group or one model)."""
        return list(tensors) if len(self.groups) == 1 else [w[sl] for w in tensors]

    def _stacked(self, out):
        return out.unsqueeze(0) if self.single else out

    def score(self, x, t, chunk=2000):
        """Per model: the head's summed score (error count or ‖x − x̂‖²) and summed loss over rows x."""
        head = self.net.head
        err = torch.zeros(len(self.models), dtype=torch.float64, device=x.device)
        loss = torch.zeros_like(err)
        for s in range(0, x.shape[0], chunk):
            out = self._stacked(forward(self.W, self.b, self.net.act, x[s:s + chunk]).a[-1])
            err += head.score(out, t[s:s + chunk])
            loss += head.loss(out, t[s:s + chunk]).double()
        return err, loss
