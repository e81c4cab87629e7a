"""The live panel: rerun any configuration of an experiment on a button press (the only module that
touches ipywidgets).

    from fa_lab.teaching.panel import Panel
    Panel("exp4")        # width, depth, activation, rules, aux, family, B̃/B̄ scale, epochs, data, batch size, lr,
                         # seed; Run / Stop
    Panel("deep")        # the same on deeper nets (beyond the paper: 4 hidden layers at first)
    Panel("exp1", rules=("fa", "kp"), measure="feedback_angle")   # plot an alignment diagnostic instead of the error

Nothing trains before **Run** is pressed. Training runs in a background thread, so **Stop** works and the
curve is redrawn after every epoch with the time left; at the end each model's number is placed beside the
paper's for the configuration that was run. On a static page (the online book) the panel is only a picture:
Run needs a live Jupyter kernel.
"""

from __future__ import annotations

import html
import io
import threading
import time

import ipywidgets as W

from ..core.alignment import MEASURES
from ..core.errors import FaLabError, choose
from ..core.feedback import FAMILIES
from ..core.nets import ACTIVATIONS
from ..core.rules import PRESETS
from ..core.train import BATCH_SIZE, LR
from ..replication import paper
from ..replication.experiments import (BEYOND, DEEP_SIZES, EXPERIMENTS, LIVE, LIVE_AUTOENCODER, PAPER_DEPTH, RELU_SCALE,
                                       WIDTHS, net_label)
from . import live, plots

STATIC_NOTE = ("<small><i>Run trains only in a live Jupyter kernel: on this static page the panel shows a stored "
               "run. Open the notebook in JupyterLab (<code>make lab</code>) or Colab to train.</i></small>")
STYLE = {"description_width": "120px"}
LAYOUT = W.Layout(width="320px")
MAX_DEPTH = 8  # the hidden-layers slider's end
HIDDEN_SCALE_LABEL = "B̃, B̄ scale ×"  # the control's name, as chapters 7 and 8 quote it
HIDDEN_SCALES = [("1 (paper)", 1.0), ("0.3", 0.3), ("0.1", 0.1), (f"{RELU_SCALE} (relu variant)", RELU_SCALE),
                 ("0 (off)", 0.0)]
ERROR = "error"  # the plot menu's value for the test-error curve (a dropdown shows a None value as blank)


def _dropdown(options, value, description):
    return W.Dropdown(options=options, value=value, description=description, style=STYLE, layout=LAYOUT)


def _slider(value, lo, hi, step, description):
    return W.IntSlider(value=value, min=lo, max=hi, step=step, description=description, style=STYLE, layout=LAYOUT,
                       continuous_update=False)


