"""The timed rows of the bench, each in seconds for ``settings.batches`` batches (bench.py scales
them to an epoch): fa_lab's real ``fit`` path, the autograd peer, a student-style loop, and, timed apart from
the training rows, the test-set evaluation that ``fit`` runs after each epoch and the alignment diagnostics
that every full-protocol run records after each epoch."""

from __future__ import annotations

import torch
from torch import nn

import fa_lab
from fa_lab.core.alignment import AlignmentProbe
from fa_lab.core.data import data_root
from fa_lab.core.train import LR

from .peer import Peer
from .timing import timed

RULES = ("bp", "fa", "dfa", "s1", "s2", "s3")  # one fa_lab row and one peer row each; the lockstep row trains all


def fa_lab_row(models, data, settings):
    """Seconds for one ``fa_lab.fit`` epoch of ``models`` over ``data`` (a token test set, no final evaluation)."""
    t0 = settings.clock()
    fa_lab.fit(models, data, epochs=1, batch_size=settings.batch_size, lr=LR, seed=0, progress=False,
               final_train_error=False)
    return settings.clock() - t0


def peer_row(model, x, y, settings):
    """Seconds for ``settings.batches`` SGD steps of the autograd peer of ``model`` (:mod:`peer`)."""
    peer = Peer(model)
    B = settings.batch_size
    perm = torch.randperm(x.shape[0], device=x.device)
    batches = ((x[idx], y[idx]) for idx in (perm[s * B:(s + 1) * B] for s in range(settings.batches)))
    return sgd_seconds(peer, batches, settings)


def student_row(settings):
    """Seconds for ``settings.batches`` steps of a textbook PyTorch MNIST loop (autograd BP): torchvision
    ``DataLoader`` over ``datasets.MNIST`` with ``ToTensor``, ``nn.Sequential``, ``optim.SGD``."""
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    ds = datasets.MNIST(str(data_root()), train=True, download=False, transform=transforms.ToTensor())
    loader = DataLoader(ds, batch_size=settings.batch_size, shuffle=True)
    sizes = settings.sizes
    layers = [nn.Flatten()]
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.Tanh())
    net = nn.Sequential(*layers).to(settings.device)
    return sgd_seconds(net, _first_batches(loader, settings.batches, settings.device), settings)


def _first_batches(loader, n, device):
    """The loader's first ``n`` batches, moved to ``device`` (the loop reads batch n + 1, then stops)."""
    for s, (xb, yb) in enumerate(loader):
        if s == n:
            break
        yield xb.to(device), yb.to(device)


def sgd_seconds(net, batches, settings):
    """Seconds for one ``optim.SGD`` step of ``net`` per (x, y) in ``batches`` (summed cross-entropy,
    ``LR`` on the sum, as fa_lab trains); producing the batches is timed too."""
    opt = torch.optim.SGD(net.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss(reduction="sum")

    def steps():
        for xb, yb in batches:
            opt.zero_grad()
            loss = loss_fn(net(xb), yb)
            loss.backward()
            opt.step()

    return timed(steps, settings.device, settings.clock)


def eval_row(stack, data, settings):
    """Seconds for the test-set evaluation of a ``Lockstep`` ``stack``, without autograd."""
    head, n_out = stack.net.head, stack.net.sizes[-1]
    t = head.target(data.y_test, data.x_test, n_out, data.x_test.dtype)

    def evaluate():
        with torch.no_grad():
            stack.score(data.x_test, t)

    return timed(evaluate, settings.device, settings.clock)


def diagnostics_row(models, data, settings):
    """Seconds for one epoch's alignment diagnostics of ``models``: one :class:`AlignmentProbe` measurement on
    its probe batch (every δWⁱ against BP's gradient, the feedback angles and norms), as the runner records."""
    probe = AlignmentProbe(models, data)
    histories = [fa_lab.History(m.name) for m in models]
    return timed(lambda: probe(1, histories), settings.device, settings.clock)
