"""Notebook helpers for the book: paper numbers, committed results as tables and figures, and a
widget panel that reruns any configuration live.

    from fa_lab import widgets
    widgets.results_table("exp4")          # committed full-protocol results beside the paper's numbers
    widgets.Panel("exp4")                   # width, activation, rules, aux, family, epochs, data subset; Run button

Training starts only when the Run button is pressed (never on a slider drag); the defaults are
quick (a small MNIST subset, two epochs), the paper's protocol is the full data and 100 epochs.
ipywidgets is imported lazily, so the rest of this module works without it.
"""

from __future__ import annotations

import csv
import html
from pathlib import Path

import matplotlib.pyplot as plt

from ..core.errors import FaLabError

PACKAGE = Path(__file__).resolve().parent.parent
EXPERIMENTS = {
    "exp1": "Experiment 1: strategies s1–s3 with the output error (Table 2, Figure 4)",
    "exp2": "Experiment 2: strategies s1–s3 with auxiliary (LAFS) errors (Table 3, Figure 5)",
    "exp3": "Experiment 3: auto-encoders (Figures 6, 7)",
    "exp4": "Experiment 4: feedback matrix families B1–B7 with FA and DFA (Table 4, Figure 8)",
    "baselines": "Baselines: BP, FA, DFA on the same nets (Figures 4, 5)",
}
QUICK = {"n_train": 2000, "n_test": 1000, "epochs": 2, "width": 100, "batch_size": 32}  # pinned: the book's recorded numbers


# ---------------------------------------------------------------- the paper's numbers
def paper_rows():
    """Rows of the paper's Tables 2, 3, 4 (``fa_lab/paper_tables.csv``) with numeric fields as numbers."""
    from ..replication.report import paper_rows as rows

    return [dict(r, width=int(r["width"]), test_error_pct=float(r["test_error_pct"]), experiment=int(r["experiment"]))
            for r in rows()]


def paper_number(width, activation, rule, aux=False, family="uniform"):
    """The paper's test error (%) for a configuration, or None where the paper reports none."""
    if family != "uniform":
        exp, method = 4, f"{rule}-{family}"
    else:
        exp, method = (2 if aux else 1), rule
    for r in paper_rows():
        if r["experiment"] == exp and r["width"] == width and r["activation"] == activation and r["method"] == method:
            return r["test_error_pct"]
    return None


def nearest_paper_number(width, activation, rule, aux=False, family="uniform"):
    """(number, paper width) for the paper's net closest in width (the paper has 200, 400, 800; Table 4
    only 800 tanh); (None, None) where the paper has no number for this rule/activation/family."""
    for w in sorted((200, 400, 800), key=lambda w: (abs(w - width), -w)):
        v = paper_number(w, activation, rule, aux, family)
        if v is not None:
            return v, w
    return None, None


# ---------------------------------------------------------------- committed results
def repo_root():
    """The checkout that holds ``results/`` (the package's parent folder)."""
    return PACKAGE.parent


def load_records(experiment, protocol="full", results_dir=None):
    """Committed result records of one experiment (``fa_lab.results``); [] when none are there yet."""
    try:
        from ..replication.results import load_results
    except ImportError:  # pragma: no cover - the results store is part of the library
        return []
    root = Path(results_dir) if results_dir else repo_root() / "results"
    return load_results(root, protocol=protocol, experiment=experiment, warn=lambda line: None)


def _not_yet(experiment, protocol):
    from IPython.display import HTML

    return HTML(f'<div style="padding:0.6em;border-left:4px solid #d0a000;background:#fffbe6">'
                f"<b>Not yet run:</b> no {protocol}-protocol results for {html.escape(experiment)} are committed "
                f"yet. Run them with <code>python -m fa_lab replicate {html.escape(experiment)}</code> "
                f"(or <code>--quick</code> for a smoke run); this page shows them once they are in "
                f"<code>results/{protocol}/{html.escape(experiment)}/</code>. The panel below trains any "
                f"configuration live meanwhile.</div>")


def _label(cfg):
    hidden = cfg["sizes"][1:-1]
    if cfg.get("head") == "sigmoid":
        return "-".join(map(str, cfg["sizes"]))
    act = {"tanh": "Tanh", "relu": "Relu", "sigmoid": "Sigm"}[cfg["activation"]]
    return f"{len(hidden)}x{hidden[0]} {act}"


def _method(cfg):
    m = cfg["rule"] + ("+aux" if cfg.get("aux") else "")
    return m if cfg.get("family", "uniform") == "uniform" else f"{m}-{cfg['family']}"


