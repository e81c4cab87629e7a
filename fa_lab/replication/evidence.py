"""The measurements behind the causes of deviation (:mod:`.deviations`): each reads the committed runs and
returns a paragraph of evidence for the cells one cause covers, or '' when there is nothing to measure yet.
:data:`FINDINGS` measures what a variant shows beside its faithful runs, the same way (``measure(stats)``).

A measurement is called as ``measure(stats, cells)``: ``stats`` maps (experiment, net, method) to
:class:`~fa_lab.replication.results.Stats` (the variants' cells included), ``cells`` are the paper's cells
(:class:`~fa_lab.replication.paper.Cell`) the cause covers.
"""

from __future__ import annotations

from ..core import train as _train
from ..core.rules import label
from . import experiments as ex
from . import grid
from . import paper
from .verdicts import cell_verdict

TANH_800 = ex.net_label((784, 800, 800, 10), "tanh")
RELU_SCALED = {v.variant_of: name for name, v in ex.VARIANTS.items() if "hidden_scale" in dict(v.feedback_params)}


def fa_exp4_reach(stats, cells=()) -> str:
    """Evidence for ``exp4-fa-better``, from all our FA runs of Experiment 4 (``cells`` unused): the epoch at which
    each run first reaches the paper's number (a shorter run, or an earlier snapshot, would give one epoch for every family),
    and the families in order of the paper's FA number and of ours."""
    reach, ours, theirs = [], {}, {}
    for f in ex.FAMILY_NAMES:
        key = ("exp4", TANH_800, label("fa", f))
        s, p = stats.get(key), paper.number(*key)
        if s is None or s.mean is None or p is None:
            continue
        ours[f], theirs[f] = s.mean, p
        if f != "B2":  # B2 has a cause of its own
            eps = [next((i + 1 for i, e in enumerate(r.test_error) if e <= p), None) for r in s.records]
            reach.append((f, eps))
    if not ours:
        return ""
    order = lambda d: ", ".join(sorted(d, key=d.get))  # noqa: E731
    every = [e for _, eps in reach for e in eps if e is not None]
    spread = bool(every) and max(every) >= 3 * min(every)
    return ("Measured on the committed runs: our FA first reaches the paper's number at epoch "
            + "; ".join(f"{f} " + ", ".join("never" if e is None else str(e) for e in eps) for f, eps in reach)
            + " (one number per seed), so " + ("no single shorter run explains the paper's FA" if spread else
                                               "a shorter run could explain the paper's FA")
            + f". From best to worst, the paper's FA orders the families {order(theirs)}; ours {order(ours)}"
            + agreement(sorted(theirs, key=theirs.get), sorted(ours, key=ours.get)) + ".")


def agreement(a, b) -> str:
    """', which agree on the order of X, Y, Z (all but U, V)': the longest common subsequence of two orders."""
    best = [[[] for _ in range(len(b) + 1)] for _ in range(len(a) + 1)]
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            best[i + 1][j + 1] = best[i][j] + [x] if x == y else max(best[i][j + 1], best[i + 1][j], key=len)
    common = best[-1][-1]
    rest = [f for f in a if f not in common]
    return f", which agree on the order of {', '.join(common)} (all but {', '.join(rest)})" if rest and len(common) > 1 else ""


def still_learning(stats, cells) -> str:
    """Evidence for ``not-converged``: how much the runs of the cells it covers still learned at the end."""
    runs = [r for cell in cells for r in stats[cell.key].records if len(r.train_error) >= 100]
    if not runs:
        return ""
    late = [r.train_error[89] - r.train_error[99] for r in runs]
    their = f"their {len(runs)} run{'s' if len(runs) > 1 else ''}"
    test = [r.test_error[49] - r.test_error[99] for r in runs]
    return (f"Measured on {their}: from epoch 90 to 100 the training error still fell by "
            f"{min(late):.2f} to {max(late):.2f} points, and from epoch 50 to 100 the test error by {min(test):.2f} "
            f"to {max(test):.2f}: none has levelled off.") if min(late) > 0 else \
        f"Measured on {their}: from epoch 90 to 100 the training error changed by {min(late):.2f} to {max(late):.2f} points."


def relu_below(stats, cells) -> str:
    """Evidence for ``relu-below``: which faithful runs of the covered cells diverged, then :func:`relu_scaled`."""
    return " ".join(t for t in (diverged_runs(stats, cells), relu_scaled(stats, cells)) if t)


