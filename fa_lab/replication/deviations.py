"""Why a cell of the paper's tables is off: every known cause, once, with its evidence.

A cell whose verdict is not **yes** (more than :data:`~fa_lab.replication.verdicts.TOLERANCE` points from the
paper and outside two of our seed sds), or whose runs diverged, gets a cause: the first :class:`Cause` that covers
it, else ``unexplained``. A cause names its cells by key (``(experiment, net, method)``, as :mod:`.paper` keys
them) or by a test on our statistics; its text says what was measured and how to measure it again. The report
groups the off cells by cause (``REPLICATION.md``, "Deviations") and writes each cell's cause into
``replication.csv``. Numbers that live in result files are not repeated here: the report prints them beside
each cause.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..core.rules import label
from . import experiments as ex
from . import evidence as ev
from . import paper
from .verdicts import cell_verdict

TANH_800 = ev.TANH_800
RELU_800 = ex.net_label((784, 800, 800, 10), "relu")
NOT_CONVERGED = 0.1  # % final training error above which a run has not reached the paper's regime (< 0.01 %)
UNEXPLAINED = "unexplained"


@dataclass(frozen=True)
class Cause:
    """A cause of deviation: ``status`` is ``explained`` (evidence shows the mechanism), ``partly explained``
    or ``open`` (evidence rules some readings out, none in)."""

    key: str
    title: str
    status: str
    text: str
    cells: frozenset = frozenset()
    when: Callable | None = None  # (cell, stats) -> bool, for causes read off our own numbers
    measure: Callable | None = None  # (all stats, covered cells) -> str: evidence from the runs (:mod:`.evidence`)

    def covers(self, cell, stats) -> bool:
        return cell.key in self.cells or (self.when is not None and stats is not None and self.when(cell, stats))


def _paper_exp4(rule, family):
    """The paper's Table 4 number for ``rule`` with ``family``, for prose (one home: ``paper_tables.csv``)."""
    return f"{paper.number('exp4', TANH_800, label(rule, family)):.2f} %"


def _exp4(rule, families):
    return frozenset(("exp4", TANH_800, label(rule, f)) for f in families)


