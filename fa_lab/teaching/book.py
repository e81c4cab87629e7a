"""What the book's notebooks call: the paper's tables, committed results as tables and figures, and the live
runs of :mod:`fa_lab.teaching.live` (re-exported here, so a notebook needs one import).

    from fa_lab.teaching import book
    book.paper_table("exp1")                 # the paper's Table 2
    book.results_table("exp1")               # our committed full-protocol results beside it, with verdicts
    models, hist = book.quick_check(["s1", "s2"], recorded={...})   # a live run checked against its record
"""

from __future__ import annotations

import html
from dataclasses import replace
from pathlib import Path

from ..core.alignment import MEASURES, row_key
from ..core.errors import FaLabError, choose
from ..replication import angles, beyond, paper
from ..replication import deviations as dv
from ..replication import results as rs
from ..replication.experiments import EXPERIMENTS, LIVE, VARIANTS, net_label
from ..replication.paper import FIGURES
from ..replication.report import variant_body
from ..replication.results import ours
from ..replication.verdicts import cell_verdict as verdict
from ..replication.verdicts import claims_markdown, claims_table
from . import plots
from .live import TABLE_STYLE as STYLE
from .live import quick_check, quick_data, run  # noqa: F401 (re-exported for the notebooks)

ROOT = Path(__file__).resolve().parents[2]  # the checkout holding results/ and REPLICATION.md


# ---------------------------------------------------------------------------------------------- tables
def _html_table(header, rows, note=""):
    from IPython.display import HTML

    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return HTML(f'{STYLE}<div style="overflow-x:auto"><table class="falab-table"><tr>{head}</tr>{body}</table>'
                f"{note}</div>")


def paper_table(experiment):
    """The paper's table of an experiment (Table 2, 3 or 4) as it printed it: nets × methods, test error %."""
    cells = [c for c in paper.cells() if c.experiment == experiment]
    if not cells:
        raise FaLabError(f"the paper has no table for {experiment!r}; tables: "
                         f"{', '.join(sorted({c.experiment for c in paper.cells()}))}")
    nets, methods = list(dict.fromkeys(c.net for c in cells)), list(dict.fromkeys(c.method for c in cells))
    value = {(c.net, c.method): f"{c.test_error:.2f}" for c in cells}
    return _html_table(["model"] + methods, [[n] + [value.get((n, m), "—") for m in methods] for n in nets],
                       f"<small>Table {cells[0].table} of the paper: test error % after 100 epochs.</small>")


def load_records(experiment, protocol="full", results_dir=None):
    """Committed result records of one experiment with the protocol's current settings ([] when none)."""
    root = Path(results_dir) if results_dir else ROOT / "results"
    return rs.current(rs.load_results(root, protocol, experiment, warn=lambda line: None), protocol)[0]


def _verdict_cell(s, p):
    v = verdict(s, p)
    return f'<span class="falab-{v}">{v}</span>' if v else ""


def results_table(experiment, protocol="full", results_dir=None):
    """Our committed results beside the paper's numbers (mean ± sd over seeds, Δ, verdict, final training
    error), or a 'not yet run' note; for an experiment beyond the paper, its table as in REPLICATION.md."""
    from IPython.display import HTML

    stats = rs.summarize(load_records(experiment, protocol, results_dir))
    if stats and experiment in beyond.TABLES:  # beyond the paper: no paper numbers; the baselines beside them
        stats.update(rs.summarize(load_records("baselines", protocol, results_dir)))
        return _markdown_html(beyond.TABLES[experiment](stats))
    if not stats:
        return HTML(f'<div style="padding:0.6em;border-left:4px solid #d0a000;background:#fffbe6"><b>Not yet run:</b> '
                    f"no {protocol}-protocol results for {html.escape(experiment)} are committed yet "
                    f"(<code>python -m fa_lab replicate {html.escape(experiment)}</code>).</div>")
    unit = "‖x − x̂‖² per image" if experiment == "exp3" else "test error %"
    rows = []
    for (_, net, method), s in sorted(stats.items()):
        p = paper.number(experiment, net, method)
        rows.append([net, method, ours(s, 3 if experiment == "exp3" else 2), "—" if p is None else f"{p:.2f}",
                     "" if p is None or s.mean is None else f"{s.mean - p:+.2f}", _verdict_cell(s, p),
                     "—" if s.train is None else f"{s.train:.3f}", len(s.records[0].test_error)])
    return _html_table(["model", "method", f"ours ({unit})", "paper", "Δ", "reproduces?", "final train error",
                        "epochs"], rows)


def results_figure(experiment, protocol="full", results_dir=None, net=None):
    """The paper's figure(s) of an experiment drawn from the committed runs (None when none are committed):
    curves of the 2x800 tanh net with the BP/FA/DFA baselines (Figures 4, 5, 8; ``net`` picks another
    classifier, e.g. '2x200 Relu'), or reconstructions and first-layer weights (Figures 6, 7)."""
    import matplotlib.pyplot as plt

    figures = [f for f in FIGURES if f.kind != "alignment" and f.experiments[0] == experiment]  # alignment_figure's
    records = [r for e in {e for f in figures for e in f.experiments} for r in load_records(e, protocol, results_dir)]
    if not rs.select(records, experiment=experiment):
        return None
    shown = None
    for f in figures:
        if net is not None and f.kind == "curves":
            match = [r for r in records if r.config.net_name == net]
            if not match:
                raise FaLabError(f"no committed runs of {net!r}; nets: "
                                 f"{', '.join(sorted({r.config.net_name for r in records}))}")
            f = replace(f, title=f"Figure {f.number} from our runs: {net}", sizes=tuple(match[0].config.sizes),
                        activation=match[0].config.activation)
        shown = plots.draw(f, records, plt.figure())
    return shown