def diverged_runs(stats, cells) -> str:
    """The faithful runs of ``cells`` that diverged, as 'Table 2 2x200 Relu s3: seed 0 in epoch 44, …' (the
    epoch in which training stopped: one after the last epoch it finished), and how many of the cells' runs did."""
    n_runs, n_bad, parts = 0, 0, []
    for c in cells:
        recs = stats[c.key].records if c.key in stats else []
        bad = sorted((r.config.seed, len(r.test_error) + 1) for r in recs if r.diverged)
        n_runs, n_bad = n_runs + len(recs), n_bad + len(bad)
        if bad:
            parts.append(f"Table {c.table} {c.net} {c.method}: " + ", ".join(f"seed {s} in epoch {e}" for s, e in bad))
    return f"Measured on the faithful runs: {n_bad} of their {n_runs} diverged ({'; '.join(parts)})." if parts else ""


def relu_scaled(stats, cells) -> str:
    """Evidence for ``relu-below``: the cells it covers, trained again with the feedback between the hidden layers
    scaled down (the variants in ``RELU_SCALED``), against the paper."""
    parts, near, below, lost = [], 0, [], 0
    for c in cells:
        s = stats.get((RELU_SCALED.get(c.experiment), c.net, c.method))
        if s is None:
            continue
        lost += len(s.diverged)
        if s.mean is None:
            continue
        ok = cell_verdict(s, c.test_error) == "yes"
        near += ok
        below += [] if ok or s.diverged or s.mean > c.test_error else [c.test_error - s.mean]  # off by its distance
        parts.append(f"Table {c.table} {c.net} {c.method} {s.mean:.2f}" + (f" ± {s.sd:.2f}" if s.sd else "")
                     + f" (paper {c.test_error:.2f})")
    under = f"; {len(below)} end{'s' if len(below) == 1 else ''} below it, by {span(sorted(below))} points" if below else ""
    trains = f"{lost} run{'s' if lost > 1 else ''} still diverged" if lost else "every run trains"
    if not parts and not lost:
        return ""
    return (f"Measured on the variants' runs ({', '.join(f'`{v}`' for v in RELU_SCALED.values())}): {trains}."
            + (f" {'; '.join(parts)}. {near} of {len(parts)} reproduce the paper (verdict yes){under}." if parts else ""))


def span(values) -> str:
    """'0.42 to 0.60' for sorted ``values``, '0.42' when they are all one number."""
    return f"{values[0]:.2f}" if f"{values[0]:.2f}" == f"{values[-1]:.2f}" else f"{values[0]:.2f} to {values[-1]:.2f}"


def gain(stats, cell):
    """(paper, ours) fall in test error from ``cell``'s net to the widest net of its activation, or None."""
    wide = ex.net_label((784, ex.WIDTHS[-1], ex.WIDTHS[-1], 10), cell.activation)
    s, s_wide, p_wide = stats.get(cell.key), stats.get((cell.experiment, wide, cell.method)), \
        paper.number(cell.experiment, wide, cell.method)
    if cell.width == ex.WIDTHS[-1] or None in (s, s_wide, p_wide) or None in (s.mean, s_wide.mean):
        return None
    return cell.test_error - p_wide, s.mean - s_wide.mean


def width_gain(stats, cells) -> str:
    """Evidence for ``paper-worse-narrow``: how much the paper's numbers and ours fall from each covered cell's
    net to the 2x800 net of its activation, against the same over every narrower cell of Tables 2 and 3, and the
    gaps in units of our seed sd."""
    covered = list(cells)
    narrow = [(c, g) for c in paper.cells() if c.experiment in ("exp1", "exp2") for g in [gain(stats, c)] if g]
    if not covered or not narrow:
        return ""
    parts = []
    for c in covered:
        g = gain(stats, c)
        parts.append(f"Table {c.table} {c.net} {c.method}: " + ("the widest net itself" if g is None else
                     f"paper {g[0]:+.2f}, ours {g[1]:+.2f}"))
    sds = sorted(stats[c.key].sd for c in covered if stats[c.key].sd)
    gaps = sorted(c.test_error - stats[c.key].mean for c in covered)
    spread = (f" {len(sds)} of the {len(covered)} cells {'has' if len(sds) == 1 else 'have'} more than one seed (sd "
              f"{span(sds)}); the smallest gap, {gaps[0]:.2f} points, is {gaps[0] / sds[-1]:.0f} times the largest of "
              "those sds: an unlucky seed of the paper is unlikely but, with so few seeds, not excluded.") if sds else \
        " Each of these cells has one seed so far."
    mean = lambda i: sum(g[i] for _, g in narrow) / len(narrow)  # noqa: E731
    more, tables = mean(0) - mean(1), sorted({c.table for c, _ in narrow})
    them = "them" if len(gaps) > 1 else "it"
    verdict = f"enough to explain {them}" if more >= gaps[0] else f"so the hypothesis explains at most part of {them}"
    whose = "these cells' gaps" if len(gaps) > 1 else "this cell's gap"
    return (f"Measured on the committed runs: the fall in test error from the cell's net to 2x800 of the same "
            f"activation is {'; '.join(parts)}. Over all {len(narrow)} narrower cells (2x200, 2x400) of "
            f"Table{'s' if len(tables) > 1 else ''} {' and '.join(tables)} that we have run, the paper falls by "
            f"{mean(0):.2f} points on average and ours by {mean(1):.2f}: the paper's {more:.2f} more is to be set "
            f"against {whose} of {span(gaps)} points, {verdict}."
            + spread)