CAUSES = (
    Cause("b2-ten-units", "B2, the non-square identity, gives an error to 10 of the 800 units of a layer", "explained",
          "Bⁱ = eye(800, 10) is one on unit j = class j and zero elsewhere, so Bⁱe (DFA) and B̃ⁱδaⁱ⁺¹ (FA, whose "
          "square B̃ between the 800-unit layers is the identity) vanish on 790 units of each hidden layer: their "
          "weights never move, and the net is 10 learned units per layer plus an output layer reading 790 frozen "
          "random units. `python scripts/b2_readings.py --epochs 3` (full data, one batch order, the protocol's "
          "lr and batch) trains it beside two other readings; test error % after epochs 1, 2, 3: faithful B2 "
          "10.49, 8.74, 8.23 (final train error 8.59); the identity tiled down the layer (unit j gets class "
          "j mod 10, every unit learns) 7.43, 5.20, 4.92; B = 0 (only the output layer learns: the random-feature "
          "floor) 16.35, 13.73, 12.65; DFA with U(−½, ½) feedback 6.08, 4.67, 4.43. The faithful reading learns "
          "like 10 units, the tiled one like ordinary DFA (the baselines' DFA on this net): only a reading "
          f"in which every unit receives an error can reach the paper's {_paper_exp4('dfa', 'B2')} for DFA. The "
          f"paper's FA-B2 ({_paper_exp4('fa', 'B2')}), close to ours, fits the faithful reading, so the paper's DFA-B2 may have used another B2 than its "
          "FA. The variant `exp4-b2-tiled` (table above) runs the tiled reading for the full 100 epochs.",
          _exp4("dfa", ["B2"]) | _exp4("fa", ["B2"])),
    Cause("exp4-small-feedback", "Feedback of scale 0.01 (DFA with B1, B3, B5, B7) learns too slowly in 100 epochs",
          "explained",
          "With noise N(0, 0.01) read as sd 0.01 (numpy's `normal(0, 0.01)`), B1 = 1 + noise and B5 = 1 + "
          "U[−0.01, 0.01] are nearly all ones, and a softmax error sums to zero, so Bⁱe is only the small part "
          "times e: the hidden layers get updates ~30× smaller than with U(−½, ½) feedback (B7, noise alone, "
          "likewise; B3 is B2's ten units plus that noise). These runs end with 1–3 % training error, not the "
          "paper's < 0.01 %. The variant `exp4-sd0.1` (table above) reads the noise as sd 0.1 (variance 0.01): "
          "DFA then lands within 0.4 points of the paper for all four noisy families (B1, B3, B6, B7; seed 0), so for "
          "DFA the evidence favours that reading. For FA it does not (next cause), so the faithful runs keep "
          "sd 0.01 and the report shows both. B5's U[−0.01, 0.01] is not ambiguous: there the same mechanism "
          f"predicts a slow run for the paper too, and its {_paper_exp4('dfa', 'B5')} stays unexplained.",
          _exp4("dfa", ["B1", "B3", "B5", "B7"])),
    Cause("exp4-fa-better", "Our FA beats the paper's FA in Experiment 4", "open",
          "FA with every family but B2 ends about 2 to 4.6 points below the paper's Table 4 (the cells above); B4 and "
          "B6 end about as low as our FA with the default U(−½, ½) feedback on the same net (the baselines). The noise "
          "reading is ruled out as the cause: with sd 0.1 (variant `exp4-sd0.1`, table above) FA ends about as low, "
          "or lower. Nor is the density of the sparse families (B4, B6), which the paper does not give: variant "
          "`exp4-d0.01` (table above) takes scipy's default 0.01 for the faithful runs' 0.1, and with it FA-B4 and "
          "FA-B6 still end far below the paper's FA. Early on the sparser feedback is slower (`python "
          "scripts/b4_density.py`, full data, the protocol's lr and batch: FA-B4 5.94 % test error after epoch 3 "
          "against 3.20 %, DFA-B4 7.22 % against 4.68 %), but over 100 epochs FA catches up. "
          "The paper gives no code or curves for FA in Experiment 4; we have no reading that makes FA this much "
          "worse than DFA.",
          _exp4("fa", ["B1", "B3", "B4", "B5", "B6", "B7"]), measure=ev.fa_exp4_reach),
    Cause("relu-below", "relu nets whose top hidden layer averages in a term from the layer below (s2, s3) blow up",
          "partly explained",
          "`python scripts/trace_divergence.py exp2-784-800-800-10-relu-s3-aux` (seed 0) measures the terms at "
          "initialisation and traces the first steps. The neighbour terms, carried by 800×800 U(−½, ½) matrices, "
          "are about 6× the direct ones and ~40× BP's own term (at initialisation, the mean over 256 training "
          "examples of each term's norm in layer 2: direct B²e² 9.2, from below B̄²δã¹ 58.8, BP's (W³)ᵀe 1.4), so "
          "the update of a layer that averages it in is dominated by a term far larger than the gradient and, at "
          "first, unrelated to it. In s2 and s3 that layer is the top hidden one, which feeds the output: in 1 000 steps "
          "|W²| grows 28.7 → 171, max|h²| 16 → 4 850 and the training loss to 10⁶ per example, and the run is "
          "stopped as diverged in epoch 1 (seed 1 and lr 0.0005 alike; with zero initial biases instead of "
          "N(0, 1) it blows up too). relu neither saturates nor shrinks f′ as activations grow, and δW² = "
          "δa²(h¹)ᵀ grows with h¹: a loop that bounded tanh breaks (tanh s3 (aux) stays small, as do relu s1 "
          "(aux), whose big term reaches only layer 1, and DFA). In the same trace relu s3 without auxiliary errors "
          "and relu s2 (aux) climb to 10³ per example and recover; over 100 epochs some of their runs do not "
          "(which, and in which epoch, is measured below). The paper reports these nets "
          "training normally; it gives Bⁱ ∼ U(−½, ½) for \"the random matrices\" without saying whether B̃ and B̄ share "
          "that scale (the faithful runs assume they do). For relu s3 (aux), seed 0, shrinking B̄² and B̃¹ stops the "
          "blow-up: with `--feedback-scale 0.03` the trace above falls to a training loss of 0.56 per example after "
          "1 500 steps, as with the neighbour term switched off (scale 0: 0.54; relu s1 (aux), which trains "
          "normally: 0.40), while at 0.1 it stays at 21–37 over the first 3 750 steps. At 0.03 the neighbour term is "
          "about a fifth of the direct one, so the layer learns almost as with DFA. `python "
          "scripts/relu_feedback_scale.py --scale 0.03 --epochs 100 --width W` (script output, seed 0) trains relu "
          "s3 (aux) to 1.90, 1.98 and 2.10 % on 2x800, 2x400 and 2x200 (paper 2.13, 2.32, 2.67; on 2x800 its first "
          "epochs still jump: 21, 10, 20 and 19 % in epochs 1–4). The variants "
          + " and ".join(f"`{v}`" for v in ev.RELU_SCALED.values()) + " (tables above) train every relu s2 and s3 "
          "cell so; as they depart from the paper's stated scale, they stay variants.",
          frozenset((e, ex.net_label((784, n, n, 10), "relu"), label(r)) for e in ("exp1", "exp2") for n in ex.WIDTHS
                    for r in ("s2", "s3")), measure=ev.relu_below),
    Cause("not-converged", f"Not converged at epoch 100 (final training error above {NOT_CONVERGED} %)", "partly explained",
          "The paper reports training error < 0.01 % at epoch 100 for every run; these cells end well above it, "
          "so they are still learning (the final training error of every cell is in `replication.csv`). Slower learners "
          "(sigmoid's f′ ≤ ¼, feedback rules that add terms) have not reached the paper's regime at our batch "
          "size and lr; why the paper's runs had, we cannot tell from its text.",
                    when=lambda cell, s: s.train is not None and s.train > NOT_CONVERGED, measure=ev.still_learning),
    Cause("paper-worse-narrow", "Ours beats the paper on a converged run",
          "open",
          f"These runs end with training error at most {NOT_CONVERGED} % (the paper reports < 0.01 %) and below the "
          "paper's number. One hypothesis: the paper's narrow nets trained less well than its wide ones (its lr, "
          "0.001, is stated; its batch size, hence its number of steps, is not), so its numbers fall more with width "
          "than ours. The measurement below tests it against the 2x800 net of each cell's activation. The paper does "
          "not say how many seeds its numbers average, so a lucky or unlucky seed of the paper cannot be ruled out, "
          "only weighed against our own seed spread.",
          when=lambda cell, s: None not in (s.mean, s.train) and s.mean < cell.test_error and s.train <= NOT_CONVERGED,
          measure=ev.width_gain),
)


