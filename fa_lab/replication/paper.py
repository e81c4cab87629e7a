"""What the paper reported: the cells of its Tables 2, 3 and 4 (``paper_tables.csv``, shipped with the package).

Each cell is keyed like our runs, ``(experiment, net, method)`` (see :attr:`RunConfig.cell`), so a table of
ours and the paper's meet on one key::

    paper.number("exp2", "2x800 Tanh", "s1")       # 1.66, the paper's headline
    paper.nearest(300, "tanh", "s1", aux=True)      # (1.92, '2x400 Tanh'): the paper's net nearest in width

and its figures as we regenerate them from our runs (:data:`FIGURES`).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..core.rules import label
from .experiments import AE_ACTIVATION, AE_SIZES, DEEP_SIZES, TABLES, WIDTHS, net_label

PAPER_CSV = Path(__file__).with_name("paper_tables.csv")
CITATION = ("*A general feedback alignment strategy*. The paper text this project works from gives no author list, "
            "year or arXiv identifier; cite the paper by its title (see CITATION.cff).")


@dataclass(frozen=True)
class Cell:
    """One number of the paper: test error % of a method on a net in one table."""

    table: str
    experiment: str
    net: str
    activation: str
    width: int
    method: str
    test_error: float

    @property
    def key(self) -> tuple:
        return (self.experiment, self.net, self.method)


@lru_cache(maxsize=None)
def cells() -> tuple:
    """Every cell of Tables 2, 3, 4 in the paper's order."""
    with open(PAPER_CSV, newline="") as f:
        return tuple(Cell(r["table"], TABLES[r["table"]], r["model"], r["activation"], int(r["width"]), r["method"],
                          float(r["test_error_pct"])) for r in csv.DictReader(f))


@lru_cache(maxsize=None)
def _by_key() -> dict:
    return {c.key: c.test_error for c in cells()}


def number(experiment, net, method):
    """The paper's test error (%) for a cell, or None where the paper reports none."""
    return _by_key().get((experiment, net, method))


def experiment_of(aux=False, family="uniform") -> str:
    """The experiment whose table holds a classifier configuration: exp4 (a family B1–B7), exp2 (aux), exp1."""
    return "exp4" if family != "uniform" else "exp2" if aux else "exp1"


def nearest(width, activation, rule, aux=False, family="uniform"):
    """(number, net label) of the paper's net closest in width to a 2-hidden-layer classifier (the paper has
    widths 200, 400, 800; Table 4 only 2x800 tanh); (None, None) where it has no number for the method."""
    exp, method = experiment_of(aux, family), label(rule, family)
    for w in sorted(WIDTHS, key=lambda w: (abs(w - width), -w)):
        net = net_label((784, w, w, 10), activation)
        v = number(exp, net, method)
        if v is not None:
            return v, net
    return None, None


@dataclass(frozen=True)
class Figure:
    """One of the paper's figures as regenerated from our runs: which runs it draws and how.
    ``kind``: curves (test error per epoch, one line per method), reconstructions or weights (auto-encoders);
    ``panels``: for curves, the rules of each side-by-side panel (None: one panel with every method)."""

    number: int
    name: str
    title: str
    kind: str
    experiments: tuple
    sizes: tuple
    activation: str
    panels: tuple = (None,)
    measure: str = "angle"  # for kind "alignment": which diagnostic (fa_lab.core.alignment.MEASURES)


FIGURES = (  # the paper's figures, then ours beyond it (number None)
    Figure(4, "fig4_exp1_2x800_tanh", "Figure 4: Experiment 1, 2x800 tanh", "curves", ("exp1", "baselines"),
           (784, 800, 800, 10), "tanh"),
    Figure(5, "fig5_exp2_2x800_tanh", "Figure 5: Experiment 2 (aux errors), 2x800 tanh", "curves",
           ("exp2", "baselines"), (784, 800, 800, 10), "tanh"),
    *(Figure(n, f"fig{n}_{kind}_{'-'.join(map(str, s))}", f"Figure {n}: {what}, {'-'.join(map(str, s))}", kind,
             ("exp3",), s, AE_ACTIVATION)
      for s in AE_SIZES for n, kind, what in ((6, "reconstructions", "reconstructions"),
                                              (7, "weights", "first-layer weights"))),
    Figure(8, "fig8_exp4_families", "Figure 8: 2x800 tanh, feedback families (Experiment 4)", "curves",
           ("exp4", "baselines"), (784, 800, 800, 10), "tanh", panels=(("dfa",), ("fa",))),
    *(Figure(None, f"alignment{suffix}_2x800_tanh", f"Beyond the paper: {what}, 2x800 tanh", "alignment",
             ("exp1", "exp2", "baselines", "relatives"), (784, 800, 800, 10), "tanh", measure=measure)
      for measure, suffix, what in (("angle", "", "angle of each rule's δWⁱ to BP's gradient"),
                                    ("feedback_angle", "_feedback", "angle of each layer's feedback to what BP uses"),
                                    ("norm_ratio", "_norms", "size of each rule's δWⁱ against BP's gradient"),
                                    ("feedback_norm", "_feedback_norms", "size of each layer's feedback matrix"),
                                    ("example_angle", "_examples", "per-example angle of δaⁱ to BP's"))),
    *(Figure(None, f"deep_{len(s) - 2}x{s[1]}_tanh", f"Beyond the paper: test error per epoch, {net_label(s, 'tanh')}",
             "curves", ("deep",), s, "tanh") for s in DEEP_SIZES),
)
