"""The report's tables for the experiments beyond the paper (``experiments.BEYOND``), from the committed runs.

- ``deep``: BP, FA, DFA and s1–s3 (with and without auxiliary errors) generalised to 4x400 and 7x240 tanh;
- ``relatives``: sign symmetry, Kolen–Pollack and direct KP on 2x800 tanh, beside the BP, FA and DFA runs of
  ``baselines`` on the same net.

Test error %, mean ± sd over seeds; the paper has no number for any of these cells.
"""

from __future__ import annotations

from . import experiments as ex
from .results import md_table, ours


def _section(name, table) -> str:
    e = ex.BEYOND[name]
    return f"## {e.title}\n\n{e.note}\n\n{table}"


def deep_table(stats) -> str:
    """One row per deep net, one column per rule the ``deep`` experiment runs (output error first, then the
    strategies with auxiliary errors)."""
    runs = sorted(ex.configs("deep"), key=lambda c: c.aux)  # stable: each group keeps the experiment's order
    nets, methods = (list(dict.fromkeys(c.cell[k] for c in runs)) for k in (1, 2))
    return md_table(["Model"] + methods, [[net] + [ours(stats.get(("deep", net, m))) for m in methods] for net in nets])


def relatives_table(stats) -> str:
    """One row (2x800 tanh): the baselines' BP, FA and DFA, then every rule the ``relatives`` experiment runs."""
    net = ex.net_label(ex.RELATIVES_SIZES, "tanh")
    cells = [("baselines", net, r) for r in ex.BASELINE_RULES]
    cells += list(dict.fromkeys(c.cell for c in ex.configs("relatives")))
    return md_table(["Model"] + [f"{m} ({e})" if e == "baselines" else m for e, _, m in cells],
                    [[net] + [ours(stats.get(c)) for c in cells]])


TABLES = {"deep": deep_table, "relatives": relatives_table}


def markdown(stats) -> str:
    """One section per experiment beyond the paper that has runs (empty when none has)."""
    return "".join(_section(name, make(stats)) + "\n" for name, make in TABLES.items()
                   if any(k[0] == name for k in stats))
