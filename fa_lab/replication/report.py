"""``python -m fa_lab report``: paper vs ours for Tables 2, 3, 4, the baselines, Experiment 3, figures 4–8.

Outputs (``base`` = ``<results>`` for the full protocol, ``<results>/quick`` for ``--quick``):

- ``base/replication.csv`` — one row per paper cell, columns :data:`COLUMNS` (blank where not yet run);
- ``base/tables/{table2,table3,table4,baselines,exp3}.{md,csv}``;
- ``base/figures/fig{4,5,6,7,8}_*.png``;
- ``REPLICATION.md`` (beside the results folder for the full protocol, in ``base`` for quick).

"ours" is the mean ± sample sd over seeds of the final (epoch-100) test error; diverged runs are
listed, never averaged. A malformed result file is reported with a warning line and skipped.
"""

from __future__ import annotations

import csv
import io
import math
import os
import sys
from pathlib import Path

from . import experiments as ex
from . import results as rs

PAPER_CSV = Path(__file__).with_name("paper_tables.csv")
COLUMNS = ("table", "experiment", "model", "activation", "method", "paper", "ours_mean", "ours_sd", "n_seeds",
           "train_error_final")
TABLE_EXPERIMENT = {"2": "exp1", "3": "exp2", "4": "exp4"}
TABLE_TITLES = {"2": "Table 2 — Experiment 1 (output error e), test error %",
                "3": "Table 3 — Experiment 2 (auxiliary LAFS errors eⁱ), test error %",
                "4": "Table 4 — Experiment 4 (feedback families B1–B7), 2x800 tanh, test error %"}


# ---------------------------------------------------------------------------------------------- numbers
def paper_rows() -> list[dict]:
    """The paper's cells (Tables 2, 3, 4) as shipped in fa_lab/paper_tables.csv."""
    with open(PAPER_CSV, newline="") as f:
        return list(csv.DictReader(f))


def _mean_sd(values):
    n = len(values)
    if n == 0:
        return None, None
    m = sum(values) / n
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1)) if n > 1 else None
    return m, sd


def summarize(records) -> dict:
    """{(experiment, model, activation, method): stats} over seeds, stats = mean, sd, n, train (mean final
    training error), diverged (list of run ids), seeds."""
    groups = {}
    for r in records:
        c = r["config"]
        groups.setdefault((c["experiment"], r["model"], c["activation"], r["method"]), []).append(r)
    out = {}
    for key, recs in groups.items():
        ok = [r for r in recs if not r.get("diverged") and r.get("final_test_error") is not None]
        m, sd = _mean_sd([r["final_test_error"] for r in ok])
        tr = [r["final_train_error"] for r in ok if r.get("final_train_error") is not None]
        out[key] = {"mean": m, "sd": sd, "n": len(ok), "train": _mean_sd(tr)[0],
                    "diverged": [r["run_id"] for r in recs if r.get("diverged")],
                    "seeds": sorted(r["config"]["seed"] for r in ok)}
    return out


def _num(v, digits=4):
    return "" if v is None else f"{v:.{digits}f}"


def replication_rows(records) -> list[dict]:
    """One row per paper cell with our numbers beside it (blank where not run)."""
    stats = summarize(records)
    rows = []
    for p in paper_rows():
        s = stats.get((TABLE_EXPERIMENT[p["table"]], p["model"], p["activation"], p["method"]), {})
        rows.append({"table": p["table"], "experiment": p["experiment"], "model": p["model"],
                     "activation": p["activation"], "method": p["method"], "paper": p["test_error_pct"],
                     "ours_mean": _num(s.get("mean")), "ours_sd": _num(s.get("sd")),
                     "n_seeds": s.get("n", 0) or "", "train_error_final": _num(s.get("train"))})
    return rows


def _csv_text(rows, columns) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------- markdown
def _ours(s, digits=2):
    if not s or s.get("mean") is None:
        return "diverged" if s and s.get("diverged") else "—"
    text = f"{s['mean']:.{digits}f}"
    if s.get("sd") is not None:
        text += f" ± {s['sd']:.{digits}f}"
    return text + f" (n={s['n']})"


def _diff(s, paper):
    if not s or s.get("mean") is None:
        return "—"
    return f"{s['mean'] - float(paper):+.2f}"


def _md_table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(map(str, r)) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _classifier_models():
    for act in ex.ACTS:
        for n in ex.WIDTHS:
            yield f"2x{n} {dict(tanh='Tanh', relu='Relu', sigmoid='Sigm')[act]}", act