def result_rows(experiment, protocol="full", results_dir=None):
    """(model, method, ours, paper, epochs, n seeds) per configuration: ours = mean final test error over
    the seeds run with the protocol's current settings (older settings are left out, as in the report)."""
    from ..replication.report import current_records, summarize

    records, _ = current_records(load_records(experiment, protocol, results_dir), protocol)
    first = {}
    for rec in records:
        c = rec["config"]
        first.setdefault((c["experiment"], rec["model"], c["activation"], rec["method"]), rec)
    rows = []
    for key, stats in summarize(records).items():
        rec = first[key]
        cfg = rec["config"]
        paper = None if cfg.get("head") == "sigmoid" else paper_number(
            cfg["sizes"][1], cfg["activation"], cfg["rule"], cfg.get("aux", False), cfg.get("family", "uniform"))
        rows.append((_label(cfg), _method(cfg), stats["mean"], paper, len(rec["test_error"]), stats["n"]))
    return sorted(rows, key=lambda r: (r[0], r[1]))


def results_table(experiment, protocol="full", results_dir=None):
    """An HTML table of the committed results beside the paper's numbers, or a 'not yet run' note."""
    from IPython.display import HTML

    rows = result_rows(experiment, protocol, results_dir)
    if not rows:
        return _not_yet(experiment, protocol)
    unit = "mean ‖x − x̂‖² per image" if experiment == "exp3" else "test error %"
    head = (f"<tr><th>model</th><th>method</th><th>ours ({unit})</th><th>paper</th><th>ours − paper</th>"
            f"<th>epochs</th><th>seeds</th></tr>")
    body = []
    for model, method, ours, paper, epochs, n_seeds in rows:
        diff = "" if paper is None or ours is None else f"{ours - paper:+.2f}"
        body.append(f"<tr><td>{model}</td><td>{method}</td><td>{_fmt(ours)}</td><td>{_fmt(paper)}</td>"
                    f"<td>{diff}</td><td>{epochs}</td><td>{n_seeds}</td></tr>")
    return HTML(f"<table>{head}{''.join(body)}</table>")


def _fmt(v):
    return "—" if v is None else f"{v:.2f}"


def results_figure(experiment, protocol="full", results_dir=None, model=None):
    """The paper's figure for an experiment from the committed runs (``fa_lab.plots``): test-error curves
    of the 2x800 tanh net (Figures 4, 5 with the BP/FA/DFA baselines; Figure 8), or for the auto-encoders
    the reconstructions and first-layer weights (Figures 6, 7). ``model`` picks another net, e.g.
    '2x200 Relu'. Returns the figure, or None when nothing is committed yet."""
    from . import plots

    recs = load_records(experiment, protocol, results_dir)
    if not recs:
        return None
    if experiment == "exp3":  # one pair of figures per auto-encoder that has runs, smallest first
        first = None
        for sizes in sorted({tuple(r["config"]["sizes"]) for r in recs}, key=lambda s: s[1]):
            runs, name = [r for r in recs if tuple(r["config"]["sizes"]) == sizes], "-".join(map(str, sizes))
            fig = plots.reconstructions(runs, title=f"{name}: reconstructions (Figure 6)")
            plots.weights(runs, title=f"{name}: first-layer weights (Figure 7)")
            first = first or fig
        return first
    models = sorted({_label(r["config"]) for r in recs}, key=lambda m: ("Tanh" not in m, -int(m.split()[0][2:])))
    model = model if model in models else models[0]
    recs = [r for r in recs if _label(r["config"]) == model]
    if experiment in ("exp1", "exp2"):
        recs += [r for r in load_records("baselines", protocol, results_dir) if _label(r["config"]) == model]
    fig, ax = plt.subplots(figsize=(7, 4))
    number = {"exp1": 4, "exp2": 5, "exp4": 8}.get(experiment)
    plots.curves(recs, ax=ax, title=f"{model}, {protocol} protocol" + (f" (Figure {number})" if number else ""))
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- live runs
def quick_data(n_train=QUICK["n_train"], n_test=QUICK["n_test"]):
    """The first ``n_train`` / ``n_test`` MNIST examples (cached after the first call)."""
    from ..core.data import load_mnist

    return load_mnist().subset(n_train, n_test)


