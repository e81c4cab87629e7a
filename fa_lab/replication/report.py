"""The replication report: our numbers beside the paper's for Tables 2, 3, 4, the baselines and Experiment 3.

Writes (``base`` = ``<results>`` for the full protocol, ``<results>/quick`` for ``--quick``):

- ``base/replication.csv`` — one row per paper cell, columns :data:`COLUMNS` (blank where not yet run);
- ``base/tables/{table2,table3,table4,baselines,exp3}.{md,csv}``;
- ``REPLICATION.md`` (beside the results folder for the full protocol, in ``base`` for quick), from the
  template ``REPLICATION.template.md`` filled with the real constants of the protocol.

The figures (``base/figures``, :data:`~fa_lab.replication.paper.FIGURES`) are drawn by the teaching
layer (:func:`fa_lab.teaching.plots.save_figures`); the report links the ones it finds.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from pathlib import Path
from string import Template

from ..core import feedback
from ..core.errors import FaLabError, choose
from ..core.rules import label
from . import angles, beyond, deviations
from . import evidence as ev
from . import experiments as ex
from . import grid
from . import paper
from . import results as rs
from .results import md_table, ours
from .verdicts import PARTIAL, TOLERANCE, claims_markdown
from .verdicts import cell_verdict as verdict

COLUMNS = ("table", "experiment", "model", "activation", "method", "paper", "ours_mean", "ours_sd", "n_seeds",
           "n_diverged", "delta", "verdict", "train_error_final", "cause", "ran_on")
TEMPLATE = Path(__file__).with_name("REPLICATION.template.md")


# ---------------------------------------------------------------------------------------------- cells
def _num(v, digits=4):
    return "" if v is None else f"{v:.{digits}f}"


def ran_on(records) -> str:
    """Where each seed of a cell ran: '0 cpu (1 thread); 1 NVIDIA H200' (GPU and CPU runs differ in the last bits)."""
    where = lambda r: r.device_name or (f"{r.device} ({r.threads} thread{'s' * (r.threads != 1)})"  # noqa: E731
                                        if r.threads else r.device)
    return "; ".join(f"{r.config.seed} {where(r)}" for r in sorted(records, key=lambda r: r.config.seed))


def replication_rows(stats) -> list[dict]:
    """One row per paper cell with our numbers and the verdict beside it (blank where not run)."""
    rows = []
    for c in paper.cells():
        s = stats.get(c.key)
        mean = s.mean if s else None
        rows.append({"table": c.table, "experiment": c.experiment, "model": c.net, "activation": c.activation,
                     "method": c.method, "paper": f"{c.test_error:.2f}", "ours_mean": _num(mean),
                     "ours_sd": _num(s.sd if s else None), "n_seeds": (s.n if s else 0) or "",
                     "n_diverged": (len(s.diverged) if s else 0) or "",
                     "delta": _num(None if mean is None else mean - c.test_error), "verdict": verdict(s, c.test_error),
                     "train_error_final": _num(s.train if s else None), "cause": deviations.cause_of(c, s),
                     "ran_on": ran_on(s.records if s else [])})
    return rows


def _csv_text(rows, columns) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------- markdown tables
def _beside(s, p):
    """[paper, ours, Δ, verdict] cells of one method."""
    if p is None:
        return ["—", ours(s), "—", ""]
    return [f"{p:.2f}", ours(s), "—" if not s or s.mean is None else f"{s.mean - p:+.2f}", verdict(s, p)]


def table_strategies(stats, experiment) -> str:
    """Tables 2/3 in the paper's layout: per net s1, s2, s3 (paper, ours, Δ, verdict), then our baselines."""
    header = ["Model"] + [f"{s} {h}" for s in ex.STRATEGIES for h in ("paper", "ours", "Δ", "verdict")] + \
             [f"{b.upper()} (ours)" for b in ex.BASELINE_RULES]
    rows = []
    for net in (ex.net_label(sizes, act) for sizes, act in ex.classifiers()):
        row = [net]
        for s in ex.STRATEGIES:
            row += _beside(stats.get((experiment, net, s)), paper.number(experiment, net, s))
        rows.append(row + [ours(stats.get(("baselines", net, b))) for b in ex.BASELINE_RULES])
    return md_table(header, rows)


