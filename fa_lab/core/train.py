"""SGD training, one model or many in lockstep.

Protocol (paper §4, SPEC "Protocol"): SGD, lr = 0.001 applied to the *summed* mini-batch
update (so every example moves the weights as much as in per-example SGD), 100 epochs,
batch size ``BATCH_SIZE`` (the paper does not state one; see README "Batch size").

Lockstep (``lockstep.py``): K models that share sizes, activation and the batch order train in one pass.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch

from . import graphs
from .errors import FaLabError, TrainingDiverged, choose, positive
from .lockstep import Lockstep
from .nets import generator

LR = 0.001
EPOCHS = 100
BATCH_SIZE = 16
REDUCTIONS = ("sum", "mean")
EXPLODED = 1e6  # training loss per example beyond which a run has diverged (chance-level cross-entropy is ~2.3)


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
    warning: str | None = None  # e.g. a final error at chance level: nothing was learned
    alignment: list = field(default_factory=list)  # per epoch (0 = before training): per-layer rows (alignment.py)

    @property
    def epochs(self):
        return len(self.test_error)


def _score_epoch(head, outs, perm, t, rows=4096):
    """Summed score and loss per model of the outputs an epoch produced batch by batch (``outs``,
    in the order of ``perm``), scored in a few large chunks instead of two small ops per step."""
    K = outs[0].shape[0]
    err = torch.zeros(K, dtype=torch.float64, device=perm.device)
    loss = torch.zeros_like(err)
    per = max(1, rows // outs[0].shape[1])
    start = 0
    for j in range(0, len(outs), per):
        out = torch.cat(outs[j:j + per], dim=1)
        tb = t.index_select(0, perm[start:start + out.shape[1]])
        start += out.shape[1]
        err += head.score(out, tb)
        loss += head.loss(out, tb).double()
    return err, loss


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


def _warn_at_chance(net, histories, alive):
    """A run that ends at chance level learned nothing (e.g. dead relu units, a step far too large or
    small): its history gets a ``warning`` saying so."""
    chance = net.head.chance(net.sizes[-1])
    for k, h in enumerate(histories):
        if chance and alive[k] and h.test_error and h.test_error[-1] >= 0.95 * chance:
            h.warning = (f"model {h.name!r} ends at {h.test_error[-1]:.1f} % test error, chance level for "
                         f"{net.sizes[-1]} classes ({chance:.0f} %): it learned nothing (dead relu units? a step "
                         f"far too large or too small?)")


# ---------------------------------------------------------------- progress: callbacks
class ProgressBar:
    """A tqdm bar over epochs, showing each model's latest test error (a callback of :func:`fit`)."""

    def __init__(self, epochs, desc):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=epochs, desc=desc[:40], unit="epoch")

    def __call__(self, epoch, histories):
        self.bar.update(1)
        self.bar.set_postfix_str(" ".join(f"{h.test_error[-1]:.2f}" for h in histories if h.test_error and not h.diverged))

    def close(self):
        self.bar.close()


def _as_list(callbacks):
    if callbacks is None:
        return []
    return [callbacks] if callable(callbacks) else list(callbacks)


# ---------------------------------------------------------------- training
@dataclass
class _Data:
    """Training and test rows with their targets, on the models' device and dtype."""

    x_train: torch.Tensor
    t_train: torch.Tensor
    x_test: torch.Tensor
    t_test: torch.Tensor

    @classmethod
    def of(cls, data, net):
        W0 = net.W[0]
        if data.x_train.shape[1] != net.sizes[0]:
            raise FaLabError(f"data has {data.x_train.shape[1]} input features but the net expects {net.sizes[0]}")
        if len(data.x_train) == 0 or len(data.x_test) == 0:
            raise FaLabError(f"no examples to train or test on ({len(data.x_train)} training, {len(data.x_test)} test)")
        if net.head.needs_labels:
            for y in (data.y_train, data.y_test):
                if y.min() < 0 or y.max() >= net.sizes[-1]:
                    raise FaLabError(f"labels must be integers in 0..{net.sizes[-1] - 1} for a net with "
                                     f"{net.sizes[-1]} outputs; got labels in {int(y.min())}..{int(y.max())}")
        x_train, x_test = data.x_train.to(W0.device, W0.dtype), data.x_test.to(W0.device, W0.dtype)
        y_train, y_test = data.y_train.to(W0.device), data.y_test.to(W0.device)
        target = net.head.target  # one-hot labels made once (auto-encoders: the input rows themselves)
        return cls(x_train, target(y_train, x_train, net.sizes[-1], W0.dtype), x_test,
                   target(y_test, x_test, net.sizes[-1], W0.dtype))