def run(rules=("dfa",), width=QUICK["width"], activation="tanh", aux=False, family="uniform", epochs=QUICK["epochs"],
        n_train=QUICK["n_train"], n_test=QUICK["n_test"], seed=0, autoencoder=False, callback=None, data=None,
        batch_size=QUICK["batch_size"], lr=None):
    """Train one model per rule (and per feedback family, when ``family`` is a list) in lockstep on a
    subset; returns (models, histories). ``rules`` holds preset names or :class:`~fa_lab.Rule` objects."""
    from ..core.model import build
    from ..core.train import fit

    rules = [rules] if isinstance(rules, str) or not hasattr(rules, "__iter__") else list(rules)
    if not rules:
        raise FaLabError("choose at least one rule")
    families = [family] if isinstance(family, str) or callable(family) else list(family)
    sizes = [784, width, width, 784 if autoencoder else 10]
    models = [build(sizes, activation, r, aux=aux, family=f, seed=seed, head="sigmoid" if autoencoder else "softmax")
              for f in families for r in rules]
    data = data or quick_data(n_train, n_test)
    from ..core.train import LR

    hist = fit(models, data, epochs=epochs, batch_size=batch_size, lr=lr or LR, seed=seed, progress=False,
               callbacks=callback)
    return models, hist


