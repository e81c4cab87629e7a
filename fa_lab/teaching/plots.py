"""Every figure of the package, from committed result records or from live models and histories.

- :func:`curves`           test error per epoch, one line per method: records (mean over seeds ± sd band)
                           or live :class:`~fa_lab.core.train.History` objects (Figures 4, 5, 8; the panel)
- :func:`reconstructions`  the 10 fixed test digits and each method's reconstructions (Figure 6)
- :func:`weights`          first-layer auto-encoder weights as 28×28 tiles (Figure 7)
- :func:`show_reconstructions`, :func:`show_first_layer`: the same for live models
- :func:`families`         the feedback families B1–B7: matrices and histograms of their entries
- :func:`plot_alignment`, :func:`alignment_series`: an alignment measure per layer and epoch (chapters 11, 14)
- :func:`draw`, :func:`save_figures`: one of :data:`~fa_lab.replication.paper.FIGURES`, or all as PNG files

Each function draws on a given ``ax``/``fig`` or a new one and returns it.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.ticker import MaxNLocator

from ..core.alignment import MEASURES, row_key
from ..core.rules import PRESETS
from ..replication import results as rs
from ..replication.paper import FIGURES

RULE_ORDER = tuple(PRESETS)


def _new_ax(ax, figsize=(6.5, 4)):
    return ax if ax is not None else _new_fig(None, figsize).subplots()


def _new_fig(fig, figsize):
    if fig is not None:
        return fig
    import matplotlib.pyplot as plt

    return plt.figure(figsize=figsize)


def _colours(n):
    """n distinct colours: matplotlib's 10-colour cycle, or tab20 for more lines (Figure 8 has 16)."""
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(k % cmap.N) for k in range(n)]


# ---------------------------------------------------------------------------------------------- curves
def by_label(records) -> dict:
    """{legend label: [records]} ordered bp, fa, dfa, s1, s2, s3; families and aux after their rule."""
    out = {}
    for r in sorted(records, key=lambda r: (RULE_ORDER.index(r.config.rule) if r.config.rule in RULE_ORDER
                                            else len(RULE_ORDER), r.config.aux, r.config.family)):
        out.setdefault(r.config.label, []).append(r)
    return out


def curves(source, ax=None, title=None, paper=None, ylabel=None, ylim=None, log=False):
    """One line per method. ``source``: result records (the mean over seeds, shaded ± sd when there are
    several) or live histories (one line each). ``paper`` maps a label to the paper's final number, drawn
    as a dashed line of the same colour."""
    ax = _new_ax(ax)
    if source and isinstance(source[0], rs.Record):
        series = {name: [r.test_error for r in recs if r.test_error] for name, recs in by_label(source).items()}
    else:
        series = {h.name: [h.test_error] for h in source if h.test_error}
    for colour, (name, runs) in zip(_colours(len(series)), series.items()):
        n = min(map(len, runs))  # diverged runs stop early: average the common epochs
        a = np.array([s[:n] for s in runs], dtype=float)
        x, mean = np.arange(1, n + 1), a.mean(0)
        ax.plot(x, mean, "o-" if n <= 10 else "-", ms=3, lw=1.4, color=colour,
                label=name + (f" (n={len(a)})" if len(a) > 1 else ""))
        if len(a) > 1:
            sd = a.std(0, ddof=1)
            ax.fill_between(x, mean - sd, mean + sd, color=colour, alpha=0.2, lw=0)
        if paper and paper.get(name) is not None:
            ax.axhline(paper[name], ls="--", lw=1, color=colour)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    one = series and all(len(r) == 1 for runs in series.values() for r in runs)  # one epoch: ticks at 0, 1, 2
    ax.set(xlabel="epoch", ylabel=ylabel or "test error %", title=title or "", yscale="log" if log else "linear",
           xlim=(0, 2) if one else None)
    if ylim:
        ax.set_ylim(*ylim)
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=8, ncol=2 if len(series) > 8 else 1)
    return ax