def table_strategies(stats, paper, table) -> str:
    """Tables 2/3 in the paper's layout: per model s1, s2, s3 (paper, ours, Δ), then our BP/FA/DFA baselines."""
    exp = TABLE_EXPERIMENT[table]
    header = ["Model"] + [f"{s} {h}" for s in ex.STRATEGIES for h in ("paper", "ours", "Δ")] + \
             [f"{b.upper()} (ours)" for b in ex.BASELINE_RULES]
    rows = []
    for model, act in _classifier_models():
        row = [model]
        for s in ex.STRATEGIES:
            p = paper.get((table, model, s))
            st = stats.get((exp, model, act, s))
            row += [p or "—", _ours(st), _diff(st, p) if p else "—"]
        row += [_ours(stats.get(("baselines", model, act, b))) for b in ex.BASELINE_RULES]
        rows.append(row)
    return _md_table(header, rows)


def table_families(stats, paper) -> str:
    """Table 4 transposed (one row per family), our uniform-feedback FA/DFA baselines as the last row."""
    header = ["B"] + [f"{r.upper()} {h}" for r in ex.EXP4_RULES for h in ("paper", "ours", "Δ")]
    rows = []
    for f in ex.FAMILY_NAMES:
        row = [f]
        for rule in ex.EXP4_RULES:
            p = paper.get(("4", "2x800 Tanh", f"{rule}-{f}"))
            st = stats.get(("exp4", "2x800 Tanh", "tanh", f"{rule}-{f}"))
            row += [p or "—", _ours(st), _diff(st, p) if p else "—"]
        rows.append(row)
    row = ["U(−½,½) (baselines)"]
    for rule in ex.EXP4_RULES:
        row += ["—", _ours(stats.get(("baselines", "2x800 Tanh", "tanh", rule))), "—"]
    rows.append(row)
    return _md_table(header, rows)


def table_exp3(stats) -> str:
    header = ["Auto-encoder"] + list(ex.AE_RULES)
    rows = []
    for sizes in ex.AE_SIZES:
        model = "-".join(map(str, sizes))
        sts = {k[3]: v for k, v in stats.items() if k[0] == "exp3" and k[1] == model}
        rows.append([model] + [_ours(sts.get(r), 3) for r in ex.AE_RULES])
    return _md_table(header, rows)


def _plain_rows(stats, experiment):
    return [{"experiment": k[0], "model": k[1], "activation": k[2], "method": k[3], "ours_mean": _num(v["mean"]),
             "ours_sd": _num(v["sd"]), "n_seeds": v["n"] or "", "train_error_final": _num(v["train"]),
             "diverged": len(v["diverged"])} for k, v in sorted(stats.items()) if k[0] == experiment]


# ---------------------------------------------------------------------------------------------- figures
def _save(fig, path):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    rs.atomic_write_bytes(path, buf.getvalue())


def make_figures(records, out_dir) -> dict:
    """Figures 4, 5, 8 (curves), 6 (reconstructions), 7 (first-layer weights); returns {name: path}."""
    from matplotlib.figure import Figure

    from ..teaching import plots

    out_dir = Path(out_dir)
    made = {}
    big = dict(sizes=(784, 800, 800, 10), activation="tanh")
    for name, exp, title in (("fig4_exp1_2x800_tanh", "exp1", "Figure 4: Experiment 1, 2x800 tanh"),
                             ("fig5_exp2_2x800_tanh", "exp2", "Figure 5: Experiment 2 (aux errors), 2x800 tanh")):
        recs = rs.select(records, experiment={exp, "baselines"}, **big)
        fig = Figure(figsize=(6.5, 4.2))
        plots.curves(recs, ax=fig.subplots(), title=title)
        _save(fig, out_dir / f"{name}.png")
        made[name] = out_dir / f"{name}.png"
    fig = Figure(figsize=(12, 4.4))
    axes = fig.subplots(1, 2)
    for ax, rule in zip(axes, ("dfa", "fa")):
        recs = rs.select(records, experiment="exp4", rule=rule) + rs.select(records, experiment="baselines", rule=rule,
                                                                          **big)
        plots.curves(recs, ax=ax, title=f"{rule.upper()}: B1–B7 and uniform U(−½,½)")
    fig.suptitle("Figure 8: 2x800 tanh, feedback families (Experiment 4)")
    _save(fig, out_dir / "fig8_exp4_families.png")
    made["fig8_exp4_families"] = out_dir / "fig8_exp4_families.png"
    for sizes in ex.AE_SIZES:
        model = "-".join(map(str, sizes))
        recs = rs.select(records, experiment="exp3", sizes=sizes)
        fig = plots.reconstructions(recs, fig=Figure(figsize=(8, 6)), title=f"Figure 6: reconstructions, {model}")
        _save(fig, out_dir / f"fig6_reconstructions_{model}.png")
        made[f"fig6_{model}"] = out_dir / f"fig6_reconstructions_{model}.png"
        fig = plots.weights(recs, fig=Figure(figsize=(11, 2.8)), title=f"Figure 7: first-layer weights, {model}")
        _save(fig, out_dir / f"fig7_weights_{model}.png")
        made[f"fig7_{model}"] = out_dir / f"fig7_weights_{model}.png"
    return made


