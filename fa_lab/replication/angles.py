"""The alignment diagnostics of committed runs as tables: why each rule learns, at epochs 1, 10 and 100.

Every run since the diagnostics were added records, after every epoch and per hidden layer
(:mod:`fa_lab.core.alignment`): the angle of the rule's δWⁱ to BP's gradient on a fixed probe batch, and the angle
between the feedback the layer uses and what BP would use there (∠(B̃ⁱ, (Wⁱ⁺¹)ᵀ) for FA, ∠(Bⁱ, (Wⁱ⁺¹)ᵀ⋯(Wˡ)ᵀ) for
DFA-type terms). This module averages them over seeds per (experiment, net, method) and tabulates the chosen
epochs; ``REPLICATION.md`` and book chapter 14 show the tables.
"""

from __future__ import annotations

from .results import mean_sd

EPOCHS = (1, 10, 100)


def _at(record, epoch, layer, field):
    """One diagnostic of one hidden layer (0-based) after ``epoch`` (None if not recorded)."""
    rows = record.alignment
    if not rows or epoch >= len(rows) or layer >= len(rows[epoch]):
        return None
    return rows[epoch][layer].get(field)


def rows(records, epochs=EPOCHS):
    """{(experiment, net, method): {"n": seeds, (field, layer, epoch): mean over seeds}} for every classifier
    cell whose runs recorded alignment (``field``: "angle" to BP's δW or "feedback_angle")."""
    cells = {}
    for r in records:
        if r.alignment and r.config.head == "softmax" and not r.diverged:
            cells.setdefault(r.config.cell, []).append(r)
    out = {}
    for key, recs in sorted(cells.items()):
        hidden = len(recs[0].config.sizes) - 2
        row = {"n": len(recs)}
        for field in ("angle", "feedback_angle"):
            for layer in range(hidden):
                for e in epochs:
                    vals = [v for v in (_at(r, e, layer, field) for r in recs) if v is not None]
                    row[field, layer, e] = mean_sd(vals)[0]
        out[key] = row
    return out


def _deg(v):
    return "—" if v is None else f"{v:.0f}°"


def table(records, epochs=EPOCHS) -> str:
    """Markdown: one row per cell, ∠(δWⁱ, BP) and ∠(feedback, BP's) per hidden layer at each of ``epochs``;
    one table per depth, so that a deep net's columns do not widen the two-layer nets' table."""
    by_depth = {}
    for key, row in rows(records, epochs).items():
        by_depth.setdefault(len(_layers(row)), {})[key] = row
    return "\n".join(_table(data, hidden, epochs) for hidden, data in sorted(by_depth.items()))


def _table(data, hidden, epochs) -> str:
    header = ["experiment", "net", "method", "n"]
    for field, name in (("angle", "∠(δW{}, BP)"), ("feedback_angle", "∠(feedback{}, BP's)")):
        header += [name.format(i + 1) + f" @ {'/'.join(map(str, epochs))}" for i in range(hidden)]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for (exp, net, method), row in data.items():
        cells = [exp, net, method, str(row["n"])]
        for field in ("angle", "feedback_angle"):
            cells += [" / ".join(_deg(row.get((field, i, e))) for e in epochs) for i in range(hidden)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _layers(row):
    return {k[1] for k in row if isinstance(k, tuple)}


def markdown(records) -> str:
    """The report's section (empty when no run recorded the diagnostics)."""
    text = table(records)
    if not text:
        return ""
    return ("## Why the rules learn: alignment at epochs " + ", ".join(map(str, EPOCHS)) + "\n\n"
            "Mean over seeds of the angle between each rule's δWⁱ and BP's gradient on a fixed probe batch, and "
            "between the feedback a layer uses and what BP would use there (— for BP itself, and where a run has "
            "not recorded that epoch). Only runs made since the diagnostics exist record them. Late in training the "
            "probe batch is fitted and both updates shrink towards zero, so late angles can be noise (90° where an "
            "update vanishes, as in the relu baselines at epoch 100).\n\n" + text + "\n")