def table_families(stats) -> str:
    """Table 4 transposed (one row per family), our uniform-feedback FA/DFA baselines as the last row."""
    header = ["B"] + [f"{r.upper()} {h}" for r in ex.EXP4_RULES for h in ("paper", "ours", "Δ", "verdict")]
    net = ex.net_label((784, 800, 800, 10), "tanh")
    rows = []
    for f in ex.FAMILY_NAMES:
        row = [f]
        for rule in ex.EXP4_RULES:
            method = label(rule, f)
            row += _beside(stats.get(("exp4", net, method)), paper.number("exp4", net, method))
        rows.append(row)
    rows.append(["U(−½,½) (baselines)"] + [x for r in ex.EXP4_RULES for x in ("—", ours(stats.get(("baselines", net, r))),
                                                                            "—", "")])
    return md_table(header, rows)


def table_exp3(stats) -> str:
    nets = [ex.net_label(s, ex.AE_ACTIVATION, "sigmoid") for s in ex.AE_SIZES]
    rows = [[net] + [ours(stats.get(("exp3", net, r)), 3) for r in ex.AE_RULES] for net in nets]
    return md_table(["Auto-encoder"] + list(ex.AE_RULES), rows)


def _plain_rows(stats, experiment):
    return [{"experiment": k[0], "model": k[1], "method": k[2], "ours_mean": _num(v.mean), "ours_sd": _num(v.sd),
             "n_seeds": v.n or "", "train_error_final": _num(v.train), "n_diverged": len(v.diverged)}
            for k, v in sorted(stats.items()) if k[0] == experiment]


def table_variant(stats, variant) -> str:
    """A variant beside the faithful run it changes: one row per (net, method) the variant ran."""
    v = ex.VARIANTS[variant]
    digits = 3 if v.variant_of == "exp3" else 2
    rows = []
    for (exp, net, method), s in sorted(stats.items()):
        if exp == variant:
            p = paper.number(v.variant_of, net, method)
            rows.append([net, method, "—" if p is None else f"{p:.2f}", ours(stats.get((v.variant_of, net, method)),
                                                                        digits), ours(s, digits)])
    return md_table(["Model", "method", "paper", f"faithful ({v.variant_of})", f"variant ({variant})"], rows)


def variant_body(stats, name) -> str:
    """A variant's table beside the faithful runs, or how to run it where it has no runs yet."""
    if any(k[0] == name for k in stats):
        finding = ev.FINDINGS[name](stats) if name in ev.FINDINGS else ""
        return table_variant(stats, name) + (f"\n{finding}\n" if finding else "")
    return f"*Not yet run* (`python -m fa_lab replicate {name}`).\n"


def variants_markdown(stats) -> str:
    """One section per variant: what it changes, and its table, or how to run it (once any variant has runs)."""
    out = [f"### {v.title}\n\n{v.note}\n\n{variant_body(stats, name)}" for name, v in ex.VARIANTS.items()]
    return "## Variants (named changes of the protocol, never mixed into the tables above)\n\n" + "\n".join(out) \
        if any(k[0] in ex.VARIANTS for k in stats) else ""


TABLES = {  # name -> (title, table maker)
    "table2": ("Table 2 — Experiment 1 (output error e), test error %", lambda st: table_strategies(st, "exp1")),
    "table3": ("Table 3 — Experiment 2 (auxiliary LAFS errors eⁱ), test error %", lambda st: table_strategies(st, "exp2")),
    "table4": ("Table 4 — Experiment 4 (feedback families B1–B7), 2x800 tanh, test error %", table_families),
    "exp3": ("Experiment 3 — auto-encoders, final mean ‖x − x̂‖² per test image (paper: figures only)", table_exp3),
}


# ---------------------------------------------------------------------------------------------- REPLICATION.md
def settings_text(protocol, records=()) -> str:
    """The protocol as run (from the records' configs; the protocol's defaults when there are none)."""
    keys = ("epochs", "batch_size", "lr", "n_train", "n_test")
    if records:
        vals = {k: sorted({getattr(r.config, k) for r in records}, key=str) for k in keys}
        s = {k: v[0] if len(v) == 1 else "/".join(map(str, v)) for k, v in vals.items()}
    else:
        s = grid.protocol_settings(protocol)
    data = "all 60 000 / 10 000" if s["n_train"] is None else f"first {s['n_train']} / {s['n_test'] or 'all'}"
    return (f"{s['epochs']} epochs, batch size {s['batch_size']}, lr {s['lr']} on the summed batch update, "
            f"MNIST train/test examples: {data}")


