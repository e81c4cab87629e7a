"""The engine against autograd and against the paper's equations written out by hand."""

import pytest
import torch

import fa_lab
from fa_lab.core.rules import Rule

TOL = 1e-10


def autograd_updates(model, x, y):
    """dL/dWⁱ, dL/dbⁱ by torch.autograd for the summed loss (the reference for BP)."""
    W = [w.clone().requires_grad_() for w in model.net.W]
    b = [v.clone().requires_grad_() for v in model.net.b]
    h = x
    for i, (Wi, bi) in enumerate(zip(W, b)):
        a = h @ Wi.T + bi
        h = model.net.act.f(a) if i < len(W) - 1 else a
    if model.net.head.name == "softmax":
        loss = torch.nn.functional.cross_entropy(h, y, reduction="sum")
    else:
        loss = 0.5 * ((torch.sigmoid(h) - x) ** 2).sum()
    loss.backward()
    return [(Wi.grad, bi.grad) for Wi, bi in zip(W, b)]


def assert_updates_equal(got, want, tol=TOL):
    assert len(got) == len(want)
    for (dW, db), (gW, gb) in zip(got, want):
        assert dW.shape == gW.shape and db.shape == gb.shape
        assert (dW - gW).abs().max() <= tol
        assert (db - gb).abs().max() <= tol


@pytest.mark.parametrize("sizes", [[6, 5, 3], [6, 5, 4, 3], [6, 5, 4, 4, 3], [8, 7, 6, 5, 4, 3]])
@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
@pytest.mark.parametrize("batch", [1, 3, 16])
def test_bp_engine_equals_autograd(sizes, activation, batch, tiny):
    m = fa_lab.build(sizes, activation, "bp", seed=1, dtype="float64")
    x, y = tiny(sizes, batch)
    assert_updates_equal(m.updates(x, y), autograd_updates(m, x, y))


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_bp_engine_equals_autograd_autoencoder(activation, tiny):
    sizes = [9, 5, 4, 9]
    m = fa_lab.build(sizes, activation, "bp", seed=2, dtype="float64", head="sigmoid")
    x, _ = tiny(sizes, 5, head="sigmoid")
    assert_updates_equal(m.updates(x), autograd_updates(m, x, None))


@pytest.mark.parametrize("sizes", [[6, 5, 3], [6, 5, 4, 3], [7, 6, 5, 4, 3]])
def test_fa_with_transposed_weights_is_bp(sizes, tiny):
    m = fa_lab.build(sizes, "tanh", "fa", seed=3, dtype="float64")
    for i in range(1, len(sizes) - 1):
        m.set_feedback("B_tilde", i, m.weight(i + 1).T)
    x, y = tiny(sizes, 6)
    assert_updates_equal(m.updates(x, y), m.updates(x, y, rule=fa_lab.get_rule("bp", len(sizes) - 2)))


def test_fa_with_random_feedback_is_not_bp(tiny):
    m = fa_lab.build([6, 5, 4, 3], "tanh", "fa", seed=3, dtype="float64")
    x, y = tiny([6, 5, 4, 3], 6)
    dW = m.updates(x, y)[0][0]
    gW = m.updates(x, y, rule=fa_lab.get_rule("bp", 2))[0][0]
    assert (dW - gW).abs().max() > 1e-3


def test_one_hidden_layer_dfa_equals_fa_with_same_matrix(tiny):
    dfa = fa_lab.build([6, 5, 3], "sigmoid", "dfa", seed=4, dtype="float64")
    fa = fa_lab.build([6, 5, 3], "sigmoid", "fa", seed=4, dtype="float64")
    fa.set_feedback("B_tilde", 1, dfa.feedback_matrix("B", 1))
    x, y = tiny([6, 5, 3], 5)
    assert_updates_equal(dfa.updates(x, y), fa.updates(x, y))


# ---------------------------------------------------------------- hand-written Table 1
def by_hand(model, x, y, strategy, aux):
    """SPEC's equations for two hidden layers, written out without the engine (rows of examples)."""
    (W1, W2, W3), (b1, b2, b3) = model.net.W, model.net.b
    f = model.net.act.f
    a1 = x @ W1.T + b1
    h1 = f(a1)
    a2 = h1 @ W2.T + b2
    h2 = f(a2)
    a3 = h2 @ W3.T + b3
    Y = torch.nn.functional.one_hot(y, W3.shape[0]).double()
    e = torch.softmax(a3, -1) - Y
    d1f, d2f = model.net.act.df(a1, h1), model.net.act.df(a2, h2)
    fb = model.feedback
    B1, B2 = fb.get(("B", 1)), fb.get(("B", 2))
    # auxiliary (LAFS) errors: eⁱ = softmax((Bⁱ)ᵀ hⁱ) − y
    e1 = torch.softmax(h1 @ B1, -1) - Y if aux else e
    e2 = torch.softmax(h2 @ B2, -1) - Y if aux else e
    if strategy == "s1":
        da2 = (e2 @ B2.T) * d2f
        da1 = 0.5 * (e1 @ B1.T + da2 @ fb["B_tilde", 1].T) * d1f
    elif strategy == "s2":
        da1 = (e1 @ B1.T) * d1f
        da2 = 0.5 * (e2 @ B2.T + da1 @ fb["B_bar", 2].T) * d2f
    elif strategy == "s3":
        dt1, dt2 = (e1 @ B1.T) * d1f, (e2 @ B2.T) * d2f
        da2 = 0.5 * (e2 @ B2.T + dt1 @ fb["B_bar", 2].T) * d2f
        da1 = 0.5 * (e1 @ B1.T + dt2 @ fb["B_tilde", 1].T) * d1f
    elif strategy == "dfa":
        da1, da2 = (e1 @ B1.T) * d1f, (e2 @ B2.T) * d2f
    elif strategy == "fa":
        da2 = (e @ fb["B_tilde", 2].T) * d2f
        da1 = (da2 @ fb["B_tilde", 1].T) * d1f
    return [(da1.T @ x, da1.sum(0)), (da2.T @ h1, da2.sum(0)), (e.T @ h2, e.sum(0))]