def _curve(stats, experiment, net, rule):
    """The mean test curve over the seeds of a cell, and its seeds; (None, []) where it has no trained run."""
    s = stats.get((experiment, net, rule))
    runs = [r for r in (s.records if s else []) if not r.diverged and r.test_error]
    n = min((len(r.test_error) for r in runs), default=0)
    curve = [sum(r.test_error[i] for r in runs) / len(runs) for i in range(n)] if runs else None
    return curve, sorted(r.config.seed for r in runs)


def ae_longer(stats, variant="exp3-300ep") -> str:
    """What the longer auto-encoder runs show on 784-800-800-784 (``exp3-300ep``): BP at the protocol's last epoch,
    at twice it and at the variant's, against DFA's numbers at the first and the last (does BP catch up, as
    ``scripts/ae_rate.py`` predicts, near DFA's number at the protocol's length?), how fast each still falls over
    the last half-protocol, and where the other rules end."""
    net = ex.net_label(ex.AE_SIZES[-1], ex.AE_ACTIVATION, "sigmoid")
    n, end = _train.EPOCHS, grid.protocol_settings("full", variant)["epochs"]
    (b, seeds_b), (d, seeds_d) = (_curve(stats, variant, net, r) for r in ("bp", "dfa"))
    if not b or not d or min(len(b), len(d)) < end:
        return ""
    marks = [f"{b[e - 1]:.3f} after {'epoch ' * (k == 0)}{e}" for k, e in enumerate(sorted({n, min(2 * n, end), end}))]
    at = ", ".join(marks[:-1]) + " and " + marks[-1] if len(marks) > 1 else marks[0]
    near = "near" if abs(b[end - 1] - d[n - 1]) <= 0.1 * d[n - 1] else "above" if b[end - 1] > d[n - 1] else "below"
    still = "still " if b[n - 1] > d[n - 1] else ""
    behind = (f"DFA gains from the extra epochs too and ends at {d[end - 1]:.3f}, so BP {still}ends behind it: "
              f"{b[end - 1] / d[end - 1]:.1f} times DFA's error after {end} epochs, against {b[n - 1] / d[n - 1]:.1f} "
              f"after {n}" if b[end - 1] > d[end - 1] else f"BP ends below DFA ({d[end - 1]:.3f})")
    rest = {r: _curve(stats, variant, net, r)[0] for r in ex.AE_RULES if r not in ("bp", "dfa")}
    ended = ", ".join(f"{r} {c[-1]:.3f}" for r, c in rest.items() if c)
    todo = [r for r, c in rest.items() if not c]
    seeds = sorted(set(seeds_b) | set(seeds_d))
    h = n // 2
    return (f"Measured on the variant's runs (seed{'s' * (len(seeds) > 1)} {', '.join(map(str, seeds))}; mean test "
            f"‖x − x̂‖² per image): BP is at {at}, {near} DFA's {d[n - 1]:.3f} after {n}. {behind}. "
            f"Over the last {h} epochs BP still falls by {b[end - h - 1] - b[end - 1]:.2f}, DFA by "
            f"{d[end - h - 1] - d[end - 1]:.2f}."
            + (f" After {end} epochs: {ended}." if ended else "")
            + (f" ({', '.join(todo)} {'is' if len(todo) == 1 else 'are'} still to run.)" if todo else ""))


FINDINGS = {"exp3-300ep": ae_longer}  # variant -> what its runs show beside the faithful ones