def progress_line(records, protocol, rows, seeds=(0, 1, 2)) -> str:
    """How much of the grid is done: runs of the paper's grid for the seeds, and cells with every seed."""
    runs = {c.run_id for c in grid.configs("all", protocol, seeds)}
    done = runs & {r.run_id for r in records}
    complete = sum(1 for r in rows if int(r["n_seeds"] or 0) + int(r["n_diverged"] or 0) >= len(seeds))
    return (f"Progress: {len(done)} of the {len(runs)} runs of the grid ({len(runs) // len(seeds)} runs × seeds "
            f"{', '.join(map(str, seeds))}) are done; {complete} of {len(rows)} paper cells have all {len(seeds)} seeds.")


def compute_line(records) -> str:
    """The wall time of the lockstep passes behind the records, summed per device (passes that ran side by side
    count each: process-hours, not elapsed time)."""
    passes = {tuple(r.group or [r.run_id]): r for r in records}
    per = {}
    for r in passes.values():
        where = f"{r.device_name or r.device} on {r.host.get('cpu', '?')}"
        n, h = per.get(where, (0, 0.0))
        per[where] = (n + 1, h + (r.wall_time_s or 0) / 3600)
    parts = "; ".join(f"{where}: {n} passes, {h:.2f} h" for where, (n, h) in sorted(per.items()))
    return (f"Compute: {len(passes)} lockstep passes, {sum(h for _, h in per.values()):.2f} h of wall time summed "
            f"over passes (passes that ran side by side count each)" + (f" ({parts})" if parts else "") + ".")


def _section(title, lines):
    return f"## {title}\n\n" + "\n".join(lines) + "\n\n" if lines else ""


def markdown(records, stats, rows, warnings, protocol, results_dir, md_path, figures) -> str:
    """REPLICATION.md: the template filled with the protocol's real constants and the tables."""
    rel = lambda p: os.path.relpath(p, md_path.parent)  # noqa: E731
    filled = [r for r in rows if r["ours_mean"]]
    diffs = [float(r["delta"]) for r in filled]
    counts = {v: sum(r["verdict"] == v for r in rows) for v in ("yes", "partial", "no")}
    all_diverged = sum(1 for r in rows if r["n_diverged"] and not r["ours_mean"])
    full = grid.protocol_settings("full")
    classifiers = [r for r in records if r.config.head == "softmax" and not r.diverged]
    base = results_dir if protocol == "full" else results_dir / "quick"
    fields = dict(
        quick_title=" (quick protocol: a smoke run, NOT a replication)" if protocol == "quick" else "",
        citation=paper.CITATION, protocol=protocol, settings=settings_text(protocol, records), n_runs=len(records),
        seeds=", ".join(map(str, sorted({r.config.seed for r in records}))) or "none", filled=len(filled),
        cells=len(rows), all_diverged=f" (and {all_diverged} whose every seed diverged)" if all_diverged else "", diff_summary=(f"; mean difference ours − paper {sum(diffs) / len(diffs):+.2f} points, mean "
                                       f"|difference| {sum(map(abs, diffs)) / len(diffs):.2f}") if diffs else "",
        verdicts=", ".join(f"{v} {n}" for v, n in counts.items()), compute=compute_line(records),
        quick_flag=" --quick" if protocol == "quick" else "",
        results_flag="" if str(results_dir) == rs.DEFAULT_DIR else f" --results {results_dir}",
        results_dir=results_dir, batch_size=full["batch_size"], lr=full["lr"], epochs=full["epochs"],
        ae_activation=ex.AE_ACTIVATION, noise_sd=feedback.NOISE_SD, density=feedback.DENSITY, tolerance=TOLERANCE,
        partial=PARTIAL, claims=claims_markdown(stats, records), variants=variants_markdown(stats) + beyond.markdown(stats) + deviations.markdown(stats) + angles.markdown(records), tables="".join(f"## {title}\n\n{make(stats)}\n" for title, make in TABLES.values()),
        high_train=sum((r.final_train_error or 0) >= 0.01 for r in classifiers), n_classifier=len(classifiers),
        csv_path=rel(base / "replication.csv"), progress=progress_line(records, protocol, rows),
        diverged=_section("Diverged runs", [f"- `{r.run_id}`: {r.diverged}" for r in records if r.diverged]),
        skipped=_section("Skipped result files", [f"- {w}" for w in warnings]),
        figures=_section("Figures", [f"![{f.title}]({rel(p)})" for f, p in figures]))
    return Template(TEMPLATE.read_text()).substitute(fields).rstrip() + "\n"