# ---------------------------------------------------------------------------------------------- report
def _settings_text(protocol, records=()):
    """The protocol as run (from the records' configs; the protocol's defaults when there are none)."""
    if records:
        keys = ("epochs", "batch_size", "lr", "n_train", "n_test")
        vals = {k: sorted({r["config"][k] for r in records}, key=str) for k in keys}
        s = {k: v[0] if len(v) == 1 else "/".join(map(str, v)) for k, v in vals.items()}
    else:
        s = ex.protocol_settings(protocol)
    data = "all 60 000 / 10 000" if s["n_train"] is None else f"first {s['n_train']} / {s['n_test'] or 'all'}"
    return (f"{s['epochs']} epochs, batch size {s['batch_size']}, lr {s['lr']} on the summed batch update, "
            f"MNIST train/test examples: {data}")


def current_records(records, protocol):
    """(records run with the protocol's current settings, the others): a changed batch size, say,
    makes older results stale; they are never mixed into the tables."""
    want = ex.protocol_settings(protocol)
    keep, stale = [], []
    for r in records:
        (keep if all(r["config"].get(k) == v for k, v in want.items()) else stale).append(r)
    return keep, stale


def report(results_dir=rs.DEFAULT_DIR, protocol="full", markdown=None, figures=True, warn=None) -> dict:
    """Write every output listed in the module docstring; returns {name: path}."""
    if protocol not in rs.PROTOCOLS:
        from ..core.errors import FaLabError

        raise FaLabError(f"unknown protocol {protocol!r}; valid choices: {', '.join(rs.PROTOCOLS)}")
    results_dir = Path(results_dir)
    warnings = []

    def _warn(line):
        warnings.append(line)
        (warn or (lambda s: print(s, file=sys.stderr)))(line)

    records, stale = current_records(rs.load_results(results_dir, protocol, warn=_warn), protocol)
    if stale:
        _warn(f"fa_lab: warning: ignoring {len(stale)} result files run with other protocol settings than the "
              f"current {protocol} protocol ({_settings_text(protocol)}), e.g. {stale[0]['path']}")
    base = results_dir if protocol == "full" else results_dir / "quick"
    md_path = Path(markdown) if markdown else (results_dir.resolve().parent / "REPLICATION.md" if protocol == "full"
                                               else base / "REPLICATION.md")
    stats = summarize(records)
    paper = {(p["table"], p["model"], p["method"]): p["test_error_pct"] for p in paper_rows()}
    rows = replication_rows(records)
    out = {"replication.csv": base / "replication.csv"}
    rs.atomic_write_bytes(out["replication.csv"], _csv_text(rows, COLUMNS).encode())

    tables = {"table2": table_strategies(stats, paper, "2"), "table3": table_strategies(stats, paper, "3"),
              "table4": table_families(stats, paper), "exp3": table_exp3(stats)}
    plain_cols = ("experiment", "model", "activation", "method", "ours_mean", "ours_sd", "n_seeds",
                  "train_error_final", "diverged")
    for t in ("2", "3", "4"):
        rs.atomic_write_bytes(base / "tables" / f"table{t}.csv",
                              _csv_text([r for r in rows if r["table"] == t], COLUMNS).encode())
    for name in ("baselines", "exp3"):
        rs.atomic_write_bytes(base / "tables" / f"{name}.csv",
                              _csv_text(_plain_rows(stats, name), plain_cols).encode())
    for name, text in tables.items():
        rs.atomic_write_bytes(base / "tables" / f"{name}.md", text.encode())
        out[f"{name}.md"] = base / "tables" / f"{name}.md"
    figs = make_figures(records, base / "figures") if figures else {}
    out.update(figs)
    text = _markdown(records, stats, tables, figs, rows, warnings, protocol, results_dir, md_path)
    rs.atomic_write_bytes(md_path, text.encode())
    out["REPLICATION.md"] = md_path
    print(f"report [{protocol}]: {len(records)} runs, {sum(1 for r in rows if r['ours_mean'])}/{len(rows)} paper cells "
          f"filled -> {out['replication.csv']}, {md_path}" + (f" ({len(warnings)} warnings, see above)"
                                                               if warnings else ""), flush=True)
    return out


