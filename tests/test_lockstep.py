"""Lockstep training equals training the same models one after another (float64, tight tolerance).

Stacking K models changes only how the arithmetic is batched (one batched product per layer
for the forward pass and the weight updates, error transport per group of models sharing a
rule), never what is computed. No timing is asserted here: speed lives in benchmarks/bench.py.
"""

import pytest
import torch

import fa_lab

TOL = 1e-10
ROW = ("bp", "fa", "dfa", "s1", "s2", "s3")


@pytest.fixture(scope="module")
def part(mnist):
    return mnist.subset(320, 100)


def build_row(specs, sizes, activation="tanh", head="softmax"):
    """Fresh models from (rule, seed, family, aux) tuples, each with a unique name."""
    return [fa_lab.build(sizes, activation, rule, aux=aux, family=family, seed=seed, head=head, dtype="float64",
                         name=f"{rule}{'+aux' if aux else ''}/{family}/{seed}/{k}")
            for k, (rule, seed, family, aux) in enumerate(specs)]


def assert_same(specs, data, sizes=(784, 24, 16, 10), epochs=2, batch_size=32, seed=0, **kw):
    together = build_row(specs, list(sizes), **kw)
    alone = build_row(specs, list(sizes), **kw)
    h_together = {h.name: h for h in fa_lab.fit(together, data, epochs=epochs, batch_size=batch_size, seed=seed,
                                                progress=False)}
    assert sorted(h_together) == sorted(m.name for m in together)
    fresh = build_row(specs, list(sizes), **kw)
    for m_t, m_a, m_f in zip(together, alone, fresh):
        (h_a,) = fa_lab.fit([m_a], data, epochs=epochs, batch_size=batch_size, seed=seed, progress=False)
        h_t = h_together[m_t.name]
        for i in range(1, len(sizes)):
            assert (m_t.weight(i) - m_a.weight(i)).abs().max() <= TOL, (m_t.name, i)
            assert (m_t.bias(i) - m_a.bias(i)).abs().max() <= TOL, (m_t.name, i)
        assert h_t.epochs == h_a.epochs == epochs
        for field in ("train_error", "test_error", "train_loss"):
            got, want = getattr(h_t, field), getattr(h_a, field)
            assert max(abs(g - w) for g, w in zip(got, want)) <= TOL * max(1.0, *map(abs, want)), (m_t.name, field)
        assert abs(h_t.final_train_error - h_a.final_train_error) <= TOL
        assert not torch.equal(m_t.weight(1), m_f.weight(1)), "training changed nothing: the test would be vacuous"


@pytest.mark.parametrize("seed,family", [(0, "uniform"), (1, "uniform"), (2, "B1"), (3, "B6")])
def test_row_of_all_rules_equals_one_by_one(part, seed, family):
    assert_same([(r, seed, family, False) for r in ROW], part, seed=seed)


def test_auxiliary_errors_row(part):
    assert_same([(r, 4, "uniform", True) for r in ("dfa", "s1", "s2", "s3")], part)


def test_several_models_per_rule_and_interleaved_order(part):
    """Groups with K > 1 (same rule, different seeds) given in an interleaved order."""
    specs = [("dfa", 0, "uniform", False), ("bp", 0, "uniform", False), ("dfa", 1, "B3", False),
             ("s3", 5, "uniform", False), ("bp", 2, "uniform", False), ("dfa", 2, "uniform", False)]
    assert_same(specs, part, seed=7)


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_other_activations(part, activation):
    assert_same([(r, 1, "uniform", False) for r in ROW], part, epochs=1, activation=activation)


def test_autoencoder_row(part):
    assert_same([(r, 0, "uniform", False) for r in ("bp", "dfa", "s1", "s2", "s3")], part,
                sizes=(784, 16, 12, 784), epochs=1, head="sigmoid")


def test_three_hidden_layers(part):
    assert_same([(r, 0, "uniform", False) for r in ("bp", "fa", "dfa")], part, sizes=(784, 20, 16, 12, 10), epochs=1)
