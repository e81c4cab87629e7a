"""The report's tables for the experiments beyond the paper (``experiments.BEYOND``), from the committed runs.

- ``deep``: BP, FA, DFA and s1–s3 (with and without auxiliary errors) generalised to 4x400 and 7x240 tanh;
- ``relatives``: sign symmetry, Kolen–Pollack and direct KP on 2x800 tanh, beside the BP, FA and DFA runs of
  ``baselines`` on the same net.

Test error %, mean ± sd over seeds; the paper has no number for any of these cells. The deep nets also test
three of the paper's claims past two hidden layers (:func:`depth_claims`), with the verdicts of ``verdicts``.
"""

from __future__ import annotations

from . import experiments as ex
from . import grid
from .results import md_table, ours
from .verdicts import TOLERANCE, claims_table, mean_of, share


def _section(name, stats) -> str:
    e, claims = ex.BEYOND[name], CLAIMS.get(name)
    text = f"## {e.title}\n\n{e.note}\n\n{TABLES[name](stats)}"
    if claims:
        text += f"\nThe paper's claims, tested on these deeper nets:\n\n{claims_table(claims(stats), CLAIMS_HEADER)}"
    return text


def deep_table(stats) -> str:
    """One row per deep net, one column per rule the ``deep`` experiment runs (output error first, then the
    strategies with auxiliary errors)."""
    runs = sorted(grid.configs("deep"), key=lambda c: c.aux)  # stable: each group keeps the experiment's order
    nets, methods = (list(dict.fromkeys(c.cell[k] for c in runs)) for k in (1, 2))
    return md_table(["Model"] + methods, [[net] + [ours(stats.get(("deep", net, m))) for m in methods] for net in nets])


def relatives_table(stats) -> str:
    """One row (2x800 tanh): the baselines' BP, FA and DFA, then every rule the ``relatives`` experiment runs."""
    net = ex.net_label(ex.RELATIVES_SIZES, "tanh")
    cells = [("baselines", net, r) for r in ex.BASELINE_RULES]
    cells += list(dict.fromkeys(c.cell for c in grid.configs("relatives")))
    return md_table(["Model"] + [f"{m} ({e})" if e == "baselines" else m for e, _, m in cells],
                    [[net] + [ours(stats.get(c)) for c in cells]])


TABLES = {"deep": deep_table, "relatives": relatives_table}


def _deep_cells():
    """{net: {(rule, aux): cell}} for the runs of ``deep``, read off its configurations."""
    nets = {}
    for c in grid.configs("deep"):
        nets.setdefault(c.cell[1], {})[(c.rule, c.aux)] = c.cell
    return nets


def _line(stats, cell):
    s = stats.get(cell)
    return f"{cell[2]} {s.mean:.2f}" + (f" ± {s.sd:.2f}" if s.sd is not None else "")


def aux_beats_output_deep(stats):
    """Experiment 2's claim on the deep nets: each strategy with auxiliary errors against the output error."""
    rows, wins = [], 0
    for net, cell in _deep_cells().items():
        for s in ex.STRATEGIES:
            aux, out = mean_of(stats, cell[(s, True)]), mean_of(stats, cell[(s, False)])
            if aux is not None and out is not None:
                wins += aux < out
                rows.append(f"{net} {s}: aux {aux:.2f} vs {out:.2f}")
    return share(wins, len(rows), "auxiliary errors beat the output error", "; ".join(rows), ("deep",))


def strategies_near_dfa_fa_deep(stats):
    """Experiment 1's claim on the deep nets: the worst strategy (output error) within ``TOLERANCE`` points of
    the better of FA and DFA."""
    rows, agree = [], 0
    for net, cell in _deep_cells().items():
        ref = [mean_of(stats, cell[(r, False)]) for r in ("fa", "dfa")]
        mine = [mean_of(stats, cell[(s, False)]) for s in ex.STRATEGIES]
        if None not in ref + mine:
            agree += max(mine) - min(ref) <= TOLERANCE
            rows.append(f"{net}: worst strategy {max(mine):.2f} vs best of FA/DFA {min(ref):.2f}")
    return share(agree, len(rows), f"the strategies are almost as good as DFA and FA (within {TOLERANCE} points)",
                 "; ".join(rows), ("deep",))


def s1_aux_best_deep(stats):
    """The headline claim on the deep nets: s1 with auxiliary errors ranks first among the rules that do not
    transport weights (BP's number is quoted beside, not ranked)."""
    rows, agree = [], 0
    for net, cell in _deep_cells().items():
        ranked = sorted((c for k, c in cell.items() if k[0] != "bp" and mean_of(stats, c) is not None),
                        key=lambda c: mean_of(stats, c))
        star, bp = cell[("s1", True)], cell[("bp", False)]
        if star in ranked:
            agree += ranked[0] == star
            rows.append(f"{net}: " + ", ".join(_line(stats, c) for c in ranked)
                        + (f" (BP {mean_of(stats, bp):.2f})" if mean_of(stats, bp) is not None else ""))
    return share(agree, len(rows), "s1 with auxiliary errors is the best rule (BP aside)", "; ".join(rows), ("deep",))


def depth_claims(stats) -> list:
    """Three of the paper's claims, tested on the deep nets."""
    return [s1_aux_best_deep(stats), aux_beats_output_deep(stats), strategies_near_dfa_fa_deep(stats)]


CLAIMS = {"deep": depth_claims}
CLAIMS_HEADER = "claim of the paper, at depth"  # the claims tables' first column, in the report and the book


def markdown(stats) -> str:
    """One section per experiment beyond the paper that has runs (empty when none has)."""
    return "".join(_section(name, stats) + "\n" for name in TABLES if any(k[0] == name for k in stats))
