"""Does the paper hold? A verdict per table cell and per claim of the paper, from our statistics over seeds.

A cell reproduces (**yes**) when our mean is within :data:`TOLERANCE` points of the paper's number or within
two of our seed standard deviations; **partial** within :data:`PARTIAL` points; **no** otherwise. A seed that
diverged counts against its cell, since the paper reports every run trained: a cell with one is at best
**partial** (judged on the seeds that trained), and a cell whose every seed diverged is **no**. Each claim
of the paper's text is checked on the cells it speaks about: **yes** when all agree, **partial** when at least
half do, **no** otherwise, with the numbers, so a reader can judge it (``pending`` where we have no runs yet).
There too a cell whose every seed diverged counts, as the worst result (:func:`value_of`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import experiments as ex

TOLERANCE = 0.35  # points
PARTIAL = 0.7     # points
TANH_800 = ex.net_label((784, 800, 800, 10), "tanh")


def cell_verdict(stats, paper_value):
    """'yes', 'partial', 'no', or '' where not run (``stats``: a :class:`~fa_lab.replication.results.Stats`)."""
    if stats is None or paper_value is None:
        return ""
    if stats.mean is None:
        return "no" if stats.diverged else ""
    d = abs(stats.mean - paper_value)
    if not stats.diverged and (d <= TOLERANCE or (stats.sd is not None and d <= 2 * stats.sd)):
        return "yes"
    return "partial" if d <= PARTIAL else "no"


@dataclass
class Claim:
    """One sentence of the paper, our verdict on it and the evidence."""

    text: str
    verdict: str
    evidence: str
    experiments: tuple = ()  # the experiments whose runs are its evidence (the book shows it in their chapters)


def mean_of(stats, key):
    """Our mean for cell ``key`` (experiment, net, method), or None where not run."""
    s = stats.get(key)
    return None if s is None else s.mean


def value_of(stats, key):
    """What a claim compares for cell ``key``: our mean, ``math.inf`` when every seed diverged (worse than any
    number), None where not run."""
    s = stats.get(key)
    return None if s is None else s.mean if s.mean is not None else math.inf if s.diverged else None


def _num(v) -> str:
    return "diverged" if v == math.inf else f"{v:.2f}"


def _name(key):
    """A cell's method as the claims write it: 's1 (aux)' for Experiment 2, 'fa', …"""
    return f"{key[2]} (aux)" if key[0] == "exp2" else key[2]


def _fmt(key, stats):
    s = stats.get(key)
    sd = f" ± {s.sd:.2f}" if s is not None and s.sd is not None else ""
    return f"{_name(key)} {s.mean:.2f}{sd}" if s and s.mean is not None else ""


def share(agree, total, text, evidence, experiments):
    """A claim checked on ``total`` cases, ``agree`` of which bear it out: yes (all), partial (half or more), no."""
    if total == 0:
        return Claim(text, "pending", "no runs yet", experiments)
    verdict = "yes" if agree == total else "partial" if agree >= total / 2 else "no"
    return Claim(text, verdict, f"{agree} of {total}: " + evidence, experiments)


def best_on_tanh_800(stats):
    """The headline claim: s1 (aux) ranks first among the rules on 2x800 tanh. **partial** when it is first by
    less than one seed sd (the larger of its own and the runner-up's) or some of its seeds diverged, or when it is
    not first but within :data:`TOLERANCE` of the first; **no** otherwise."""
    text, on = "s1 with auxiliary errors is best on 2x800 tanh (1.66 %)", ("exp1", "exp2", "baselines")
    keys = [(e, TANH_800, m) for e in ("exp1", "exp2") for m in ex.STRATEGIES] + \
           [("baselines", TANH_800, m) for m in ex.BASELINE_RULES]
    have = [k for k in keys if value_of(stats, k) is not None]
    star = ("exp2", TANH_800, "s1")
    if star not in have:
        return Claim(text, "pending", "2x800 tanh s1 (aux) not run yet", on)
    ranked = sorted(have, key=lambda k: value_of(stats, k))
    place, best = ranked.index(star) + 1, value_of(stats, star)
    verdict = "yes" if place == 1 else "partial" if best - value_of(stats, ranked[0]) <= TOLERANCE else "no"
    but = ""
    if place == 1 and len(ranked) > 1:  # first, but is the lead larger than our seeds' spread?
        lead, sd = value_of(stats, ranked[1]) - best, max(stats[k].sd or 0 for k in ranked[:2])
        if lead < sd:
            verdict, but = "partial", (f", but only {lead:.3f} ahead of {_name(ranked[1])} ({best:.3f} vs "
                                       f"{value_of(stats, ranked[1]):.3f}), less than one seed sd ({sd:.2f})")
    if stats[star].diverged and verdict == "yes":
        verdict, but = "partial", f", but {len(stats[star].diverged)} of its seeds diverged"
    return Claim(text, verdict, f"ours ranks {place} of the {len(have)} methods run so far{but}: "
                 + "; ".join(_fmt(k, stats) for k in ranked), on)