def _train_epoch(stack, d, perm, batch_size, step_lr, replay=None):
    """One pass of SGD over ``perm``; returns the summed score and loss of each batch before its update
    (the on-the-fly training error, free). With ``replay`` (:mod:`~fa_lab.core.graphs`, CUDA), whole chunks of
    steps replay a recorded graph and only the rows left over train op by op."""
    outs, s = [], 0
    while replay is not None and s + replay.rows <= perm.shape[0]:
        outs += replay.steps(d.x_train, d.t_train, perm, s)
        s += replay.rows
    for s in range(s, perm.shape[0], batch_size):
        idx = perm[s:s + batch_size]
        outs.append(stack.step(d.x_train.index_select(0, idx), d.t_train.index_select(0, idx), step_lr))
    return _score_epoch(stack.net.head, outs, perm, d.t_train)


def _record(models, histories, alive, epoch, train_err, test_err, loss, n, seconds, settings):
    """Append one epoch to each live model's history; a model whose loss or weights turn NaN/inf is
    marked diverged and stops counting."""
    for k, (m, h) in enumerate(zip(models, histories)):
        if not alive[k]:
            continue
        value = float(loss[k])
        exploded = value / n > EXPLODED
        if exploded or not math.isfinite(value) or not all(_all_finite(w) for w in m.net.W):
            h.diverged = _divergence_message(m, epoch, value, *settings)
            alive[k] = False
            continue
        h.train_error.append(train_err[k])
        h.test_error.append(test_err[k])
        h.train_loss.append(value / n)
        h.epoch_time.append(seconds)


def fit(models, data, epochs=EPOCHS, batch_size=BATCH_SIZE, lr=LR, seed=0, reduction="sum", progress=True,
        callbacks=None, final_train_error=True):
    """Train ``models`` in lockstep on ``data`` (:class:`~fa_lab.core.data.MNIST`); returns one History each.

    SGD with δWⁱ, δbⁱ of each model's rule (eq. 4, then eq. 2's outer products). ``seed`` fixes the batch
    order (shared by all models). ``reduction='sum'`` applies lr to the summed update (the protocol);
    ``'mean'`` to the batch mean. A model whose loss turns NaN/inf is marked ``diverged``; the others go
    on. ``callbacks``: a callable or a list, each called as ``cb(epoch, histories)`` after every epoch
    (progress lines, live plots); one returning True stops training; a ``close()`` method is called at
    the end. ``progress`` adds a tqdm bar.
    """
    positive("epochs", epochs, int)
    positive("batch_size", batch_size, int)
    positive("lr", lr, float)
    choose("reduction", reduction, REDUCTIONS)
    given = list(models)
    stack = Lockstep(given)
    top = torch.finfo(stack.net.W[0].dtype).max
    if lr > top:
        raise FaLabError(f"lr must be at most {top:.3g} (the largest {stack.net.W[0].dtype} number), got {lr:g}")
    d = _Data.of(data, stack.net)
    n, head = d.x_train.shape[0], stack.net.head
    step_lr = lr if reduction == "sum" else lr / batch_size
    order = generator(seed, "data-order")
    histories = [History(m.name) for m in given]
    by_id = {id(m): h for m, h in zip(given, histories)}
    stacked = [by_id[id(m)] for m in stack.models]  # histories in the stack's (rule-grouped) order
    alive = [True] * len(stack.models)
    replay = graphs.Replay(stack, d.x_train, d.t_train, batch_size, step_lr) if graphs.wanted(d.x_train) else None
    cbs = _as_list(callbacks) + ([ProgressBar(epochs, ", ".join(m.name for m in given))] if progress else [])
    try:
        for epoch in range(1, epochs + 1):
            t0 = time.perf_counter()
            perm = torch.randperm(n, generator=order).to(d.x_train.device)
            with torch.no_grad():
                train_sum, loss = _train_epoch(stack, d, perm, batch_size, step_lr, replay)
                test_sum, _ = stack.score(d.x_test, d.t_test)
            _record(stack.models, stacked, alive, epoch, (train_sum * (head.scale / n)).tolist(),
                    (test_sum * (head.scale / d.x_test.shape[0])).tolist(), loss, n, time.perf_counter() - t0,
                    (lr, batch_size, reduction))
            stops = [cb(epoch, histories) for cb in cbs]
            if not any(alive) or any(stops):
                break
    finally:
        for cb in cbs:
            getattr(cb, "close", lambda: None)()
    _warn_at_chance(stack.net, stacked, alive)
    if final_train_error:
        with torch.no_grad():
            final, _ = stack.score(d.x_train, d.t_train)
        for k, h in enumerate(stacked):
            if alive[k]:
                h.final_train_error = (final * (head.scale / n)).tolist()[k]
    return histories


def train(model, data, epochs=EPOCHS, batch_size=BATCH_SIZE, lr=LR, seed=0, **kwargs):
    """Train one model; raises :class:`TrainingDiverged` (with the history so far) on NaN/inf."""
    (history,) = fit([model], data, epochs, batch_size, lr, seed, **kwargs)
    if history.diverged:
        raise TrainingDiverged(history.diverged, history)
    return history