def report(results_dir=rs.DEFAULT_DIR, protocol="full", markdown_path=None, warn=None) -> dict:
    """Write every output listed in the module docstring; returns {name: path}. A results folder that
    holds no runs of the protocol is an error (a typo must not overwrite a report with an empty one)."""
    choose("protocol", protocol, rs.PROTOCOLS)
    results_dir = Path(results_dir)
    warnings = []

    def _warn(line):
        warnings.append(line)
        (warn or (lambda s: print(s, file=sys.stderr)))(line)

    records, stale = rs.current(rs.load_results(results_dir, protocol, warn=_warn), protocol)
    if not records and not stale:
        raise FaLabError(f"no {protocol}-protocol runs in {results_dir / protocol}; check --results (run "
                         f"`python -m fa_lab replicate ...` first)")
    if stale:
        _warn(f"fa_lab: warning: ignoring {len(stale)} result files run with other protocol settings than the "
              f"current {protocol} protocol ({settings_text(protocol)}), e.g. {stale[0].path}")
    base = results_dir if protocol == "full" else results_dir / "quick"
    md_path = Path(markdown_path) if markdown_path else (results_dir.resolve().parent / "REPLICATION.md"
                                                         if protocol == "full" else base / "REPLICATION.md")
    try:
        out = _write(records, warnings, protocol, results_dir, base, md_path)
    except OSError as exc:
        raise FaLabError(f"cannot write the report: {exc.strerror or exc} ({exc.filename or base}); the results "
                         f"folder {base} and {md_path.parent} must be writable") from None
    print(f"report [{protocol}]: {len(records)} runs, {out.pop('filled')} paper cells filled -> "
          f"{out['replication.csv']}, {md_path}" + (f" ({len(warnings)} warnings, see above)" if warnings else ""),
          flush=True)
    return out


def _write(records, warnings, protocol, results_dir, base, md_path) -> dict:
    """The report's files (module docstring), each written atomically; returns {name: path}."""
    stats = rs.summarize(records)
    rows = replication_rows(stats)
    out = {"replication.csv": base / "replication.csv"}
    rs.atomic_write_bytes(out["replication.csv"], _csv_text(rows, COLUMNS).encode())
    for t, name in ((c.table, f"table{c.table}") for c in {c.table: c for c in paper.cells()}.values()):
        rs.atomic_write_bytes(base / "tables" / f"{name}.csv", _csv_text([r for r in rows if r["table"] == t],
                                                                         COLUMNS).encode())
    plain = ("experiment", "model", "method", "ours_mean", "ours_sd", "n_seeds", "train_error_final", "n_diverged")
    for name in ("baselines", "exp3"):
        rs.atomic_write_bytes(base / "tables" / f"{name}.csv", _csv_text(_plain_rows(stats, name), plain).encode())
    for name, (_, make) in TABLES.items():
        out[f"{name}.md"] = base / "tables" / f"{name}.md"
        rs.atomic_write_bytes(out[f"{name}.md"], make(stats).encode())
    figures = [(f, base / "figures" / f"{f.name}.png") for f in paper.FIGURES]
    figures = [(f, p) for f, p in figures if p.exists()]
    text = markdown(records, stats, rows, warnings, protocol, results_dir, md_path, figures)
    rs.atomic_write_bytes(md_path, text.encode())
    out["REPLICATION.md"] = md_path
    out["filled"] = f"{sum(1 for r in rows if r['ours_mean'])}/{len(rows)}"
    return out
