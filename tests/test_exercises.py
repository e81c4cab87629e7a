"""The exercise checkers: a correct solution passes, the typical slips get the right diagnosis."""

import torch

import fa_lab
from fa_lab import Rule
from fa_lab.teaching.exercises import (autograd_check, check_aux_error, check_bp_delta, check_dfa_delta, check_fa_delta,
                              check_family, check_strategy, expect)

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
def test_family_checker():
    verdict(check_family(lambda shape, g: torch.eye(*shape, dtype=torch.float64), "B2"), True, "correct")
    verdict(check_family(lambda shape, g: torch.ones(shape), "B2"), False, "ones")
    verdict(check_family(lambda shape, g: torch.eye(shape[0]), "B2"), False, "shape")
    noise = lambda shape, g: torch.randn(shape, generator=g, dtype=torch.float64) * 0.01  # noqa: E731
    verdict(check_family(noise, "B7"), True, "correct")
    verdict(check_family(lambda shape, g: torch.randn(shape, generator=g), "B7"), False, "standard deviation")
    verdict(check_family(lambda s, g: 1 + torch.randn(s, generator=g, dtype=torch.float64) * 0.01, "B1"), True)


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
