"""The package's shape, as the package docstring draws it: imports flow one way (core → replication →
teaching → cli), modules stay under 300 lines and functions under 60."""

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "fa_lab"
LAYERS = {"core": 0, "replication": 1, "teaching": 2, "cli": 3, "__main__": 3, "__init__": 3}
MODULES = sorted(p for p in PKG.rglob("*.py"))


def layer(path):
    rel = path.relative_to(PKG).parts
    return LAYERS[rel[0] if len(rel) > 1 else Path(rel[0]).stem]


def imported_layers(path):
    """(line, layer) of every fa_lab module ``path`` imports, relative or absolute."""
    tree = ast.parse(path.read_text())
    here = path.relative_to(PKG).parts[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(here[:len(here) - node.level + 1]) + (node.module.split(".") if node.module else [])
            elif node.module and node.module.split(".")[0] == "fa_lab":
                base = node.module.split(".")[1:]
            else:
                continue
            names = [base] if base else [[a.name] for a in node.names]
            for parts in names:
                if parts and parts[0] in LAYERS:
                    yield node.lineno, LAYERS[parts[0]], ".".join(parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_imports_flow_one_way(path):
    mine = layer(path)
    upward = [(line, name) for line, theirs, name in imported_layers(path) if theirs > mine]
    assert not upward, f"{path.relative_to(PKG)} imports from a layer above it: {upward}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_modules_and_functions_are_short(path):
    text = path.read_text()
    assert len(text.splitlines()) <= 300, f"{path.name}: {len(text.splitlines())} lines"
    long = [(n.name, n.end_lineno - n.lineno + 1) for n in ast.walk(ast.parse(text))
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > 60]
    assert not long, f"{path.name}: functions over 60 lines: {long}"


def test_the_package_map_lists_every_module():
    doc = (PKG / "__init__.py").read_text().split('"""')[1]
    for path in MODULES:
        if path.stem not in ("__init__", "__main__"):
            assert f"\n      {path.stem} " in doc or f"\n    {path.stem} " in doc, f"{path.stem} missing from the map"
