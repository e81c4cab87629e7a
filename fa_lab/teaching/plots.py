"""Figures of the paper from result records (see :mod:`fa_lab.results`).

- :func:`curves`          test-error curves per method, mean over seeds ± sd band (Figures 4, 5, 8)
- :func:`reconstructions` originals and each method's reconstructions of 10 test digits (Figure 6)
- :func:`weights`         first-layer auto-encoder weights as 28×28 images (Figure 7)

Every function takes records (``fa_lab.results.load_results(...)``, filtered with
``fa_lab.results.select``) and draws on a given ``ax``/``fig`` or a new pyplot figure; it returns it.
"""

from __future__ import annotations

import numpy as np

from ..replication.results import load_artifacts

METHOD_ORDER = ("bp", "fa", "dfa", "s1", "s2", "s3")


def label(record) -> str:
    """'s1', 's1 (aux)', 'bp', 'dfa-B3', ... for legends."""
    return record["method"] + (" (aux)" if record["config"].get("aux") else "")


def _order(name):
    base = name.split(" ")[0].split("-")[0]
    return (METHOD_ORDER.index(base) if base in METHOD_ORDER else len(METHOD_ORDER), name)


def by_label(records, key=label) -> dict:
    """{label: [records]} in a stable method order."""
    out = {}
    for r in records:
        out.setdefault(key(r), []).append(r)
    return {k: out[k] for k in sorted(out, key=_order)}


def _new_ax(ax, figsize=(6, 4)):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize)[1]


def _new_fig(fig, figsize):
    if fig is not None:
        return fig
    import matplotlib.pyplot as plt

    return plt.figure(figsize=figsize)


def curves(records, ax=None, metric="test_error", key=label, title=None, ylim=None, log=False):
    """One line per label: mean of ``metric`` over seeds per epoch, shaded ± sd (when >1 seed)."""
    ax = _new_ax(ax)
    for name, recs in by_label(records, key).items():
        series = [r[metric] for r in recs if r.get(metric)]
        if not series:
            continue
        n = min(map(len, series))  # diverged runs stop early: average the common epochs
        a = np.array([s[:n] for s in series], dtype=float)
        x = np.arange(1, n + 1)
        mean = a.mean(0)
        line, = ax.plot(x, mean, label=f"{name}" + (f" (n={len(a)})" if len(a) > 1 else ""), lw=1.4)
        if len(a) > 1:
            sd = a.std(0, ddof=1)
            ax.fill_between(x, mean - sd, mean + sd, color=line.get_color(), alpha=0.2, lw=0)
    ax.set_xlabel("epoch")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("test error %" if metric == "test_error" else metric.replace("_", " "))
    if log:
        ax.set_yscale("log")
    if ylim:
        ax.set_ylim(*ylim)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=8)
    return ax


def _first_per_label(records):
    """One record per label (lowest seed) that has artifacts: {label: (record, arrays)}."""
    out = {}
    for name, recs in by_label(records).items():
        for r in sorted(recs, key=lambda r: r["config"]["seed"]):
            art = load_artifacts(r)
            if art is not None:
                out[name] = (r, art)
                break
    return out


def reconstructions(records, fig=None, title=None):
    """Figure 6: top row the 10 fixed test digits, then one row per method's reconstructions."""
    arts = _first_per_label(records)
    rows = [("original", next(iter(arts.values()))[1]["originals"])] if arts else []
    rows += [(name, a["reconstructions"]) for name, (_, a) in arts.items()]
    fig = _new_fig(fig, (8, 0.9 * max(len(rows), 1) + 0.4))
    if not rows:
        fig.text(0.5, 0.5, "no Experiment 3 results yet", ha="center")
        return fig
    n = rows[0][1].shape[0]
    axes = fig.subplots(len(rows), n, squeeze=False)
    for i, (name, imgs) in enumerate(rows):
        for j in range(n):
            ax = axes[i][j]
            ax.imshow(np.asarray(imgs[j], dtype=float).reshape(28, 28), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[i][0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    if title:
        fig.suptitle(title)
    return fig


def weights(records, fig=None, n_units=16, title=None):
    """Figure 7: the first ``n_units`` first-layer weight vectors of each method as 28×28 images."""
    arts = _first_per_label(records)
    fig = _new_fig(fig, (2.2 * max(len(arts), 1), 2.6))
    if not arts:
        fig.text(0.5, 0.5, "no Experiment 3 results yet", ha="center")
        return fig
    side = int(np.ceil(np.sqrt(n_units)))
    axes = fig.subplots(1, len(arts), squeeze=False)[0]
    for ax, (name, (_, a)) in zip(axes, arts.items()):
        w = np.asarray(a["weights1"], dtype=float)[:n_units]
        tiles = np.zeros((side * 29 - 1, side * 29 - 1))
        tiles[:] = np.nan
        for k, v in enumerate(w):
            r, c = divmod(k, side)
            v = (v - v.min()) / (np.ptp(v) or 1.0)
            tiles[r * 29:r * 29 + 28, c * 29:c * 29 + 28] = v.reshape(28, 28)
        ax.imshow(np.ma.masked_invalid(tiles), cmap="gray")
        ax.set_title(name, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title)
    return fig