# ---------------------------------------------------------------------------------------------- image grids
def image_grid(rows, fig=None, title=None, scale=None, cell=0.8):
    """Rows of 28×28 images: ``rows`` = [(row label, images)]; ``scale`` (vmin, vmax) for every image, or
    None to stretch each image to its own range (weights)."""
    n = max(len(imgs) for _, imgs in rows)
    fig = _new_fig(fig, (cell * n + 1.2, 0.85 * len(rows) + (0.4 if title else 0)))
    axes = fig.subplots(len(rows), n, squeeze=False)
    for k, (name, imgs) in enumerate(rows):
        for j in range(n):
            ax = axes[k][j]
            if j < len(imgs):
                img = np.asarray(imgs[j], dtype=float).reshape(28, 28)
                lo, hi = scale or (img.min(), img.max())
                ax.imshow(img, cmap="gray", vmin=lo, vmax=hi if hi > lo else lo + 1)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_frame_on(j < len(imgs))
        axes[k][0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    if title:
        fig.suptitle(title)
    return fig


def _first_per_label(records):
    """One record per label (lowest seed) that has artifacts: {label: arrays}."""
    out = {}
    for name, recs in by_label(records).items():
        for r in sorted(recs, key=lambda r: r.config.seed):
            art = rs.load_artifacts(r)
            if art is not None:
                out[name] = art
                break
    return out


def _empty(fig, text):
    """A figure that says what is missing (on an axis turned off: a figure without axes is drawn as nothing)."""
    ax = _new_fig(fig, (6, 1.5)).add_subplot()
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center")
    return ax.figure


def reconstructions(records, fig=None, title=None):
    """Figure 6: top row the 10 fixed test digits, then one row per method's reconstructions."""
    arts = _first_per_label(records)
    if not arts:
        return _empty(fig, "no Experiment 3 results yet")
    rows = [("original", next(iter(arts.values()))["originals"])]
    return image_grid(rows + [(name, a["reconstructions"]) for name, a in arts.items()], fig, title, scale=(0, 1))


def weights(records, fig=None, n_units=10, title=None):
    """Figure 7: the first ``n_units`` first-layer weight vectors of each method, each stretched to its range."""
    arts = _first_per_label(records)
    if not arts:
        return _empty(fig, "no Experiment 3 results yet")
    return image_grid([(name, a["weights1"][:n_units]) for name, a in arts.items()], fig, title)


def show_reconstructions(models, data, n=10, fig=None):
    """Figure 6 for live models: ``n`` test digits, then each model's reconstruction of them."""
    import torch

    x = data.x_test[:n]
    with torch.no_grad():
        rows = [("input", x.cpu())] + [(m.name, m.net.predict(x.to(m.weight(1).dtype)).cpu()) for m in models]
    return image_grid(rows, fig, scale=(0, 1))


def show_first_layer(models, n=6, fig=None):
    """Figure 7 for live models: the first ``n`` rows of W¹ of each model as 28×28 images."""
    return image_grid([(m.name, m.weight(1)[:n].detach().cpu()) for m in models], fig)


def families(names=("B1", "B2", "B3", "B4", "B5", "B6", "B7"), shape=(40, 10), seed=0, fig=None):
    """Each feedback family of Experiment 4 as a matrix (its own colour scale, so B7's small noise shows) over a
    histogram of its entries (so B1's Gaussian noise and B5's uniform noise around 1 differ), titled with the
    entries' mean and sd."""
    import torch

    from ..core.feedback import FAMILIES

    fig = _new_fig(fig, (1.75 * len(names), 4.2))
    axes = fig.subplots(2, len(names), squeeze=False, gridspec_kw={"height_ratios": [2.2, 1]})
    for k, name in enumerate(names):
        B = FAMILIES[name](shape, torch.Generator().manual_seed(seed)).numpy()
        lim = float(np.abs(B).max()) or 1.0
        axes[0][k].imshow(B, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
        axes[0][k].set(title=f"{name}\nmean {B.mean():.2f}, sd {B.std():.3f}", xticks=[], yticks=[])
        axes[0][k].title.set_fontsize(8)
        axes[1][k].hist(B.ravel(), bins=40, color="0.35")
        axes[1][k].set_yticks([])
        axes[1][k].tick_params(labelsize=7)
    axes[1][0].set_ylabel("entries", fontsize=8)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------- alignment
def plot_alignment(angles, fig=None, layer_title="δW{} vs BP", ylabel="angle (degrees)", bands=None, log=False):
    """One panel per layer: an angle against epoch, one line per rule (default: δWⁱ to BP's gradient;
    ``layer_title`` names another measure, e.g. 'B̃{} vs (W)ᵀ', with {} or {i} for the layer). ``bands``: a ±
    spread per point, drawn shaded (same shape as ``angles``); ``log``: a log y axis (ratios, where 90° means
    nothing)."""
    n_layers = len(next(iter(angles.values()))[0])
    fig = _new_fig(fig, (3.6 * n_layers, 3.2))
    axes = fig.subplots(1, n_layers, sharey=True, squeeze=False)[0]
    for i, ax in enumerate(axes):
        for colour, (name, a) in zip(_colours(len(angles)), angles.items()):
            y = np.array([row[i] for row in a], dtype=float)
            ax.plot(range(len(a)), y, "o-" if len(a) <= 12 else "-", label=name, color=colour)
            if bands is not None:
                sd = np.array([row[i] for row in bands[name]], dtype=float)
                ax.fill_between(range(len(a)), y - sd, y + sd, color=colour, alpha=0.15, lw=0)
        if log:
            ax.set_yscale("log")
        else:
            ax.axhline(90, color="0.5", lw=0.8, ls=":")
        sup = "¹²³⁴⁵⁶⁷⁸⁹"[i]
        ax.set(title=layer_title.format(sup, i=sup), xlabel="epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(ylabel)
    axes[-1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def _per_epoch(runs, key, n_layers):
    """Mean over seeds of one field, [epoch][layer] (NaN where a run has no value: BP's feedback angle)."""
    def mean(values):
        values = [v for v in values if v is not None]
        return float(np.mean(values)) if values else float("nan")

    return [[mean([run[e][i].get(key) for run in runs]) for i in range(n_layers)]
            for e in range(min(len(run) for run in runs))]


def alignment_curves(records, fig=None, title=None, measure="angle"):
    """From committed runs that recorded alignment (fa_lab.core.alignment): per layer, one ``measure`` of
    :data:`~fa_lab.core.alignment.MEASURES` against epoch, mean over seeds, one line per method."""
    series = {name: [r.alignment for r in recs if r.alignment] for name, recs in by_label(records).items()}
    return alignment_series(series, measure, fig, title)


def alignment_series(series, measure="angle", fig=None, title=None):
    """{name: [alignment of each run]} (``History.alignment``: per epoch, one row per layer), or live histories,
    drawn per hidden layer, mean over the runs of a name (the output layer's δW is BP's for every rule: left out)."""
    series = series if isinstance(series, dict) else {h.name: [h.alignment] for h in series}
    series = {k: v for k, v in series.items() if v and all(v)}
    if not series:
        return _empty(fig, "no runs with alignment diagnostics yet")
    n_layers = len(next(iter(series.values()))[0][0]) - 1
    key = row_key(measure)
    values = {name: v for name, runs in series.items() if not np.isnan(v := _per_epoch(runs, key, n_layers)).all()}
    if not values:  # BP alone has no feedback; runs older than a measure lack it
        return _empty(fig, f"no run recorded {measure}")
    bands = {name: _per_epoch(series[name], "example_angle_sd", n_layers) for name in values} \
        if measure == "example_angle" else None
    what, unit = MEASURES[measure]
    fig = plot_alignment(values, fig, layer_title=what, bands=bands, log=unit != "degrees",
                         ylabel="angle (degrees)" if unit == "degrees" else unit)
    if title:
        fig.suptitle(title, fontsize=10)
        fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------- the paper's figures
SIZES = {"reconstructions": (9, 6), "weights": (9, 4), "alignment": (12, 3.8)}  # inches; curves: 6.5 per panel


def draw(figure, records, fig=None):
    """One entry of FIGURES drawn from the records, on ``fig`` (set to the figure's size) or a new one."""
    from matplotlib.figure import Figure

    fig = fig or Figure()
    fig.set_size_inches(SIZES.get(figure.kind, (6.5 * len(figure.panels), 4.4)))
    recs = rs.select(records, experiment=set(figure.experiments), sizes=figure.sizes, activation=figure.activation)
    if figure.kind == "reconstructions":
        return reconstructions(recs, fig, figure.title)
    if figure.kind == "weights":
        return weights(recs, fig, title=figure.title)
    if figure.kind == "alignment":
        return alignment_curves(recs, fig, figure.title, figure.measure)
    for ax, rules in zip(fig.subplots(1, len(figure.panels), squeeze=False)[0], figure.panels):
        mine = recs if rules is None else rs.select(recs, rule=set(rules))
        curves(mine, ax=ax, title=None if rules is None else f"{'/'.join(r.upper() for r in rules)}: B1–B7 and "
               f"uniform U(−½,½)")  # one panel: the figure's title names the net
    fig.suptitle(figure.title)
    return fig


def save_figures(records, out_dir) -> list:
    """Every figure of FIGURES as ``out_dir/<name>.png``; returns [(Figure, path)]."""
    from pathlib import Path

    out = []
    for figure in FIGURES:
        buf = io.BytesIO()
        draw(figure, records).savefig(buf, format="png", dpi=110, bbox_inches="tight")
        path = Path(out_dir) / f"{figure.name}.png"
        rs.atomic_write_bytes(path, buf.getvalue())
        out.append((figure, path))
    return out