def alignment_figure(measure="angle", protocol="full", results_dir=None):
    """One diagnostic (:data:`~fa_lab.core.alignment.MEASURES`) the committed 2x800 tanh runs recorded every epoch
    (beyond the paper), or None."""
    import matplotlib.pyplot as plt

    figure = next(f for f in FIGURES if f.kind == "alignment" and f.measure == choose("measure", measure, MEASURES))
    records = [r for e in figure.experiments for r in load_records(e, protocol, results_dir)]
    if not any(r.alignment and r.alignment[0][0].get(row_key(measure)) is not None for r in records):
        return None  # no committed run recorded this measure
    return plots.draw(figure, records, plt.figure())


def replication_report(root=ROOT, figures=True):
    """REPLICATION.md rendered as HTML, its tables styled, its figures embedded (``figures=False``: left out,
    for a page that shows them otherwise); a note when the report has not been written yet."""
    import base64
    import re

    from IPython.display import HTML

    path = Path(root) / "REPLICATION.md"
    if not path.exists():
        return HTML("<p><i>REPLICATION.md is not written yet: <code>python -m fa_lab report</code>.</i></p>")

    def embed(m):
        img = (path.parent / m.group(2)).resolve()
        if not figures:
            return ""
        if not img.exists():
            return f"*(figure missing: {m.group(2)})*"
        return f'<img alt="{html.escape(m.group(1))}" style="max-width:100%" ' \
               f'src="data:image/png;base64,{base64.b64encode(img.read_bytes()).decode()}">'

    return _markdown_html(re.sub(r"!\[([^\]]*)\]\(([^)]*)\)", embed, path.read_text()))


def _markdown_html(text):
    """Markdown (with tables) as styled HTML."""
    from IPython.display import HTML
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": True}).enable("table").render(text)
    body = body.replace("<table>", '<div style="overflow-x:auto"><table class="falab-table">').replace("</table>",
                                                                                                   "</table></div>")
    return HTML(STYLE + body)


def variant_table(name, protocol="full", results_dir=None):
    """A named variant beside the faithful runs it changes (as in REPLICATION.md), or a note that it has not run."""
    v = VARIANTS[choose("variant", name, list(VARIANTS))]
    stats = rs.summarize(load_records(name, protocol, results_dir) + load_records(v.variant_of, protocol, results_dir))
    return _markdown_html(f"**{v.title}.** {v.note}\n\n{variant_body(stats, name)}")


def deviations(experiment, protocol="full", results_dir=None):
    """The off cells of one experiment grouped by cause, with the evidence (:mod:`fa_lab.replication.deviations`;
    its variants' runs included, which some evidence reads)."""
    names = [experiment] + [n for n, v in VARIANTS.items() if v.variant_of == experiment]
    text = dv.markdown(rs.summarize([r for n in names for r in load_records(n, protocol, results_dir)]), experiment, level=4)
    return _markdown_html(text or "*No cell of this experiment is off the paper (or none has run yet).*")


def claims(experiment, protocol="full", results_dir=None):
    """The paper's claims that ``experiment``'s runs are evidence for, with our verdicts (as in chapter 12); for
    ``deep``, the claims tested past two hidden layers (:func:`fa_lab.replication.beyond.depth_claims`)."""
    experiment = choose("experiment", experiment, list(EXPERIMENTS) + list(beyond.CLAIMS))
    records = load_records(None, protocol, results_dir)
    stats = rs.summarize(records)
    if experiment in beyond.CLAIMS:
        return _markdown_html(claims_table(beyond.CLAIMS[experiment](stats), beyond.CLAIMS_HEADER))
    return _markdown_html(claims_markdown(stats, records, experiment))


def alignment_table(protocol="full", results_dir=None, nets=None, experiments=None):
    """The committed runs' alignment diagnostics at epochs 1, 10, 100 (:mod:`fa_lab.replication.angles`); ``nets``
    (e.g. ``("2x400 Tanh", "7x240 Tanh")``) and ``experiments`` keep only those runs."""
    records = [r for r in load_records(None, protocol, results_dir) if r.alignment]
    for what, chosen, of in (("net", nets, lambda r: r.config.net_name), ("experiment", experiments,
                                                                         lambda r: r.config.experiment)):
        if chosen is not None:
            known = sorted({of(r) for r in records})
            chosen = [choose(what, c, known) for c in chosen]
            records = [r for r in records if of(r) in chosen]
    text = angles.table(records)
    return _markdown_html(text or "*No committed run has recorded alignment diagnostics yet.*")


__all__ = ["alignment_figure", "alignment_table", "claims", "variant_table", "deviations", "replication_report", "quick_data", "run", "quick_check", "paper_table", "results_table", "results_figure",
           "load_records", "net_label", "EXPERIMENTS", "LIVE"]
