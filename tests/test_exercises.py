"""The exercise checkers: a correct solution passes, the typical slips get the right diagnosis."""

import torch

import fa_lab
from fa_lab import Rule
from fa_lab.teaching.exercises import (autograd_check, check_aux_error, check_bp_delta, check_dfa_delta,
                                       check_fa_delta, check_family, check_strategy, expect)

import pytest


def verdict(v, ok, *words):
    assert bool(v) is ok, v.message
    for w in words:
        assert w in v.message, (w, v.message)


# ---------------------------------------------------------------- BP
def test_bp_correct():
    verdict(check_bp_delta(lambda W, d, fp: (W.T @ d) * fp), True, "correct")


def test_bp_missing_fprime():
    verdict(check_bp_delta(lambda W, d, fp: W.T @ d), False, "f′", "missing")


def test_bp_transpose():
    verdict(check_bp_delta(lambda W, d, fp: (W @ d) * fp), False, "transpose")


def test_bp_sign_and_shape():
    verdict(check_bp_delta(lambda W, d, fp: -(W.T @ d) * fp), False, "sign")
    verdict(check_bp_delta(lambda W, d, fp: ((W.T @ d) * fp)[None, :]), False, "1-D")
    verdict(check_bp_delta(lambda W, d, fp: torch.outer(d, fp)), False, "shape")


def test_bp_raises_is_explained():
    verdict(check_bp_delta(lambda W, d, fp: (W.T @ d) * fp[:-1]), False, "raised", "W_next.T")


# ---------------------------------------------------------------- FA
def test_fa_correct_and_slips():
    verdict(check_fa_delta(lambda B, d, fp: (B @ d) * fp), True, "correct")
    verdict(check_fa_delta(lambda B, d, fp: B @ d), False, "missing")
    verdict(check_fa_delta(lambda B, d, fp: (B.T @ d) * fp), False, "transpose")


# ---------------------------------------------------------------- DFA
def test_dfa_correct_and_slips():
    verdict(check_dfa_delta(lambda B, e, fp: (B @ e) * fp), True, "correct")
    verdict(check_dfa_delta(lambda B, e, fp: B @ e), False, "f′")
    verdict(check_dfa_delta(lambda B, e, fp: (B.T @ e) * fp), False, "raised", "B @ e")
    verdict(check_dfa_delta(lambda B, e, fp: torch.tanh(B @ e)), False, "wrong values")


def test_dfa_deterministic_message_names_the_net():
    v = check_dfa_delta(lambda B, e, fp: B @ e)
    assert "net [7, 5, 5, 3]" in v.message


# ---------------------------------------------------------------- auxiliary errors
def test_aux_correct_and_slips():
    verdict(check_aux_error(lambda B, h, y: torch.softmax(B.T @ h, 0) - y), True, "correct")
    verdict(check_aux_error(lambda B, h, y: B.T @ h - y), False, "softmax")
    verdict(check_aux_error(lambda B, h, y: torch.softmax(B.T @ h, 0)), False, "target")
    verdict(check_aux_error(lambda B, h, y: torch.softmax(B @ h, 0) - y), False, "raised", "B.T @ h")
    verdict(check_aux_error(lambda B, h, y: y - torch.softmax(B.T @ h, 0)), False, "sign")


# ---------------------------------------------------------------- strategies as rules
def test_strategy_correct():
    for name, layers in {"s1": (("direct", "above"), ("direct",)), "s2": (("direct",), ("direct", "below")),
                         "s3": (("direct", "above~"), ("direct", "below~"))}.items():
        verdict(check_strategy(Rule("mine", layers), name), True, "correct")


def test_strategy_slips():
    verdict(check_strategy(Rule("x", (("direct",), ("direct", "above"))), "s1"), False, "top-down")
    verdict(check_strategy(Rule("x", (("direct", "above"), ("direct",))), "s3"), False, "layer 1", "above~")
    verdict(check_strategy(Rule("x", (("direct",), ("direct",))), "s1"), False, "missing")
    verdict(check_strategy(Rule("x", (("direct",),)), "s1"), False, "1 hidden layers")
    verdict(check_strategy("s1", "s1"), False, "fa_lab.Rule")
    verdict(check_strategy(Rule("x", (("direct", "above"), ("direct",)), error="auxiliary"), "s1"), False,
            "auxiliary")


