"""Live runs for the book's cells and panels: a subset of MNIST, a few epochs, every model of a call in lockstep
(same initial weights, same batch order).

    from fa_lab.teaching import live
    models, hist = live.run(["fa", "dfa"], epochs=2)                       # (models, histories)
    models, hist = live.run(["fa", "kp"], measure="feedback_angle")        # with alignment diagnostics per epoch
    models, hist = live.quick_check(["s1", "s2"], recorded={...})          # checked against a recorded result

Live runs use :data:`~fa_lab.replication.experiments.LIVE` (about 10 % test error in seconds, not the paper's
protocol); long runs are committed results (:mod:`fa_lab.teaching.book`). The book's notebooks reach these through
``book`` (``book.run``, ``book.quick_check``, …).
"""

from __future__ import annotations

import html
from functools import lru_cache

from ..core.alignment import MEASURES, AlignmentProbe
from ..core.errors import FaLabError, choose, positive
from ..core.model import build
from ..core.train import BATCH_SIZE, LR, fit
from ..replication.experiments import LIVE
from .exercises import expect

TABLE_STYLE = ("<style>.falab-table{border-collapse:collapse;font-size:0.9em;margin:0.5em 0}.falab-table th,.falab-table td"
               "{border:1px solid #ccc;padding:0.25em 0.6em;text-align:right}.falab-table th{background:#f3f3f3}"
               ".falab-table td:first-child,.falab-table th:first-child{text-align:left}.falab-yes{color:#1a7f37}"
               ".falab-partial{color:#9a6700}.falab-no{color:#cf222e}</style>")


@lru_cache(maxsize=4)
def quick_data(n_train=LIVE["n_train"], n_test=LIVE["n_test"]):
    """The first ``n_train`` / ``n_test`` MNIST examples (cached)."""
    from ..core.data import load_mnist

    return load_mnist().subset(n_train, n_test)


def _as_list(x):
    return [x] if isinstance(x, str) or not hasattr(x, "__iter__") else list(x)


def _models(rules, width, activation, aux, family, seed, autoencoder, depth=LIVE["depth"], hidden_scale=1.0):
    rules, families = _as_list(rules), _as_list(family)
    if not rules:
        raise FaLabError("choose at least one rule")
    sizes = [784, *[width] * positive("depth", depth), 784 if autoencoder else 10]
    return [build(sizes, activation, r, aux=aux, family=f, seed=seed, head="sigmoid" if autoencoder else "softmax",
                  feedback_params={"hidden_scale": hidden_scale}) for f in families for r in rules]


def run(rules=("dfa",), width=LIVE["width"], activation="tanh", aux=False, family="uniform", epochs=LIVE["epochs"],
        n_train=LIVE["n_train"], n_test=LIVE["n_test"], seed=0, autoencoder=False, callbacks=None,
        batch_size=BATCH_SIZE, lr=LR, depth=LIVE["depth"], measure=None, hidden_scale=1.0):
    """Train one model per rule (and per feedback family, when ``family`` is a list) in lockstep on a subset, with
    ``depth`` hidden layers of ``width`` units; returns (models, histories). ``rules`` holds preset names or
    :class:`~fa_lab.Rule` objects. ``measure`` (one of :data:`~fa_lab.core.alignment.MEASURES`, e.g. for the
    panel's plot; any of them records all) adds the alignment diagnostics before training and after every epoch,
    into each history's ``alignment``, measured before ``callbacks`` run. ``hidden_scale`` multiplies the feedback
    matrices between two hidden layers (B̄ⁱ, and B̃ⁱ below the top: :func:`~fa_lab.core.feedback.between_hidden`);
    1 is the paper's reading; the relu variants of Experiments 1 and 2 take a smaller one (REPLICATION.md)."""
    models = _models(rules, width, activation, aux, family, seed, autoencoder, depth, hidden_scale)
    data = quick_data(n_train, n_test)
    probe = [AlignmentProbe(models, data)] if measure is not None and choose("measure", measure, MEASURES) else []
    hist = fit(models, data, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, progress=False,
               callbacks=probe + ([callbacks] if callable(callbacks) else list(callbacks or [])))
    return models, hist


def validate(cfg):
    """Raise the FaLabError a :func:`run` of ``cfg`` (its keyword arguments) would raise, without training."""
    _models(*(cfg[k] for k in ("rules", "width", "activation", "aux", "family", "seed", "autoencoder")),
            cfg.get("depth", LIVE["depth"]), cfg.get("hidden_scale", 1.0))
    for k in ("epochs", "batch_size", "n_train", "n_test"):
        positive(k, cfg[k])
    positive("lr", cfg["lr"], float)
    if cfg.get("measure") is not None:
        choose("measure", cfg["measure"], MEASURES)


def estimate_seconds(cfg, flops_per_second=2e10, seconds_per_step=3e-4):
    """A rough time for :func:`run` on one CPU core: ~6 FLOPs per weight per example and model, plus a
    fixed cost per SGD step (measured here; docs/benchmarks.md)."""
    n_out = 784 if cfg["autoencoder"] else 10
    w = 784 * cfg["width"] + (cfg.get("depth", LIVE["depth"]) - 1) * cfg["width"] ** 2 + cfg["width"] * n_out
    models = len(_as_list(cfg["rules"])) * len(_as_list(cfg["family"]))
    steps = cfg["n_train"] / cfg["batch_size"]
    return cfg["epochs"] * (steps * seconds_per_step + 6 * w * models * (cfg["n_train"] + cfg["n_test"]) / flops_per_second)


def summary_html(histories, papers, unit="test error %"):
    """Each model's final number beside the paper's (full protocol, nearest net) as a small HTML table."""
    def fmt(v):
        return "—" if v is None else f"{v:.2f}"

    rows = "".join(f"<tr><td>{html.escape(h.name)}</td><td>{fmt(h.test_error[-1] if h.test_error else None)}</td>"
                   f"<td>{fmt(papers.get(h.name))}</td></tr>" for h in histories)
    return (f'{TABLE_STYLE}<table class="falab-table"><tr><th>model</th><th>this run ({unit})</th><th>paper (full protocol)'
            f"</th></tr>{rows}</table><small>A live run on a subset for a few epochs; the paper trains on all "
            f"60 000 examples for 100 epochs, so expect higher errors here.</small>")


def quick_check(rules, recorded=None, tolerance=0.3, loss_rtol=2e-3, **kwargs):
    """:func:`run`, then print each model's final test error and training loss, each checked against what
    was ``recorded`` when the page was written, ``{name: (test error, training loss)}``: the error within
    ``tolerance`` points and the loss within ``loss_rtol`` (relative), so a swapped or broken rule fails
    here (``expect`` raises). Without ``recorded``, prints the dict to record."""
    models, hist = run(rules, **kwargs)
    unit = models[0].net.head.unit
    if recorded is None:
        print("recorded = " + repr({h.name: (round(h.test_error[-1], 3), round(h.train_loss[-1], 5)) for h in hist}))
        return models, hist
    for h in hist:
        err, loss = recorded[h.name]
        expect(h.test_error[-1], err, tolerance, f"{h.name}: {unit}")
        expect(h.train_loss[-1], loss, loss_rtol * loss, f"{h.name}: training loss")
        print(f"{h.name:10s} after {h.epochs} epoch(s): {unit} ≈ {h.test_error[-1]:.2f}, "
              f"training loss ≈ {h.train_loss[-1]:.4f}")
    return models, hist
