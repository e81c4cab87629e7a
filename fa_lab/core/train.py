"""SGD training, one model or many in lockstep.

Protocol (paper §4, SPEC "Protocol"): SGD, lr = 0.001 applied to the *summed* mini-batch
update (so every example moves the weights as much as in per-example SGD), 100 epochs,
batch size ``BATCH_SIZE`` (the paper does not state one; see README "Batch size").

Lockstep: K models that share sizes, activation and the batch order train in one pass.
Their weights are stacked (K, nᵢ, nᵢ₋₁); the forward pass and the weight updates are one
batched product for all K; error transport runs once per group of models sharing a rule.
A single model runs the same code on its own 2-D tensors (plain GEMMs, no K dimension).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch

from .engine import backward, sgd_step
from .errors import FaLabError, TrainingDiverged
from .nets import Forward, forward, generator

LR = 0.001
EPOCHS = 100
BATCH_SIZE = 16
REDUCTIONS = ("sum", "mean")


@dataclass
class History:
    """Per-epoch record of one model. Errors are % misclassified (classifiers) or the mean
    ‖x − x̂‖² per image (auto-encoders). ``train_error`` is measured on the fly during the
    epoch (each batch before its update); ``final_train_error`` on the final weights."""

    name: str
    train_error: list = field(default_factory=list)
    test_error: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    epoch_time: list = field(default_factory=list)
    final_train_error: float | None = None
    diverged: str | None = None

    @property
    def epochs(self):
        return len(self.test_error)


def _check_positive(name, value, kind):
    """``value`` must be a positive int (kind=int) or a positive finite number (kind=float)."""
    types = (int, float) if kind is float else (int,)
    if isinstance(value, bool) or not isinstance(value, types) or not math.isfinite(value) or value <= 0:
        raise FaLabError(f"{name} must be a positive {'number' if kind is float else 'integer'}, got {value!r}")


class Lockstep:
    """Stacks K compatible models; their tensors become views into the stacks (trained in place)."""

    def __init__(self, models):
        if not models:
            raise FaLabError("no models to train")
        ref = models[0].net
        for m in models[1:]:
            same = (m.net.sizes == ref.sizes and m.net.act.name == ref.act.name and m.net.head.name == ref.head.name
                    and m.net.W[0].dtype == ref.W[0].dtype and m.net.W[0].device == ref.W[0].device)
            if not same:
                raise FaLabError(f"models trained in lockstep must share sizes, activation, head, dtype and device; "
                                 f"{m.name!r} differs from {models[0].name!r}")
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

    def step(self, x, t, lr):
        """One SGD step on a batch for all K models; returns the output logits (K, B, n_out)."""
        fw = forward(self.W, self.b, self.net.act, x)
        parts = []
        for g, sl, fb in zip(self.groups, self.slices, self.fb):
            sub = fw if len(self.groups) == 1 else Forward([x] + [h[sl] for h in fw.h[1:]], [a[sl] for a in fw.a])
            W = self.W if len(self.groups) == 1 else [w[sl] for w in self.W]
            parts.append(backward(g[0].rule, self.net.act, self.net.head, sub, W, fb, t))
        deltas = parts[0] if len(parts) == 1 else [torch.cat(ds) for ds in zip(*parts)]
        sgd_step(self.W, self.b, fw, deltas, lr)
        return self._stacked(fw.a[-1])

    def _stacked(self, out):
        return out.unsqueeze(0) if self.single else out

    def evaluate(self, x, y, chunk=2000):
        """Per model: % error (classifier) or mean ‖x − x̂‖² (auto-encoder), and summed loss."""
        head = self.net.head
        err = torch.zeros(len(self.models), dtype=torch.float64, device=x.device)
        loss = torch.zeros_like(err)
        for s in range(0, x.shape[0], chunk):
            xb = x[s:s + chunk]
            yb = None if y is None else y[s:s + chunk]
            out = self._stacked(forward(self.W, self.b, self.net.act, xb).a[-1])
            t = head.target(yb, xb, self.net.sizes[-1], out.dtype)
            err += _errors(head, out, t, yb)
            loss += head.loss(out, t).double()
        return _as_error(head, err, x.shape[0]), loss


def _errors(head, out, t, y):
    """Summed per-model error count (classifier) or summed ‖x − x̂‖² (auto-encoder) for a batch."""
    if head.name == "softmax":
        return (out.argmax(-1) != y).sum(-1).double()
    return ((torch.sigmoid(out) - t) ** 2).sum((-1, -2)).double()


def _score_epoch(head, outs, perm, x, y, t, rows=4096):
    """Summed error and loss per model of the outputs an epoch produced batch by batch (``outs``,
    in the order of ``perm``), scored in a few large chunks instead of two small ops per step."""
    K = outs[0].shape[0]
    err = torch.zeros(K, dtype=torch.float64, device=perm.device)
    loss = torch.zeros_like(err)
    per = max(1, rows // outs[0].shape[1])
    start = 0
    for j in range(0, len(outs), per):
        out = torch.cat(outs[j:j + per], dim=1)
        idx = perm[start:start + out.shape[1]]
        start += out.shape[1]
        yb = y.index_select(0, idx) if y is not None else None
        tb = t.index_select(0, idx) if t is not None else x.index_select(0, idx)
        err += _errors(head, out, tb, yb)
        loss += head.loss(out, tb).double()
    return err, loss


def _as_error(head, summed, n):
    return (summed * (100.0 / n if head.name == "softmax" else 1.0 / n)).tolist()


def _all_finite(w):
    """True when no entry of ``w`` is NaN or ±inf, tested on its sum: a NaN or inf entry makes the sum
    NaN or inf. One reduction instead of an elementwise mask the size of the weights (0.8 ms per
    800×800 layer here); a finite sum can overflow only for weights of order 1e38 / n, diverged anyway."""
    return bool(torch.isfinite(w.sum()))


def _divergence_message(model, epoch, loss, lr, batch_size, reduction):
    step = lr * batch_size if reduction == "sum" else lr
    return (f"training diverged at epoch {epoch} for model {model.name!r}: the training loss became {loss}. "
            f"Likely cause: the step is too large for this net (lr={lr:g}, batch_size={batch_size}, reduction="
            f"{reduction!r}: effective step on the mean gradient {step:g}), or feedback matrices of large scale "
            f"(family {model.family!r}); try a smaller lr or batch size.")


def fit(models, data, epochs=EPOCHS, batch_size=BATCH_SIZE, lr=LR, seed=0, reduction="sum", progress=True,
        callback=None, final_train_error=True):
    """Train ``models`` in lockstep on ``data`` (:class:`~fa_lab.data.MNIST`); returns one History each.

    ``seed`` fixes the batch order (shared by all models). ``reduction='sum'`` applies lr to the
    summed update (the protocol); ``'mean'`` to the batch mean. A model whose loss turns NaN/inf is
    marked ``diverged`` and stops counting; the others go on. ``callback(epoch, histories)`` runs
    after each epoch (live plots); it may return True to stop early.
    """
    _check_positive("epochs", epochs, int)
    _check_positive("batch_size", batch_size, int)
    _check_positive("lr", lr, float)
    if reduction not in REDUCTIONS:
        raise FaLabError(f"unknown reduction {reduction!r}; valid choices: {', '.join(REDUCTIONS)}")
    given = list(models)
    stack = Lockstep(given)
    models = stack.models  # grouped by rule; histories stay in the caller's order
    net = stack.net
    device = net.W[0].device
    dtype = net.W[0].dtype
    if data.x_train.shape[1] != net.sizes[0]:
        raise FaLabError(f"data has {data.x_train.shape[1]} input features but the net expects {net.sizes[0]}")
    x_train, x_test = data.x_train.to(device, dtype), data.x_test.to(device, dtype)
    classifier = net.head.name == "softmax"
    y_train = data.y_train.to(device) if classifier else None
    y_test = data.y_test.to(device) if classifier else None
    n = x_train.shape[0]
    step_lr = lr if reduction == "sum" else lr / batch_size
    g = generator(seed, "data-order")
    histories = [History(m.name) for m in given]
    stacked = [histories[next(j for j, g in enumerate(given) if g is m)] for m in models]
    alive = [True] * len(models)

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs, desc=", ".join(m.name for m in models)[:40], unit="epoch")
    # one-hot targets made once (auto-encoders: the target is the input batch itself)
    t_train = net.head.target(y_train, None, net.sizes[-1], dtype) if classifier else None
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=g).to(device)
        outs = []  # each batch's outputs (before its update): the on-the-fly train error, scored per epoch
        with torch.no_grad():
            for s in range(0, n, batch_size):
                idx = perm[s:s + batch_size]
                xb = x_train.index_select(0, idx)
                t = t_train.index_select(0, idx) if classifier else xb
                outs.append(stack.step(xb, t, step_lr))
            err, loss = _score_epoch(net.head, outs, perm, x_train, y_train, t_train)
            del outs
            train_err = _as_error(net.head, err, n)
            test_err, _ = stack.evaluate(x_test, y_test)
        seconds = time.perf_counter() - t0
        for k, (m, h) in enumerate(zip(models, stacked)):
            if not alive[k]:
                continue
            value = float(loss[k])
            if not math.isfinite(value) or not all(_all_finite(w) for w in m.net.W):
                h.diverged = _divergence_message(m, epoch, value, lr, batch_size, reduction)
                alive[k] = False
                continue
            h.train_error.append(train_err[k])
            h.test_error.append(test_err[k])
            h.train_loss.append(value / n)
            h.epoch_time.append(seconds)
        if bar is not None:
            bar.update(1)
            bar.set_postfix_str(" ".join(f"{h.test_error[-1]:.2f}" for h in histories if h.test_error and not h.diverged))
        stop = callback(epoch, histories) if callback else False
        if not any(alive) or stop:
            break
    if bar is not None:
        bar.close()
    if final_train_error:
        with torch.no_grad():
            final, _ = stack.evaluate(x_train, y_train)
        for k, h in enumerate(stacked):
            if alive[k]:
                h.final_train_error = final[k]
    return histories


def train(model, data, epochs=EPOCHS, batch_size=BATCH_SIZE, lr=LR, seed=0, **kwargs):
    """Train one model; raises :class:`TrainingDiverged` (with the history so far) on NaN/inf."""
    (history,) = fit([model], data, epochs, batch_size, lr, seed, **kwargs)
    if history.diverged:
        raise TrainingDiverged(history.diverged, history)
    return history