def _compute_line(records) -> str:
    """Total wall time of the lockstep passes behind the records, and where they ran."""
    passes = {tuple(r.get("group") or [r["run_id"]]): r for r in records}
    hours = sum(r.get("wall_time_s") or 0 for r in passes.values()) / 3600
    where = sorted({f"{r.get('device', '?')} on {r.get('host', {}).get('cpu', '?')}" for r in records})
    return (f"Compute: {len(passes)} lockstep passes, {hours:.2f} h of wall time in total"
            + (f" ({'; '.join(where)})" if where else "") + ".")


def _markdown(records, stats, tables, figs, rows, warnings, protocol, results_dir, md_path) -> str:
    rel = lambda p: os.path.relpath(p, md_path.parent)  # noqa: E731
    filled = [r for r in rows if r["ours_mean"]]
    diffs = [float(r["ours_mean"]) - float(r["paper"]) for r in filled]
    quick = " --quick" if protocol == "quick" else ""
    res = "" if str(results_dir) == rs.DEFAULT_DIR else f" --results {results_dir}"
    lines = [
        "# Replication report" + (" (quick protocol: a smoke run, NOT a replication)" if protocol == "quick" else ""),
        "",
        "_Generated by `python -m fa_lab report` — do not edit by hand._",
        "",
        f"Protocol `{protocol}`: {_settings_text(protocol, records)}. Runs found: {len(records)}; paper cells with our "
        f"numbers: {len(filled)}/{len(rows)}"
        + (f"; mean difference ours − paper {sum(diffs) / len(diffs):+.2f} points, mean |difference| "
           f"{sum(map(abs, diffs)) / len(diffs):.2f}" if diffs else "") + ".",
        "",
        _compute_line(records),
        "",
        "## How to reproduce",
        "",
        "```",
        f"python -m fa_lab replicate all{quick} --seeds 0,1,2{res}   # resumable: rerun after a kill",
        f"python -m fa_lab report{quick}{res}",
        "```",
        "",
        "`--jobs N` trains N lockstep groups in parallel processes; `--device cuda` uses a GPU; "
        "`--dry-run` lists what is still to do. On a CPU add `--jobs 2 --max-group-size 1` (one model per "
        "process: at batch 16 lockstep is slower there, docs/benchmarks.md); on a GPU lockstep groups are the "
        "fast path. Each run is one JSON file "
        f"`{results_dir}/{protocol}/<experiment>/<run_id>.json` (config, per-epoch errors, versions, git commit, "
        "host); the run id ends in a hash of the full config.",
        "",
        "## Choices where the paper is silent",
        "",
        f"- Batch size {ex.protocol_settings('full')['batch_size']}, lr 0.001 applied to the summed (not averaged) "
        "mini-batch update (see README).",
        f"- Experiment 3 hidden activation: `{ex.AE_ACTIVATION}` (parameter `--ae-activation`); error measure: mean "
        "‖x − x̂‖² per test image.",
        "- Experiment 2 auxiliary logits aⁱₓ = (Bⁱ)ᵀhⁱ (Gilmer et al.'s LAFS reading; the paper's (Bⁱ)ᵀhⁱ⁻¹ does not "
        "fit the shapes).",
        "- Experiment 4 noise N(0, 0.01) read as standard deviation 0.01; sparse families B4/B6 density 0.1.",
        "- \"ours\" = mean ± sample sd over seeds of the final-epoch test error (n = seeds); Δ = ours − paper. "
        "BP/FA/DFA are our baselines on the same nets (the paper shows them only as curves).",
        "",
    ]
    for key, title in (("table2", TABLE_TITLES["2"]), ("table3", TABLE_TITLES["3"]), ("table4", TABLE_TITLES["4"]),
                       ("exp3", "Experiment 3 — auto-encoders, final mean ‖x − x̂‖² per test image (paper: figures only)")):
        lines += [f"## {title}", "", tables[key], ""]
    high = [r for r in records if (r.get("final_train_error") or 0) >= 0.01 and r["config"]["head"] == "softmax"
            and not r.get("diverged")]
    lines += ["## Training error at the last epoch", "",
              f"The paper reports training error < 0.01 % at epoch 100. Classifier runs above 0.01 %: {len(high)} of "
              f"{sum(1 for r in records if r['config']['head'] == 'softmax')} (see `train_error_final` in "
              f"`{rel(results_dir / 'replication.csv' if protocol == 'full' else results_dir / 'quick' / 'replication.csv')}`).", ""]
    div = [r for r in records if r.get("diverged")]
    if div:
        lines += ["## Diverged runs", ""] + [f"- `{r['run_id']}`: {r['diverged']}" for r in div] + [""]
    if warnings:
        lines += ["## Skipped result files", ""] + [f"- {w}" for w in warnings] + [""]
    if figs:
        lines += ["## Figures", ""] + [f"![{name}]({rel(path)})" for name, path in figs.items()] + [""]
    return "\n".join(lines)