def plot_histories(histories, ax=None, paper=None, title=None, unit="test error %"):
    """Test-error curves; ``paper`` maps a history name to the paper's final number (drawn dashed)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.6))
    for k, h in enumerate(histories):
        line, = ax.plot(range(1, len(h.test_error) + 1), h.test_error, "o-", label=h.name, color=f"C{k}")
        v = paper.get(h.name) if paper else None
        v = v[0] if isinstance(v, tuple) else v
        if v is not None:
            ax.axhline(v, ls="--", lw=1, color=line.get_color())
    ax.set(xlabel="epoch", ylabel=unit, title=title or "")
    ax.grid(alpha=0.3)
    if histories:
        ax.legend(fontsize=8)
    ax.figure.tight_layout()
    return ax


def summary_html(histories, papers, unit="test error %"):
    """Each rule's final number beside the paper's (full protocol) as a small HTML table; ``papers`` maps a
    history name to a number or to (number, paper net label)."""
    def paper(name):
        v = papers.get(name)
        v, net = v if isinstance(v, tuple) else (v, None)
        return _fmt(v) + (f" <small>({html.escape(net)})</small>" if v is not None and net else "")

    rows = "".join(f"<tr><td>{html.escape(h.name)}</td><td>{_fmt(h.test_error[-1] if h.test_error else None)}</td>"
                   f"<td>{paper(h.name)}</td></tr>" for h in histories)
    return (f"<table><tr><th>rule</th><th>this run ({unit})</th><th>paper (full protocol)</th></tr>{rows}</table>"
            f"<small>This run uses a subset and few epochs; the paper trains on all 60 000 examples for 100 "
            f"epochs, so expect higher errors here.</small>")


DEFAULTS = {
    "exp1": dict(rules=("s1", "s2", "s3"), aux=False, family="uniform", widths=(100, 200, 400, 800)),
    "exp2": dict(rules=("s1", "s2", "s3"), aux=True, family="uniform", widths=(100, 200, 400, 800)),
    "exp3": dict(rules=("bp", "dfa", "s1"), aux=False, family="uniform", widths=(128, 800), activation="sigmoid"),
    "exp4": dict(rules=("dfa",), aux=False, family="B1", widths=(100, 200, 400, 800)),
    "angles": dict(rules=("fa", "dfa", "s1"), aux=False, family="uniform", widths=(100, 200, 400, 800)),
}


class Panel:
    """A widget panel to rerun an experiment's configurations live.

    Controls: width, activation, rules (several train in lockstep), auxiliary errors, feedback family,
    epochs, training / test subset, seed. Nothing trains until **Run** is pressed. While training, a
    progress bar counts epochs and the error curve is redrawn after each epoch; at the end each rule's
    number is placed beside the paper's. ``extra_rules`` adds your own :class:`~fa_lab.Rule` objects.
    """

    def __init__(self, experiment="exp1", extra_rules=None, **overrides):
        import ipywidgets as W

        from ..core.feedback import FAMILIES
        from ..core.nets import ACTIVATIONS
        from ..core.rules import PRESETS

        if experiment not in DEFAULTS:
            raise FaLabError(f"unknown experiment {experiment!r}; valid choices: {', '.join(DEFAULTS)}")
        d = dict(DEFAULTS[experiment], **overrides)
        self.experiment = experiment
        self.autoencoder = experiment == "exp3"
        self.extra = dict(extra_rules or {})
        style = {"description_width": "110px"}
        lay = W.Layout(width="300px")
        self.width = W.Dropdown(options=list(d["widths"]), value=d["widths"][0], description="hidden width",
                                style=style, layout=lay)
        self.activation = W.Dropdown(options=list(ACTIVATIONS), value=d.get("activation", "tanh"),
                                     description="activation", style=style, layout=lay)
        self.rules = W.SelectMultiple(options=list(PRESETS) + list(self.extra), value=tuple(d["rules"]), rows=6,
                                      description="rules", style=style, layout=lay)
        self.aux = W.Checkbox(value=d["aux"], description="auxiliary errors eⁱ (LAFS)", indent=False)
        self.family = W.Dropdown(options=list(FAMILIES), value=d["family"], description="feedback B",
                                 style=style, layout=lay)
        self.epochs = W.IntSlider(value=d.get("epochs", QUICK["epochs"]), min=1, max=100, description="epochs",
                                  style=style, layout=lay, continuous_update=False)
        self.n_train = W.IntSlider(value=d.get("n_train", QUICK["n_train"]), min=500, max=60000, step=500,
                                   description="train examples", style=style, layout=lay, continuous_update=False)
        self.n_test = W.IntSlider(value=d.get("n_test", QUICK["n_test"]), min=500, max=10000, step=500,
                                  description="test examples", style=style, layout=lay, continuous_update=False)
        self.seed = W.BoundedIntText(value=0, min=0, max=10**6, description="seed", style=style, layout=lay)
        self.batch_size = W.Dropdown(options=[1, 8, 16, 32, 64, 128], value=QUICK["batch_size"],
                                     description="batch size", style=style, layout=lay)
        self.button = W.Button(description="Run", button_style="primary", icon="play",
                               tooltip="train the chosen configuration (nothing trains before this is pressed)")
        self.progress = W.IntProgress(value=0, min=0, max=1, description="epochs", style=style, layout=lay)
        self.status = W.HTML(value="<i>Choose a configuration and press Run.</i>")
        self.out = W.Output(layout=W.Layout(min_height="260px"))
        self.result = W.HTML()
        self.button.on_click(self._on_run)
        left = W.VBox([self.width, self.activation, self.rules, self.aux, self.family])
        right = W.VBox([self.epochs, self.n_train, self.n_test, self.batch_size, self.seed, W.HBox([self.button]), self.progress])
        self.widget = W.VBox([W.HTML(f"<b>{html.escape(EXPERIMENTS.get(experiment, 'Live run'))}</b>"),
                              W.HBox([left, right]), self.status, W.HBox([self.out, self.result])])

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    # -- the run
    def config(self):
        rules = [self.extra.get(r, r) for r in self.rules.value]
        return dict(rules=rules, width=self.width.value, activation=self.activation.value, aux=self.aux.value,
                    family=self.family.value, epochs=self.epochs.value, n_train=self.n_train.value,
                    n_test=self.n_test.value, seed=self.seed.value, autoencoder=self.autoencoder,
                    batch_size=self.batch_size.value)

    def papers(self, histories):
        """{name: (paper's number, paper's net)} for the paper's net nearest in width."""
        if self.autoencoder:
            return {}
        out = {}
        for h in histories:
            v, w = nearest_paper_number(self.width.value, self.activation.value, h.name.split("+")[0].split("-")[0],
                                        self.aux.value, self.family.value)
            out[h.name] = (v, f"2x{w} {self.activation.value}") if v is not None else None
        return out

    def show(self, histories):
        """Draw ``histories`` in the panel (the live curve and the result beside the paper's number)."""
        from IPython.display import display

        unit = "‖x − x̂‖² per image" if self.autoencoder else "test error %"
        papers = self.papers(histories)
        done = max((h.epochs for h in histories), default=0)
        if done > self.progress.value:  # a finished run shown in a fresh panel: a full bar
            self.progress.max, self.progress.value = max(done, self.progress.max), done
        with self.out:
            self.out.clear_output(wait=True)
            ax = plot_histories(histories, paper=papers, unit=unit,
                                title=f"2x{self.width.value} {self.activation.value}" + (" (dashed: paper)" if any(
                                    v is not None for v in papers.values()) else ""))
            display(ax.figure)
            plt.close(ax.figure)
        self.result.value = summary_html(histories, papers, unit)

    def run(self):
        """Train the current configuration (what the Run button does); returns the histories."""
        cfg = self.config()
        self.progress.max, self.progress.value = cfg["epochs"], 0
        self.status.value = (f"<i>training {len(cfg['rules'])} model(s) on {cfg['n_train']} examples for "
                             f"{cfg['epochs']} epoch(s)…</i>")

        def callback(epoch, histories):
            self.progress.value = epoch
            self.show(histories)

        try:
            _, hist = run(callback=callback, **cfg)
        except FaLabError as exc:
            self.status.value = f'<span style="color:#cf222e">{html.escape(str(exc))}</span>'
            return None
        self.status.value = "<i>done.</i>" + "".join(
            f'<br><span style="color:#cf222e">{html.escape(h.diverged)}</span>' for h in hist if h.diverged)
        self.show(hist)
        return hist

    def _on_run(self, _button):
        self.button.disabled = True
        try:
            self.run()
        finally:
            self.button.disabled = False