def test_strategy_with_other_F_is_caught():
    r = Rule("x", (("direct", "above"), ("direct",)), F=lambda ts: sum(ts))
    verdict(check_strategy(r, "s1"), False, "mean")


# ---------------------------------------------------------------- families
def _normal(shape, g, sd=0.01):
    return sd * torch.randn(shape, generator=g, dtype=torch.float64)


def _sparse(shape, g):
    return (torch.rand(shape, generator=g, dtype=torch.float64) < 0.1).double()


def _unif(shape, g, eps):
    return eps * (2 * torch.rand(shape, generator=g, dtype=torch.float64) - 1)


RIGHT = {"uniform": lambda s, g: _unif(s, g, 0.5),
         "B1": lambda s, g: 1 + _normal(s, g),
         "B2": lambda s, g: torch.eye(*s),
         "B3": lambda s, g: torch.eye(*s) + _normal(s, g),
         "B4": _sparse,
         "B5": lambda s, g: 1 + _unif(s, g, 0.01),
         "B6": lambda s, g: _sparse(s, g) + _normal(s, g),
         "B7": _normal}


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_family_right_answers_pass(name):
    verdict(check_family(RIGHT[name], name), True, "correct")
    verdict(check_family(fa_lab.FAMILIES[name], name), True, "correct")  # the library's own draws


def test_family_right_answer_passes_whatever_the_seed():
    for k in range(5):  # a student who ignores the generator draws other numbers: still within tolerance
        verdict(check_family(lambda s, g: 1 + _normal(s, torch.Generator().manual_seed(k)), "B1"), True)
        verdict(check_family(lambda s, g: _sparse(s, torch.Generator().manual_seed(k)), "B4", (7, 3)), True)


@pytest.mark.parametrize("name, fn, words", [
    ("B7", lambda s, g: torch.zeros(s), ("noise", "standard deviation 0")),
    ("B1", lambda s, g: torch.ones(s), ("noise", "standard deviation 0")),
    ("B5", lambda s, g: torch.ones(s), ("noise", "U[−0.01, 0.01]")),
    ("B3", lambda s, g: torch.eye(*s), ("noise", "identity")),
    ("B6", _sparse, ("noise", "0/1 part")),
    ("B3", lambda s, g: 1 + _normal(s, g), ("diagonal", "looks like ones")),   # the identity part is missing
    ("B3", _normal, ("diagonal", "looks like zeros")),
    ("B1", lambda s, g: 1 + _normal(s, g, 0.1), ("standard deviation", "variance")),
    ("B5", lambda s, g: 1 + _normal(s, g), ("standard deviation",)),
    ("B5", lambda s, g: 1 + _normal(s, g, 0.01 / 3 ** 0.5), ("±0.01",)),     # right sd, Gaussian: out of range
    ("B7", lambda s, g: _unif(s, g, 0.01 * 3 ** 0.5), ("looks uniform",)),   # right sd, uniform law
    ("B4", lambda s, g: (torch.rand(s, generator=g) < 0.5).double(), ("fraction of ones", "0.1")),
    ("B4", lambda s, g: torch.ones(s), ("fraction of ones",)),
    ("B6", lambda s, g: 2 * _sparse(s, g), ("0 or 1",)),
    ("B2", lambda s, g: torch.ones(s), ("ones",)),
    ("B2", lambda s, g: torch.eye(*s) + _normal(s, g), ("no noise",)),
    ("B2", lambda s, g: torch.eye(s[0]), ("shape",)),
    ("uniform", lambda s, g: torch.rand(s, generator=g), ("average",)),
    ("uniform", lambda s, g: torch.randn(s, generator=g), ("standard deviation",)),
])
def test_family_wrong_answers_are_named(name, fn, words):
    verdict(check_family(fn, name), False, *words)


def test_family_unknown_name():
    with pytest.raises(fa_lab.FaLabError, match="B8"):
        check_family(RIGHT["B1"], "B8")


# ---------------------------------------------------------------- stubs: a clear verdict, no traceback
def _stub(*args):
    """The notebooks' stub: a docstring and `...`."""
    # your code here
    ...


def _raises(*args):
    raise NotImplementedError


