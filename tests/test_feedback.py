"""Feedback families B1–B7 have the structure Experiment 4 describes."""

import pytest
import torch

import fa_lab
from fa_lab.core.feedback import FAMILIES, family
from fa_lab.core.nets import generator

SHAPE = (800, 800)


def draw(name, shape=SHAPE, seed=0, **kw):
    return family(name)(shape, generator(seed, "test"), **kw)


def test_uniform_default_range():
    m = draw("uniform")
    assert m.min() >= -0.5 and m.max() < 0.5 and abs(m.mean()) < 0.01
    assert abs(m.std() - (1 / 12) ** 0.5) < 0.005


def test_B1_ones_plus_noise():
    m = draw("B1")
    assert abs(m.mean() - 1) < 1e-3 and abs((m - 1).std() - 0.01) < 5e-4


@pytest.mark.parametrize("shape", [(800, 10), (800, 800), (10, 800)])
def test_B2_non_square_identity(shape):
    m = draw("B2", shape)
    assert torch.equal(m, torch.eye(*shape, dtype=m.dtype))


def test_B3_identity_plus_noise():
    m = draw("B3")
    noise = m - torch.eye(*SHAPE, dtype=m.dtype)
    assert abs(noise.std() - 0.01) < 5e-4 and abs(noise.mean()) < 1e-3


@pytest.mark.parametrize("density", [0.05, 0.1, 0.5])
def test_B4_sparse_ones_density(density):
    m = draw("B4", density=density)
    assert set(m.unique().tolist()) <= {0.0, 1.0}
    assert abs(m.mean() - density) < 0.01


def test_B5_ones_plus_small_uniform():
    m = draw("B5")
    assert (m - 1).abs().max() <= 0.01 and (m - 1).abs().max() > 0.009


def test_B6_sparse_ones_plus_noise():
    m = draw("B6", density=0.2)
    ones = (m - 1).abs() < 0.1
    assert abs(ones.double().mean() - 0.2) < 0.01
    assert abs(m[~ones].std() - 0.01) < 5e-4


def test_B7_noise_alone():
    m = draw("B7", sd=0.02)
    assert abs(m.mean()) < 1e-3 and abs(m.std() - 0.02) < 1e-3


@pytest.mark.parametrize("name", list(FAMILIES))
def test_seeded(name):
    assert torch.equal(draw(name, (50, 10), seed=1), draw(name, (50, 10), seed=1))
    if name != "B2":
        assert not torch.equal(draw(name, (50, 10), seed=1), draw(name, (50, 10), seed=2))


@pytest.mark.parametrize("rule,kinds", [
    ("dfa", {("B", 1), ("B", 2)}),
    ("fa", {("B_tilde", 1), ("B_tilde", 2)}),
    ("bp", set()),
    ("s1", {("B", 1), ("B", 2), ("B_tilde", 1)}),
    ("s2", {("B", 1), ("B", 2), ("B_bar", 2)}),
    ("s3", {("B", 1), ("B", 2), ("B_tilde", 1), ("B_bar", 2)}),
])
def test_every_shape_a_rule_needs(rule, kinds):
    m = fa_lab.build([784, 30, 20, 10], "tanh", rule, family="B2")
    assert set(m.feedback) == kinds
    want = {"B": lambda i: (m.sizes[i], 10), "B_tilde": lambda i: (m.sizes[i], m.sizes[i + 1]),
            "B_bar": lambda i: (m.sizes[i], m.sizes[i - 1])}
    for kind, i in kinds:
        assert tuple(m.feedback_matrix(kind, i).shape) == want[kind](i)


def test_same_seed_shares_feedback_across_rules():
    a = fa_lab.build([784, 30, 20, 10], "tanh", "dfa", seed=3)
    b = fa_lab.build([784, 30, 20, 10], "tanh", "s1", seed=3)
    assert torch.equal(a.feedback_matrix("B", 1), b.feedback_matrix("B", 1))
    assert torch.equal(a.weight(1), b.weight(1))


def test_init_is_xavier_and_normal_bias():
    m = fa_lab.build([784, 800, 800, 10], "tanh", "dfa", seed=0)
    bound = (6 / (784 + 800)) ** 0.5
    W = m.weight(1)
    assert W.abs().max() <= bound and W.abs().max() > 0.99 * bound
    b = torch.cat([m.bias(1), m.bias(2)])
    assert abs(b.mean()) < 0.1 and abs(b.std() - 1) < 0.05


def test_b1_is_b7_plus_ones_which_dfa_cannot_see():
    """B1 = 1 + N and B7 = N draw the same N for a seed; a softmax error sums to zero over the classes,
    so the ones part adds nothing to B e and DFA trains the same (book ch. 10; results/full/exp4)."""
    a = fa_lab.build([30, 12, 12, 10], "tanh", "dfa", family="B1", seed=4, dtype="float64")
    b = fa_lab.build([30, 12, 12, 10], "tanh", "dfa", family="B7", seed=4, dtype="float64")
    g = torch.Generator().manual_seed(0)
    e = torch.softmax(torch.randn(5, 10, generator=g, dtype=torch.float64), -1) - torch.eye(10, dtype=torch.float64)[:5]
    for key in a.feedback:
        assert torch.allclose(a.feedback[key] - b.feedback[key], torch.ones_like(a.feedback[key]), atol=1e-12)
        assert (e @ (a.feedback[key] - b.feedback[key]).T).abs().max() < 1e-12


def test_b2_tiled_gives_every_unit_one_class():
    """The exp4-b2-tiled reading: eye(10) repeated down an 800-unit layer; square matrices stay the identity."""
    from fa_lab.core.feedback import identity

    B = identity((800, 10), None, tiled=True)
    assert (B.sum(1) == 1).all() and (B.sum(0) == 80).all() and B[13, 3] == 1
    assert torch.equal(identity((800, 800), None, tiled=True), identity((800, 800), None))
    assert identity((800, 10), None).sum() == 10


@pytest.mark.parametrize("rule", ["s3", "fa"])
def test_hidden_scale_multiplies_only_the_feedback_between_hidden_layers(rule):
    sizes = [20, 8, 6, 5, 3]
    plain = fa_lab.build(sizes, "relu", rule, aux=rule == "s3").feedback
    scaled = fa_lab.build(sizes, "relu", rule, aux=rule == "s3", feedback_params={"hidden_scale": 0.5}).feedback
    assert set(plain) == set(scaled)
    for (kind, i), b in scaled.items():
        between = kind == "B_bar" or (kind == "B_tilde" and i < 3)  # the top's B̃ carries the output's δa
        assert torch.equal(b, plain[kind, i] * (0.5 if between else 1.0)), (kind, i)
    assert any(k == "B_bar" for k, _ in scaled) or rule == "fa"


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), "0.1"])
def test_hidden_scale_must_be_a_finite_number_at_least_zero(bad):
    with pytest.raises(fa_lab.FaLabError, match=f"hidden_scale must be a finite number >= 0, got {bad!r}"):
        fa_lab.build([20, 8, 6, 3], "relu", "s3", feedback_params={"hidden_scale": bad})
