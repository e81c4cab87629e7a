"""The API reference page of the book (chapter 13), built from the library's own signatures and docstrings.

Signatures show defaults by name (``F=mean``, not a memory address) and docstring roles such as
``:func:`~fa_lab.fit``` are shown as code, so the page reads the same in Jupyter and in the built book.
"""

from __future__ import annotations

import inspect
import re
from functools import cached_property

ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")


def _default(value):
    """A value as code: functions by name, dicts of them by their keys and values' names."""
    if callable(value):
        return getattr(value, "__name__", type(value).__name__)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_default(v)}" for k, v in value.items()) + "}"
    if hasattr(value, "name") and hasattr(value, "__dataclass_fields__"):
        return f"{type(value).__name__}({value.name!r})"
    return repr(value)


def signature(obj) -> str:
    """``(a, b=1, F=mean)``: the call signature with readable defaults ('' when there is none)."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return ""
    parts = []
    for p in sig.parameters.values():
        text = p.name if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) else ("*" if p.kind == p.VAR_POSITIONAL
                                                                               else "**") + p.name
        if p.default is not p.empty:
            text += "=" + _default(p.default)
        parts.append(text)
    return "(" + ", ".join(parts) + ")"


def summary(obj) -> str:
    """The first paragraph of a docstring, on one line, roles as code."""
    doc = (inspect.getdoc(obj) or "").split("\n\n")[0].replace("\n", " ").replace("``", "`")
    return ROLE.sub(lambda m: f"`{m.group(1).split('.')[-1]}`", doc)


def entry(owner, name) -> str:
    obj = inspect.getattr_static(owner, name) if isinstance(owner, type) else getattr(owner, name)
    where = getattr(owner, "__name__", "")
    if isinstance(obj, (property, cached_property)):
        return f"* **`{where}.{name}`** — {summary(obj)}"
    if not callable(obj):
        return f"* **`{where}.{name}`** — constant: `{_default(obj)}`"
    return f"* **`{where}.{name}{signature(obj)}`** — {summary(obj)}"


def section(owner, names=None, title=None) -> str:
    """A Markdown section: one line per public name of a module or class (``__all__`` by default)."""
    names = names or getattr(owner, "__all__", None) or [n for n in vars(owner) if not n.startswith("_")]
    return f"## {title or owner.__name__}\n\n" + "\n".join(entry(owner, n) for n in names)


def api_reference():
    """The whole reference page as Markdown (IPython display object)."""
    from IPython.display import Markdown

    import fa_lab
    from fa_lab.replication import experiments, grid, results
    from fa_lab.teaching import beyond_exercises, book, exercises, panel, plots, schematics

    parts = [section(fa_lab, title="fa_lab"),
             section(fa_lab.Model, [n for n in vars(fa_lab.Model) if not n.startswith("_")], "fa_lab.Model"),
             section(fa_lab.Rule, ["order", "needs", "learned", "aux", "with_error", "describe"], "fa_lab.Rule"),
             section(grid, ["configs", "RunConfig", "expand"]), section(experiments, ["net_label", "classifiers"]),
             section(results, ["load_results", "select", "summarize", "Record"]),
             section(book), section(panel, ["Panel"]), section(plots, ["curves", "families", "reconstructions",
                                                                      "weights", "show_reconstructions",
                                                                      "show_first_layer", "plot_alignment"]),
             section(exercises), section(beyond_exercises), section(schematics, ["figure1", "draw_rule", "draw_rules"])]
    return Markdown("\n\n".join(parts))