class Panel:
    """Controls for one experiment's configurations, a Run and a Stop button, a live curve and the result
    beside the paper's number (the paper's nets have two hidden layers). ``extra_rules`` adds your own
    :class:`~fa_lab.Rule` objects by name; ``rules`` picks the rules selected at first (default: the experiment's);
    ``measure`` the plot at first: None (test error) or one of :data:`~fa_lab.core.alignment.MEASURES`, recorded per
    epoch on a probe batch (chapters 11 and 14)."""

    def __init__(self, experiment="exp1", extra_rules=None, rules=None, measure=None):
        known = {**EXPERIMENTS, **BEYOND}
        e = known[choose("experiment", experiment, list(known))]
        self.experiment, self.autoencoder = experiment, experiment == "exp3"
        self.extra = dict(extra_rules or {})
        deep = experiment == "deep"
        widths = (128, 800) if self.autoencoder else tuple(sorted({LIVE["width"], *WIDTHS,
                                                                   *(s[1] for s in DEEP_SIZES if deep)}))
        live = {**LIVE, **(LIVE_AUTOENCODER if self.autoencoder else {})}
        self.width = _dropdown(list(widths), live["width"], "hidden width")
        self.depth = _slider(len(DEEP_SIZES[0]) - 2 if deep else live["depth"], 1, MAX_DEPTH, 1, "hidden layers")
        self.activation = _dropdown(list(ACTIVATIONS), "sigmoid" if self.autoencoder else "tanh", "activation")
        names = list(PRESETS) + list(self.extra)
        self.rules = W.SelectMultiple(options=names, value=tuple(rules or e.rules[:3]), rows=min(len(names), 12),
                                      description="rules", style=STYLE, layout=LAYOUT)
        self.aux = W.Checkbox(value=e.aux, description="auxiliary errors eⁱ (LAFS)", indent=False)
        self.family = _dropdown(list(FAMILIES), e.family, "feedback B")
        self.hidden_scale = _dropdown(HIDDEN_SCALES, 1.0, HIDDEN_SCALE_LABEL)
        self.hidden_scale.tooltip = ("multiplies the feedback matrices between two hidden layers (s2, s3): relu s3 "
                                     f"blows up at 1 and trains at {RELU_SCALE} (Experiments 1 and 2, the relu variant)")
        self.epochs = _slider(LIVE["epochs"], 1, 100, 1, "epochs")
        self.n_train = _slider(LIVE["n_train"], 1000, 60000, 1000, "train examples")
        self.n_test = _slider(LIVE["n_test"], 1000, 10000, 1000, "test examples")
        self.batch_size = _dropdown([1, 8, 16, 32, 64, 128], BATCH_SIZE, "batch size")
        self.lr = W.BoundedFloatText(value=live.get("lr", LR), min=1e-6, max=1.0, step=1e-4, description="learning rate", style=STYLE,
                                     layout=LAYOUT)
        self.seed = W.BoundedIntText(value=0, min=0, max=10**6, description="seed", style=STYLE, layout=LAYOUT)
        unit = "‖x − x̂‖² per image" if self.autoencoder else "test error %"
        self.plot = _dropdown([(unit, ERROR)] + [(what.format(i="ⁱ"), k) for k, (what, _) in MEASURES.items()],
                              ERROR if measure is None else choose("measure", measure, MEASURES), "plot")
        self.last = None  # (histories, cfg) last drawn, redrawn when the plot changes
        self.button = W.Button(description="Run", button_style="primary", icon="play",
                               tooltip="train the chosen configuration (nothing trains before this is pressed)")
        self.stop_button = W.Button(description="Stop", icon="stop", disabled=True, tooltip="stop after this epoch")
        self.progress = W.IntProgress(value=0, min=0, max=1, description="epochs", style=STYLE, layout=LAYOUT)
        self.status = W.HTML(value="<i>Choose a configuration and press Run.</i>")
        self.image = W.Image(format="png", layout=W.Layout(width="560px"))
        self.result = W.HTML()
        self._stop = threading.Event()
        self.thread = None
        self.button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self._stop.set())
        for w in (self.width, self.depth, self.rules, self.aux, self.family, self.hidden_scale, self.epochs,
                  self.n_train, self.batch_size):
            w.observe(lambda _: self._check(), names="value")
        self.plot.observe(lambda _: self.last and self.show(self.last[0], {**self.last[1], "measure": self._measure()}),
                          names="value")
        left = W.VBox([self.width, self.depth, self.activation, self.rules, self.aux, self.family, self.hidden_scale,
                        self.plot])
        right = W.VBox([self.epochs, self.n_train, self.n_test, self.batch_size, self.lr, self.seed,
                        W.HBox([self.button, self.stop_button]), self.progress])
        self.widget = W.VBox([W.HTML(f"<b>{html.escape(e.title)}</b> — live run"), W.HBox([left, right]),
                              self.status, self.image, self.result, W.HTML(STATIC_NOTE)])
        self._check()

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    # -- configuration
    def config(self) -> dict:
        return dict(rules=[self.extra.get(r, r) for r in self.rules.value], width=self.width.value,
                    activation=self.activation.value, aux=self.aux.value, family=self.family.value,
                    epochs=self.epochs.value, n_train=self.n_train.value, n_test=self.n_test.value,
                    seed=self.seed.value, autoencoder=self.autoencoder, batch_size=self.batch_size.value,
                    lr=self.lr.value, depth=self.depth.value, measure=self._measure(),
                    hidden_scale=self.hidden_scale.value)

    def _measure(self):
        return None if self.plot.value == ERROR else self.plot.value

    def _check(self):
        """Explain an invalid mix of choices before Run (e.g. auxiliary errors with BP), and the time a run
        will take."""
        cfg = self.config()
        try:
            live.validate(cfg)
        except FaLabError as exc:
            self.status.value = f'<span style="color:#cf222e">{html.escape(str(exc))}</span>'
            self.button.disabled = True
            return
        self.button.disabled = self.thread is not None and self.thread.is_alive()
        self.status.value = f"<i>Ready: about {live.estimate_seconds(cfg):.0f} s (a rough estimate for this machine).</i>"

    def papers(self, cfg, names) -> dict:
        """{model name: the paper's number for the net nearest in width} for the configuration that ran (none
        for auto-encoders and for depths other than the paper's two hidden layers)."""
        return {name: v for name, (v, _) in self._nearest(cfg, names).items() if v is not None}

    def _nearest(self, cfg, names) -> dict:
        """{model name: (the paper's number, its net)}: ``names`` paired with cfg's rules × families, in order."""
        if cfg["autoencoder"] or cfg["depth"] != PAPER_DEPTH:
            return {}
        pairs = [(r, f) for f in live._as_list(cfg["family"]) for r in cfg["rules"]]
        if len(pairs) != len(names):  # histories not made from cfg: no pairing by position
            return {}
        return {name: paper.nearest(cfg["width"], cfg["activation"], r, cfg["aux"], f)
                for name, (r, f) in zip(names, pairs) if isinstance(r, str)}

    # -- drawing
    def load(self, cfg):
        """Set the controls to ``cfg`` (a :meth:`config`, e.g. of a run made outside the panel), so that what is
        shown and what Run trains agree."""
        if cfg["width"] not in self.width.options:
            self.width.options = sorted({*self.width.options, cfg["width"]})
        for name in ("width", "depth", "activation", "aux", "epochs", "n_train", "n_test", "batch_size", "lr", "seed"):
            getattr(self, name).value = cfg[name]
        self.family.value = live._as_list(cfg["family"])[0]
        self.hidden_scale.value = cfg.get("hidden_scale", 1.0)
        self.plot.value = cfg.get("measure") or ERROR
        names = [r if isinstance(r, str) else r.name for r in cfg["rules"]]
        self.rules.value = tuple(n for n in names if n in self.rules.options)

    def show(self, histories, cfg=None):
        """Draw ``histories``: the chosen plot (test error per epoch, dashed: the paper; or an alignment measure,
        when the run recorded them) and the result table beside it. ``cfg``: the configuration they ran (the
        controls are set to it); by default the controls'."""
        from matplotlib.figure import Figure

        if cfg is not None:
            cfg = {"measure": self._measure(), **cfg}
            self.load(cfg)
        cfg = cfg or self.config()
        self.last = (histories, cfg)
        found = self._nearest(cfg, [h.name for h in histories])
        papers = {name: v for name, (v, _) in found.items() if v is not None}
        unit = "‖x − x̂‖² per image" if cfg["autoencoder"] else "test error %"
        head = "sigmoid" if cfg["autoencoder"] else "softmax"
        net = net_label([784, *[cfg["width"]] * cfg["depth"], 784 if cfg["autoencoder"] else 10], cfg["activation"], head)
        if cfg["measure"] is not None and all(h.alignment for h in histories):
            fig = Figure(figsize=(max(7.2, 3.1 * cfg["depth"]), 3.4))
            plots.alignment_series(histories, cfg["measure"], fig, title=net)
        else:
            fig = Figure(figsize=(6.2, 3.6))
            other = sorted({n for v, n in found.values() if v is not None} - {net})  # Table 4 has 2x800 tanh only
            note = " (no alignment recorded: press Run)" if cfg["measure"] else \
                f" (dashed: paper{', ' + ', '.join(other) if other else ''})" if papers else ""
            plots.curves(histories, ax=fig.subplots(), paper=papers, ylabel=unit, title=net + note)
            fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90)
        self.image.value = buf.getvalue()
        self.result.value = live.summary_html(histories, papers, unit)
        done = max((h.epochs for h in histories), default=0)
        self.progress.max, self.progress.value = max(self.progress.max, done), done

    # -- running
    def run(self, cfg=None):
        """Train the current configuration in this thread (what Run does, in a background thread)."""
        cfg = cfg or self.config()
        self._stop.clear()
        self.progress.max, self.progress.value = cfg["epochs"], 0
        t0 = time.perf_counter()

        def redraw(epoch, histories):
            left = (time.perf_counter() - t0) / epoch * (cfg["epochs"] - epoch)
            self.status.value = f"<i>epoch {epoch}/{cfg['epochs']}: about {left:.0f} s left</i>"
            self.show(histories, cfg)
            return self._stop.is_set()

        try:
            _, hist = live.run(callbacks=redraw, **cfg)
        except FaLabError as exc:
            self.status.value = f'<span style="color:#cf222e">{html.escape(str(exc))}</span>'
            return None
        stopped = " (stopped)" if self._stop.is_set() else ""
        self.status.value = f"<i>done{stopped} in {time.perf_counter() - t0:.1f} s.</i>" + "".join(
            f'<br><span style="color:#cf222e">{html.escape(h.diverged)}</span>' for h in hist if h.diverged)
        self.show(hist, cfg)
        return hist

    def start(self):
        """Run in a background thread so that Stop stays responsive."""
        def work():
            try:
                self.run()
            finally:
                self.button.disabled, self.stop_button.disabled = False, True

        self.button.disabled, self.stop_button.disabled = True, False
        self.thread = threading.Thread(target=work, daemon=True)
        self.thread.start()
