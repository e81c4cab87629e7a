"""Error-transport schematics (the paper's Figures 1-3), drawn with matplotlib from the rules themselves.

    fa_lab.schematics.figure1()                 # left: BP/FA/DFA/LAFS paths; right: the general rule (eq. 4)
    fa_lab.schematics.draw_rules(["s1", "s2", "s3"])          # Figure 2
    fa_lab.schematics.draw_rules(["s1", "s2", "s3"], aux=True)  # Figure 3

Colours follow the paper: forward pass grey, back-propagation black, FA-type (through a fixed
matrix from a neighbour) red, DFA-type (direct from the error) orange, LAFS/auxiliary blue.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from ..core.rules import Rule, get_rule, superscript

COLOURS = {"forward": "0.6", "bp": "black", "fa": "tab:red", "dfa": "tab:orange", "lafs": "tab:blue"}


def _box(ax, x, y, text, w=1.0, h=0.42, colour="white", edge="black", fontsize=10):
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.03", fc=colour, ec=edge, lw=1.2))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, p, q, colour, rad=0.0, style="-|>", ls="-", lw=1.6, label=None, label_xy=None, fontsize=9):
    ax.add_patch(FancyArrowPatch(p, q, arrowstyle=style, mutation_scale=12, color=colour, lw=lw, ls=ls,
                                 connectionstyle=f"arc3,rad={rad}", shrinkA=2, shrinkB=2))
    if label:
        lx, ly = label_xy or ((p[0] + q[0]) / 2, (p[1] + q[1]) / 2)
        ax.text(lx, ly, label, color=colour, fontsize=fontsize, ha="center", va="center",
                bbox=dict(fc="white", ec="none", pad=0.5))


def _frame(ax, title):
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=11)


def _stack(ax, x, n_hidden=2, top="e = ŷ − y", y0=0.0, dy=1.3):
    """Boxes x=h⁰, h¹..h^n, output; returns their y coordinates (index 0 = input)."""
    ys = [y0 + k * dy for k in range(n_hidden + 2)]
    names = ["x = h⁰"] + [f"h{superscript(k)}" for k in range(1, n_hidden + 1)] + [top]
    for k, (yy, name) in enumerate(zip(ys, names)):
        _box(ax, x, yy, name, colour="#f3f3f3" if k in (0, n_hidden + 1) else "white")
    for a, b in zip(ys[:-1], ys[1:]):
        _arrow(ax, (x, a + 0.22), (x, b - 0.22), COLOURS["forward"], lw=1.2)
    return ys



def figure1(n_hidden=2):
    """The paper's Figure 1: left, error transport of BP, FA, DFA and LAFS; right, the general rule (eq. 4)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 5.2), gridspec_kw={"width_ratios": [1.25, 1]})
    _frame(left, "Error transport in BP, FA, DFA and LAFS")
    ys = _stack(left, 0.0, n_hidden)
    top = ys[-1]
    for k in range(n_hidden, 0, -1):  # BP (black) and FA (red) walk down one layer at a time
        a, b = ys[k + 1], ys[k]
        _arrow(left, (-0.55, a - 0.1), (-0.55, b + 0.1), COLOURS["bp"], rad=0.35,
               label=f"(W{superscript(k + 1)})ᵀ", label_xy=(-0.98, (a + b) / 2))
        _arrow(left, (0.55, a - 0.1), (0.55, b + 0.1), COLOURS["fa"], rad=-0.35,
               label=f"B̃{superscript(k)}", label_xy=(0.95, (a + b) / 2))
    for k in range(1, n_hidden + 1):  # DFA (orange): straight from e to every hidden layer
        _arrow(left, (1.6, top), (0.52, ys[k]), COLOURS["dfa"], rad=-0.15 * k,
               label=f"B{superscript(k)}e", label_xy=(1.85 - 0.25 * k, (top + ys[k]) / 2 - 0.25 * (n_hidden - k)))
    for k in range(1, n_hidden + 1):  # LAFS (blue): each layer's own auxiliary output
        _box(left, -2.2, ys[k], f"ŷ{superscript(k)} = softmax((B{superscript(k)})ᵀh{superscript(k)})", w=2.1, colour="#e8f0fb",
             edge=COLOURS["lafs"], fontsize=8)
        _arrow(left, (-0.5, ys[k] + 0.05), (-1.15, ys[k] + 0.05), COLOURS["lafs"], lw=1.2)
        _arrow(left, (-1.15, ys[k] - 0.12), (-0.5, ys[k] - 0.12), COLOURS["lafs"], ls="--", lw=1.2,
               label=f"B{superscript(k)}e{superscript(k)}", label_xy=(-0.85, ys[k] - 0.35), fontsize=8)
    _box(left, 1.6, top, "e", w=0.4, colour="#fff1dc", edge=COLOURS["dfa"])
    handles = [plt.Line2D([], [], color=COLOURS[k], lw=2, label=n) for k, n in
               (("bp", "BP"), ("fa", "FA"), ("dfa", "DFA"), ("lafs", "LAFS"), ("forward", "forward pass"))]
    left.legend(handles=handles, loc="lower right", fontsize=8, frameon=False)
    left.set_xlim(-3.4, 2.4)
    left.set_ylim(-0.5, ys[-1] + 0.6)

    _frame(right, "The general rule (eq. 4) at layer i")
    _box(right, 0, 0, "δaⁱ = F(uⁱ⁻¹, uⁱ, uⁱ⁺¹) ⊙ f′(aⁱ)", w=3.0, h=0.55)
    _box(right, 0, 1.9, "layer i+1: δaⁱ⁺¹", w=1.8)
    _box(right, 0, -1.9, "layer i−1: δaⁱ⁻¹", w=1.8)
    _box(right, 2.3, 1.0, "eⁱ (output e\nor auxiliary)", w=1.5, h=0.6, colour="#fff1dc", edge=COLOURS["dfa"])
    _arrow(right, (-0.3, 1.68), (-0.3, 0.3), COLOURS["fa"], label="uⁱ⁺¹ = B̃ⁱ δaⁱ⁺¹", label_xy=(-1.35, 1.0))
    _arrow(right, (-0.3, -1.68), (-0.3, -0.3), COLOURS["fa"], label="uⁱ⁻¹ = B̄ⁱ δaⁱ⁻¹", label_xy=(-1.35, -1.0))
    _arrow(right, (2.0, 0.7), (0.9, 0.3), COLOURS["dfa"], label="uⁱ = Bⁱ eⁱ", label_xy=(1.85, 0.3))
    right.text(0, -2.75, "F: element-wise mean of the terms a layer uses;\n"
                         "B̃ⁱ = (Wⁱ⁺¹)ᵀ recovers back-propagation", ha="center", fontsize=9, color="0.3")
    right.set_xlim(-2.6, 3.2)
    right.set_ylim(-3.2, 2.5)
    fig.tight_layout()
    return fig