def aux_beats_output(stats):
    pairs = [((("exp2",) + k[1:]), k) for k in stats if k[0] == "exp1" and ("exp2",) + k[1:] in stats]
    vals = [(a, o, value_of(stats, a), value_of(stats, o)) for a, o in pairs]
    vals = [(a, o, va, vo) for a, o, va, vo in vals if None not in (va, vo) and not va == vo == math.inf]
    wins = sum(va < vo for _, _, va, vo in vals)
    return share(wins, len(vals), "auxiliary errors beat the output error",
                  "; ".join(f"{o[1]} {o[2]}: aux {_num(va)} vs {_num(vo)}" for a, o, va, vo in vals), ("exp1", "exp2"))


def strategies_near_dfa_fa(stats):
    rows, agree = [], 0
    for net, _ in [(ex.net_label((784, n, n, 10), a), a) for a in ex.ACTS for n in ex.WIDTHS]:
        ref = [value_of(stats, ("baselines", net, r)) for r in ("fa", "dfa")]
        mine = [value_of(stats, ("exp1", net, s)) for s in ex.STRATEGIES]
        if None in ref or None in mine:
            continue
        agree += max(mine) - min(ref) <= TOLERANCE
        rows.append(f"{net}: worst strategy {_num(max(mine))} vs best of FA/DFA {_num(min(ref))}")
    return share(agree, len(rows), f"the strategies are almost as good as DFA and FA (within {TOLERANCE} points)",
                  "; ".join(rows), ("exp1", "baselines"))


def fa_far_worse_for_families(stats):
    rows, agree = [], 0
    for f in ex.FAMILY_NAMES:
        fa_, dfa_ = (mean_of(stats, ("exp4", TANH_800, f"{r}-{f}")) for r in ("fa", "dfa"))
        if fa_ is None or dfa_ is None:
            continue
        agree += fa_ - dfa_ >= 1.0
        rows.append(f"{f}: FA {fa_:.2f} vs DFA {dfa_:.2f}")
    return share(agree, len(rows), "FA is far worse than DFA for every family of Experiment 4 (by ≥ 1 point)",
                  "; ".join(rows), ("exp4",))


def train_error_below(records):
    """Over the paper's classifier runs (variants and the deep nets beyond the paper are not its claim)."""
    runs = [r for r in records if r.config.head == "softmax" and r.config.experiment in ex.EXPERIMENTS
            and not r.diverged and r.final_train_error is not None]
    below = [r for r in runs if r.final_train_error < 0.01]
    worst = max(runs, key=lambda r: r.final_train_error, default=None)
    return share(len(below), len(runs), "training error < 0.01 % after 100 epochs",
                  f"highest {worst.final_train_error:.3f} % ({worst.config.net_name} {worst.config.label})" if worst else "",
                  ("exp1", "exp2", "exp4", "baselines"))


def _ranked(stats, experiment, net):
    """The auto-encoder rules of ``experiment`` on ``net``, best (lowest ‖x − x̂‖²) first, or None until all ran."""
    means = {r: mean_of(stats, (experiment, net, r)) for r in ex.AE_RULES}
    return None if None in means.values() else sorted(means.items(), key=lambda kv: kv[1])


def _ranking(ranked) -> str:
    """'bp 3.701, s1 5.382, …': a ranking of auto-encoder rules as text."""
    return ", ".join(f"{r} {v:.3f}" for r, v in ranked)


def _auto_encoder_rank(stats, rule, best, text):
    """A claim on the ranking of the auto-encoder rules, checked on each net of Experiment 3; the ranking of a
    variant of Experiment 3 (e.g. 300 epochs) is shown beside it, and never counted."""
    rows, agree = [], 0
    for sizes in ex.AE_SIZES:
        net = ex.net_label(sizes, ex.AE_ACTIVATION, "sigmoid")
        ranked = _ranked(stats, "exp3", net)
        if ranked is None:
            continue
        agree += ranked[0 if best else -1][0] == rule
        rows.append(f"{net}: {_ranking(ranked)}" + "".join(
            f" (variant {name}: {_ranking(other)})"
            for name, v in ex.VARIANTS.items() if v.variant_of == "exp3" and (other := _ranked(stats, name, net))))
    return share(agree, len(rows), text, "; ".join(rows), ("exp3",))


def claims(stats, records) -> list[Claim]:
    """The paper's claims, each with our verdict and evidence."""
    return [best_on_tanh_800(stats), aux_beats_output(stats), strategies_near_dfa_fa(stats),
            fa_far_worse_for_families(stats), train_error_below(records),
            _auto_encoder_rank(stats, "s2", False, "s2 gives the worst auto-encoder"),
            _auto_encoder_rank(stats, "bp", True, "BP gives the best auto-encoder")]


def claims_table(claim_list, header="claim of the paper") -> str:
    """Claims as a markdown table: the claim, our verdict in bold, the evidence."""
    rows = [f"| {c.text} | **{c.verdict}** | {c.evidence} |" for c in claim_list]
    return f"| {header} | verdict | evidence (ours, mean ± sd over seeds) |\n|---|---|---|\n" + "\n".join(rows) + "\n"


def claims_markdown(stats, records, experiment=None) -> str:
    """The claims as a markdown table; with ``experiment``, only those its runs are evidence for, and the
    training-error claim counted over its runs alone."""
    if experiment is not None:
        records = [r for r in records if r.config.experiment == experiment]
    return claims_table([c for c in claims(stats, records) if experiment is None or experiment in c.experiments])


__all__ = ["cell_verdict", "claims", "claims_markdown", "claims_table", "mean_of", "share", "Claim", "TOLERANCE", "PARTIAL"]