@pytest.mark.parametrize("checker", [check_bp_delta, check_fa_delta, check_dfa_delta, check_aux_error, check_family])
@pytest.mark.parametrize("stub", [_stub, _raises])
def test_stub_is_not_implemented_yet(checker, stub):
    v = checker(stub)
    assert not v and v.todo and v.message.startswith("not implemented yet"), v.message
    assert "your code here" in v.message and repr(v).startswith("✎") and "#9a6700" in v._repr_html_()


def test_strategy_stub_is_not_implemented_yet():
    v = check_strategy(None, "s1")
    assert not v and v.todo, v.message


def test_verdict_display():
    assert repr(check_dfa_delta(lambda B, e, fp: (B @ e) * fp)).startswith("✔")
    v = check_dfa_delta(lambda B, e, fp: B @ e)
    assert repr(v).startswith("✘") and not v.todo and "#cf222e" in v._repr_html_()


def test_public_names():
    from fa_lab.teaching import exercises

    assert set(exercises.__all__) == {"Verdict", "check_bp_delta", "check_fa_delta", "check_dfa_delta",
                                      "check_aux_error", "check_strategy", "check_family", "autograd_check", "expect"}
    assert all(hasattr(exercises, n) for n in exercises.__all__) and not hasattr(exercises, "presets")


# ---------------------------------------------------------------- notebook helpers
def test_autograd_check_matches():
    m = fa_lab.build([6, 5, 4, 3], "tanh", "bp", seed=0, dtype="float64")
    x = torch.rand(4, 6, dtype=torch.float64)
    diff, scale = autograd_check(m, x, torch.tensor([0, 1, 2, 0]))
    assert scale > 0 and diff < 1e-10 * max(1.0, scale)


def test_expect():
    assert expect(10.004, 10.0, 0.01) == 10.0
    with pytest.raises(AssertionError, match="expected 10"):
        expect(11.0, 10.0, 0.5, "test error")


def test_module_size():
    import ast
    import inspect

    from fa_lab.teaching import _diagnose, exercises

    for mod in (exercises, _diagnose):
        src = inspect.getsource(mod)
        assert len(src.splitlines()) < 300, mod.__name__
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                assert node.end_lineno - node.lineno + 1 <= 60, (mod.__name__, node.name)


# ---------------------------------------------------------------- the book's exercises and the teacher's version
def _teacher():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "teacher_notebooks.py"
    spec = importlib.util.spec_from_file_location("teacher_notebooks", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _book():
    from pathlib import Path

    nbformat = pytest.importorskip("nbformat")
    for path in sorted((Path(__file__).resolve().parents[1] / "book").glob("*.ipynb")):
        yield path.name, nbformat.read(path, as_version=4)


def test_students_get_stubs_and_every_stub_has_a_solution():
    teacher, seen = _teacher(), set()
    for name, nb in _book():
        assert "```{exercise}" not in "".join(c.source for c in nb.cells), f"{name}: use the gated exercise-start"
        for label, (stubs, sols) in teacher._blocks(nb.cells).items():
            seen.add(label)
            assert sols, f"{name} {label}: no code in its solution block"
            for k in stubs:
                src = nb.cells[k].source
                if "check_" in src:  # a checked exercise: the stub must not hold the answer
                    assert teacher.MARK in src and "\n    ...\n" in src or "= None  " + teacher.MARK in src, src
                    assert any("not implemented yet" in str(o) for o in nb.cells[k].outputs), (name, label)
    assert {"ex-bp-delta", "ex-fa-delta", "ex-dfa-delta", "ex-aux-error", "ex-s1-rule", "ex-own-strategy", "ex-family",
            "ex-alignment-family"} <= seen


def test_teacher_version_fills_the_stubs_and_passes_the_checkers():
    import ast

    teacher, checked = _teacher(), 0
    for name, nb in _book():
        teacher.teacher_version(nb)
        env = {"fa_lab": fa_lab, "display": lambda *a: None}
        for cell in nb.cells:
            if cell.cell_type != "code" or not cell.source.startswith("# teacher's version"):
                continue
            assert teacher.MARK not in cell.source
            if "check_" not in cell.source:
                continue
            body = ast.parse(cell.source).body
            exec(compile(ast.Module(body[:-1], []), name, "exec"), env)
            v = eval(compile(ast.Expression(body[-1].value), name, "eval"), env)
            assert v and v.message.startswith("correct"), (name, v)
            checked += 1
    assert checked >= 7