def cause_of(cell, stats):
    """The key of the cause of an off cell, ``unexplained`` if none covers it, '' for a cell that is fine or not
    run (``stats``: the cell's :class:`~fa_lab.replication.results.Stats` or None)."""
    off = stats is not None and (stats.diverged or cell_verdict(stats, cell.test_error) in ("partial", "no"))
    if not off:
        return ""
    return next((c.key for c in CAUSES if c.covers(cell, stats)), UNEXPLAINED)


def _line(cell, s):
    ours = f"{s.mean:.2f}" + (f" ± {s.sd:.2f}" if s.sd is not None else "") if s.mean is not None else "—"
    div = f", {len(s.diverged)} diverged" if s.diverged else ""
    train = f", final train error {s.train:.2f} %" if s.train is not None else ""
    return (f"- Table {cell.table}, {cell.net} {cell.method}: paper {cell.test_error:.2f}, ours {ours} "
            f"(n = {s.n}{div}{train})")


def covered(stats, experiment=None) -> dict:
    """{cause key: [the paper's cells it covers]} over the off cells (of one ``experiment``, or all)."""
    groups = {}
    for cell in paper.cells():
        key = cause_of(cell, stats.get(cell.key)) if experiment in (None, cell.experiment) else ""
        if key:
            groups.setdefault(key, []).append(cell)
    return groups


def evidence(key, stats, experiment=None) -> str:
    """The measured evidence of cause ``key`` for the cells it covers ('' when it has no measurement)."""
    cause = next(c for c in CAUSES if c.key == key)
    return cause.measure(stats, covered(stats, experiment).get(key, [])) if cause.measure else ""


def markdown(stats, experiment=None, level=2) -> str:
    """The "Deviations" section: the off cells (of one ``experiment``, or all) grouped by cause, each cause with
    its status and evidence; ``level``: the heading level of the section (its causes one below)."""
    groups = covered(stats, experiment)
    if not groups:
        return ""
    h, sub = "#" * level, "#" * (level + 1)
    lines = lambda key: "\n".join(_line(cell, stats[cell.key]) for cell in groups[key]) + "\n"  # noqa: E731
    out = [f"{h} Deviations, grouped by cause\n",
           "Every cell that is not a **yes** (or whose runs diverged), under the first cause that covers it.\n"]
    for c in CAUSES:
        if c.key in groups:
            out += [f"{sub} {c.title} ({c.status})\n", lines(c.key), c.text + "\n"]
            out += [c.measure(stats, groups[c.key]) + "\n"] if c.measure is not None else []
    if UNEXPLAINED in groups:
        out += [f"{sub} Unexplained\n", lines(UNEXPLAINED)]
    return "\n".join(out) + "\n"