def draw_rule(rule, ax=None, aux=False, n_hidden=2):
    """Draw one rule's error transport (Figures 2 and 3): orange = from the error (DFA-type), red = from a
    neighbour (FA-type), dashed = the neighbour's DFA-only delta δã, black = through Wᵀ (BP)."""
    if not isinstance(rule, Rule):
        base = get_rule(rule, n_hidden)
        rule = get_rule(rule, n_hidden, aux) if aux and base.uses_direct_errors else base  # bp/fa: no aux errors
    n = rule.n_hidden
    if ax is None:
        _, ax = plt.subplots(figsize=(3.4, 1.2 * n + 2.2))
    _frame(ax, rule.name)
    ys = _stack(ax, 0.0, n, top="e")
    for i, terms in enumerate(rule.layers):
        y = ys[i + 1]
        if rule.aux and rule.uses_direct_errors:
            _box(ax, 1.9, y, f"e{superscript(i + 1)}", w=0.45, colour="#e8f0fb", edge=COLOURS["lafs"])
        for t in terms:
            if t.source == "direct":
                src = (1.67, y) if rule.error == "auxiliary" else (0.5, ys[-1])
                rad = 0.0 if rule.error == "auxiliary" else -0.25 - 0.1 * (n - 1 - i)
                start = src if rule.error == "auxiliary" else (0.5, ys[-1] - 0.05)
                _arrow(ax, start, (0.5, y + 0.05), COLOURS["dfa"], rad=rad)
            else:
                j = i + 1 if t.source == "above" else i - 1
                colour = COLOURS["bp"] if t.via == "weights" else COLOURS["fa"]
                up = t.source == "below"
                p = (-0.5, ys[j + 1] + (0.1 if up else -0.1))
                q = (-0.5, y + (-0.1 if up else 0.1))
                _arrow(ax, p, q, colour, rad=-0.9 if up else 0.45, ls="--" if t.tilde else "-",
                       label=("δã" if t.tilde else "δa") + ("↑" if up else "↓"),
                       label_xy=(-1.45 if up else -0.95, (ys[j + 1] + y) / 2), fontsize=8)
    ax.set_xlim(-2.0, 2.4)
    ax.set_ylim(-0.5, ys[-1] + 0.5)
    return ax


def draw_rules(rules=("s1", "s2", "s3"), aux=False, n_hidden=2):
    """Several rules side by side (Figure 2; Figure 3 with ``aux=True``)."""
    fig, axes = plt.subplots(1, len(rules), figsize=(3.3 * len(rules), 1.2 * n_hidden + 2.4))
    for r, ax in zip(rules, axes if len(rules) > 1 else [axes]):
        draw_rule(r, ax, aux=aux, n_hidden=n_hidden)
    fig.tight_layout()
    return fig
