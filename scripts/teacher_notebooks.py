"""Write the teacher's version of the book: every exercise stub filled with its solution.

The book's notebooks give students stubs (a signature, a docstring, ``# your code here`` and ``...``)
inside ``{exercise-start}`` … ``{exercise-end}``; the solution follows in a collapsed
``{solution-start} <label>`` … ``{solution-end}`` block (QuantEcon's layout). This script pairs
each exercise with its solution by label and replaces, in the stub cells, every top-level
definition (``def f``, ``x = ...``) that the solution cells also define by the solution's own,
keeping the imports and the checker calls. The notebooks are written outside git (default
``_build/teacher/``), with the filled cells' stale outputs cleared; ``--execute`` runs them
(from book/, as the book build does), so a teacher sees every checker say ✔.

    .venv/bin/python scripts/teacher_notebooks.py             # -> _build/teacher/*.ipynb
    .venv/bin/python scripts/teacher_notebooks.py --execute   # ... and run them (a few minutes)
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
START = re.compile(r"```\{exercise-start\}.*?\n:label:\s*(\S+)", re.S)
SOLUTION = re.compile(r"```\{solution-start\}\s*(\S+)")
MARK = "# your code here"


def _defined(node):
    """The name a top-level statement defines (def, class, plain assignment), else None."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if len(targets) == 1 and isinstance(targets[0], ast.Name):
            return targets[0].id
    return None


def _definitions(source):
    """{name: source lines of its top-level definition} of a cell."""
    lines = source.splitlines()
    out = {}
    for node in ast.parse(source).body:
        name = _defined(node)
        if name:
            first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            out[name] = lines[first - 1:node.end_lineno]
    return out


def fill(stub, solutions):
    """``stub`` with each definition that ``solutions`` (cell sources) also make replaced by theirs."""
    given = {}
    for src in solutions:
        given.update(_definitions(src))
    lines = stub.splitlines()
    nodes = [n for n in ast.parse(stub).body if _defined(n) in given]
    for node in sorted(nodes, key=lambda n: n.lineno, reverse=True):  # bottom-up: line numbers stay valid
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        lines[first - 1:node.end_lineno] = given[_defined(node)]
    return "\n".join(lines), len(nodes)


def _blocks(cells):
    """{label: ([stub cell indices], [solution cell indices])} from the gated directives."""
    blocks, current = {}, None
    for k, cell in enumerate(cells):
        if cell.cell_type == "markdown":
            src = cell.source
            if "{exercise-end}" in src or "{solution-end}" in src:
                current = None
            if m := START.search(src):
                current = (m.group(1), 0)
            if m := SOLUTION.search(src):
                current = (m.group(1), 1)
        elif current:
            blocks.setdefault(current[0], ([], []))[current[1]].append(k)
    return blocks


def teacher_version(nb):
    """Fill the stubs of notebook ``nb`` in place; returns [(label, definitions filled)]."""
    report = []
    for label, (stubs, sols) in _blocks(nb.cells).items():
        filled = 0
        for k in stubs:
            cell = nb.cells[k]
            if MARK not in cell.source:
                continue  # a starting point for an open exercise, not a stub
            if not sols:
                raise SystemExit(f"exercise {label!r} has a stub but no solution block with code")
            cell.source, n = fill(cell.source, [nb.cells[j].source for j in sols])
            if n == 0 or MARK in cell.source:
                raise SystemExit(f"exercise {label!r}: the solution does not define what the stub leaves open:\n"
                                 f"{cell.source}")
            cell.source = f"# teacher's version: the solution of {label} is filled in\n" + cell.source
            cell.outputs, cell.execution_count = [], None
            filled += n
        for j in sols:
            nb.cells[j].metadata.get("jupyter", {}).pop("source_hidden", None)
        report.append((label, filled))
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: book/*.ipynb")
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "teacher")
    parser.add_argument("--execute", action="store_true", help="run each written notebook (from book/)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for path in args.notebooks or sorted((ROOT / "book").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        report = teacher_version(nb)
        if not report:
            continue
        if args.execute:
            from nbclient import NotebookClient

            NotebookClient(nb, timeout=1200, kernel_name="python3",
                           resources={"metadata": {"path": str(ROOT / "book")}}).execute()
        nbformat.write(nb, args.out / path.name)
        print(f"{args.out / path.name}: " + ", ".join(f"{label} ({n} filled)" if n else f"{label} (open, no stub)"
                                                    for label, n in report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