# ---------------------------------------------------------------- auto-encoders (chapter 9)
def show_reconstructions(models, data, n=10):
    """Figure 6 for live models: ``n`` test digits, then each model's reconstruction of them."""
    import torch

    x = data.x_test[:n]
    rows = [("input", x)]
    with torch.no_grad():
        rows += [(m.name, m.net.predict(x.to(m.weight(1).dtype))) for m in models]
    fig, axes = plt.subplots(len(rows), n, figsize=(0.8 * n, 0.85 * len(rows)), dpi=72)
    for k, (name, imgs) in enumerate(rows):
        for j in range(n):
            axes[k, j].imshow(imgs[j].reshape(28, 28).cpu(), cmap="gray", vmin=0, vmax=1)
            axes[k, j].set_xticks([])
            axes[k, j].set_yticks([])
        axes[k, 0].set_ylabel(name, rotation=0, ha="right", va="center")
    fig.tight_layout()
    return fig


def show_first_layer(models, n=6):
    """Figure 7 for live models: the first ``n`` rows of W¹ of each model as 28×28 images (gray scale,
    each image scaled to its own range)."""
    fig, axes = plt.subplots(len(models), n, figsize=(0.8 * n, 0.85 * len(models)), squeeze=False, dpi=72)
    for k, m in enumerate(models):
        W = m.weight(1)
        for j in range(n):
            axes[k, j].imshow(W[j].reshape(28, 28).cpu(), cmap="gray")
            axes[k, j].set_xticks([])
            axes[k, j].set_yticks([])
        axes[k, 0].set_ylabel(m.name, rotation=0, ha="right", va="center")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- alignment over training (chapter 11)
def alignment_run(rules=("fa", "dfa", "s1", "s2", "s3"), width=QUICK["width"], activation="tanh", epochs=3,
                  n_train=QUICK["n_train"], n_test=QUICK["n_test"], seed=0, batch=200, aux=False):
    """Train the rules (in lockstep: same initial weights and batch order) and record, after every epoch,
    the angle (degrees) between each one's δWⁱ and BP's gradient on a fixed batch of ``batch`` training
    examples. Returns {rule: [[angle per layer] per epoch]} with
    epoch 0 = before training."""
    from ..core.model import build
    from ..core.train import fit

    data = quick_data(n_train, n_test)
    x, y = data.x_train[:batch], data.y_train[:batch]
    models = [build([784, width, width, 10], activation, r, aux=aux, seed=seed) for r in rules]
    angles = {m.name: [m.angles(x, y)] for m in models}

    def measure(epoch, histories):
        for m in models:
            angles[m.name].append(m.angles(x, y))

    fit(models, data, epochs=epochs, batch_size=QUICK["batch_size"], seed=seed, progress=False, callbacks=measure)
    return angles


def plot_alignment(angles, ax=None):
    """One panel per weight layer: angle to BP's gradient against epoch, one line per rule."""
    n_layers = len(next(iter(angles.values()))[0])
    fig, axes = plt.subplots(1, n_layers, figsize=(3.6 * n_layers, 3.2), sharey=True)
    for i, ax in enumerate(axes):
        for k, (name, a) in enumerate(angles.items()):
            ax.plot(range(len(a)), [row[i] for row in a], "o-", label=name, color=f"C{k}")
        ax.axhline(90, color="0.5", lw=0.8, ls=":")
        ax.set(title=f"δW{'¹²³⁴⁵'[i]} vs BP", xlabel="epoch")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("angle (degrees)")
    axes[-1].legend(fontsize=8)
    fig.tight_layout()
    return fig