@pytest.mark.parametrize("strategy", ["s1", "s2", "s3", "dfa", "fa"])
@pytest.mark.parametrize("aux", [False, True])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_presets_equal_hand_written_equations(strategy, aux, activation, tiny):
    if strategy == "fa" and aux:
        pytest.skip("FA has no direct term, so no auxiliary version")
    sizes = [7, 6, 5, 4]
    m = fa_lab.build(sizes, activation, strategy, aux=aux, seed=5, dtype="float64")
    x, y = tiny(sizes, 9)
    assert_updates_equal(m.updates(x, y), by_hand(m, x, y, strategy, aux))


def test_auxiliary_error_changes_the_update(tiny):
    x, y = tiny([7, 6, 5, 4], 9)
    a = fa_lab.build([7, 6, 5, 4], "tanh", "s1", seed=5, dtype="float64").updates(x, y)
    b = fa_lab.build([7, 6, 5, 4], "tanh", "s1", aux=True, seed=5, dtype="float64").updates(x, y)
    assert (a[0][0] - b[0][0]).abs().max() > 1e-6
    assert (a[2][0] - b[2][0]).abs().max() == 0  # the output layer always learns from e


def test_autoencoder_error_and_dfa_by_hand(tiny):
    sizes = [9, 5, 4, 9]
    m = fa_lab.build(sizes, "sigmoid", "dfa", seed=6, dtype="float64", head="sigmoid")
    x, _ = tiny(sizes, 4, head="sigmoid")
    fw = m.net.forward(x)
    xh = torch.sigmoid(fw.a[-1])
    e = (xh - x) * (1 - xh) * xh  # SPEC, Experiment 3
    d = m.deltas(x)
    assert (d[-1] - e).abs().max() < TOL
    h1, h2 = fw.h[1], fw.h[2]
    assert (d[0] - (e @ m.feedback["B", 1].T) * h1 * (1 - h1)).abs().max() < TOL
    assert (d[1] - (e @ m.feedback["B", 2].T) * h2 * (1 - h2)).abs().max() < TOL
    assert m.feedback_matrix("B", 1).shape == (5, 9)


def test_strategy_evaluation_order():
    assert fa_lab.get_rule("s1", 2).order == (1, 0)  # layer 2 first
    assert fa_lab.get_rule("s2", 2).order == (0, 1)  # layer 1 first
    assert fa_lab.get_rule("bp", 4).order == (3, 2, 1, 0)
    assert set(fa_lab.get_rule("s3", 2).order) == {0, 1}


def test_user_rule_without_touching_the_engine(tiny):
    """A new strategy is data: DFA at the bottom, an FA+DFA mix above, with F = max."""
    rule = Rule("mine", (("direct",), ("direct", "above"), ("direct", "below~")), F=lambda ts: torch.stack(ts).amax(0))
    sizes = [7, 6, 5, 4, 3]
    m = fa_lab.build(sizes, "tanh", rule, seed=7, dtype="float64")
    x, y = tiny(sizes, 5)
    d = m.deltas(x, y)
    fw = m.net.forward(x)
    fb, e = m.feedback, d[-1]
    fp = [m.net.act.df(a, h) for a, h in zip(fw.a, fw.h[1:])]
    d1 = (e @ fb["B", 1].T) * fp[0]
    d3 = torch.maximum(e @ fb["B", 3].T, ((e @ fb["B", 2].T) * fp[1]) @ fb["B_bar", 3].T) * fp[2]
    d2 = torch.maximum(e @ fb["B", 2].T, d3 @ fb["B_tilde", 2].T) * fp[1]
    for got, want in zip(d, [d1, d2, d3]):
        assert (got - want).abs().max() < TOL
    assert rule.describe()[0][0] == "δa³"


def test_table1_rendering():
    rows = dict(fa_lab.get_rule("s3", 2).describe())
    assert rows["δa²"] == "F(B²e, B̄²δã¹) ⊙ f′(a²)"
    assert rows["δa¹"] == "F(B¹e, B̃¹δã²) ⊙ f′(a¹)"
    assert dict(fa_lab.get_rule("s1", 2, aux=True).describe())["δa²"] == "B²e² ⊙ f′(a²)"


def test_angles_bp_is_zero_dfa_is_not(tiny):
    x, y = tiny([6, 5, 4, 3], 20)
    assert max(fa_lab.build([6, 5, 4, 3], "tanh", "bp", dtype="float64").angles(x, y)) < 1e-5
    ang = fa_lab.build([6, 5, 4, 3], "tanh", "dfa", dtype="float64").angles(x, y)
    assert ang[-1] < 1e-5 and ang[0] > 1.0
