"""Training: determinism, divergence, the real-data acceptance check."""

import pytest
import torch

import fa_lab


@pytest.fixture(scope="module")
def small(mnist):
    return mnist.subset(2000, 500)


def trained(small, seed, rule="s1", data_seed=None, **kw):
    m = fa_lab.build([784, 32, 32, 10], "tanh", rule, seed=seed)
    h = m.train(small, epochs=2, batch_size=32, seed=seed if data_seed is None else data_seed, progress=False, **kw)
    return m, h


def test_same_seed_same_weights(small):
    (a, ha), (b, hb) = trained(small, 0), trained(small, 0)
    for i in (1, 2, 3):
        assert torch.equal(a.weight(i), b.weight(i)) and torch.equal(a.bias(i), b.bias(i))
    assert ha.test_error == hb.test_error and ha.train_error == hb.train_error


def test_different_seed_different_weights(small):
    (a, _), (b, _) = trained(small, 0), trained(small, 1)
    assert not torch.equal(a.weight(1), b.weight(1))


def test_batch_order_seed_matters(small):
    (a, _), (b, _) = trained(small, 0, data_seed=0), trained(small, 0, data_seed=5)
    assert not torch.equal(a.weight(1), b.weight(1))


def test_history_fields(small):
    _, h = trained(small, 0, rule="dfa")
    assert h.epochs == 2 and len(h.train_error) == 2 and len(h.epoch_time) == 2
    assert 0 <= h.test_error[-1] <= 100 and h.final_train_error is not None and h.diverged is None


def test_training_reduces_error(small):
    m = fa_lab.build([784, 64, 64, 10], "tanh", "dfa", seed=0)
    before = fa_lab.fit([m], small, epochs=1, batch_size=2000, lr=1e-12, progress=False)[0].test_error[0]
    after = m.train(small, epochs=3, batch_size=32, progress=False).test_error[-1]
    assert after < before - 20


def test_mean_reduction_is_sum_with_scaled_lr(small):
    a = fa_lab.build([784, 16, 16, 10], "tanh", "dfa", seed=0, dtype="float64")
    b = fa_lab.build([784, 16, 16, 10], "tanh", "dfa", seed=0, dtype="float64")
    a.train(small, epochs=1, batch_size=50, lr=0.001, progress=False)
    b.train(small, epochs=1, batch_size=50, lr=0.05, reduction="mean", progress=False)
    assert (a.weight(1) - b.weight(1)).abs().max() < 1e-12


def test_divergence_stops_with_message(small):
    m = fa_lab.build([784, 32, 32, 10], "relu", "fa", family="B1", seed=0)
    with pytest.raises(fa_lab.TrainingDiverged, match=r"diverged at epoch 1 .*lr=1e\+06") as info:
        m.train(small, epochs=3, batch_size=32, lr=1e6, progress=False)
    assert info.value.history.epochs == 0


def test_lockstep_keeps_healthy_models_when_one_diverges(small):
    good = fa_lab.build([784, 32, 32, 10], "tanh", "dfa", seed=0)
    bad = fa_lab.build([784, 32, 32, 10], "tanh", "fa", family="B1", seed=0)
    bad.weight(3).fill_(float("inf"))  # set_weight would refuse it
    h_good, h_bad = fa_lab.fit([good, bad], small, epochs=2, batch_size=32, progress=False)
    assert h_bad.diverged and "epoch 1" in h_bad.diverged
    assert h_good.diverged is None and h_good.epochs == 2


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), "inf-inf"])
def test_a_single_non_finite_weight_marks_divergence(bad):
    """fit's divergence check reduces each weight to its sum; one bad entry must still show."""
    from fa_lab.core.train import _all_finite

    w = torch.randn(50, 40, dtype=torch.float64)
    assert _all_finite(w)
    if bad == "inf-inf":  # +inf and -inf together sum to NaN
        w[0, 0], w[7, 3] = float("inf"), -float("inf")
    else:
        w[13, 21] = bad
    assert not _all_finite(w)


def test_autoencoder_trains(small):
    m = fa_lab.build([784, 32, 32, 784], "sigmoid", "dfa", head="sigmoid", seed=0)
    h = m.train(small, epochs=2, batch_size=32, lr=0.01, progress=False)
    assert h.test_error[-1] < h.test_error[0] or h.test_error[-1] < 60


def test_callback_can_stop(small):
    m = fa_lab.build([784, 16, 16, 10], "tanh", "dfa")
    h = m.train(small, epochs=5, batch_size=64, progress=False, callbacks=lambda epoch, hs: epoch == 2)
    assert h.epochs == 2


def test_real_data_dfa_one_epoch_below_10_percent(mnist):
    """Issue acceptance check: 2x200 tanh DFA, one epoch of full MNIST, < 10 % test error."""
    m = fa_lab.build([784, 200, 200, 10], "tanh", "dfa", seed=0)
    h = m.train(mnist, epochs=1, progress=False)
    assert h.test_error[0] < 10.0


def test_histories_follow_the_callers_order(small):
    """Lockstep groups models by rule internally; fit still returns histories in input order."""
    models = [fa_lab.build([784, 16, 16, 10], "tanh", r, seed=0, name=n)
              for r, n in [("dfa", "first"), ("bp", "second"), ("dfa", "third"), ("fa", "fourth")]]
    hs = fa_lab.fit(models, small, epochs=1, batch_size=100, progress=False)
    assert [h.name for h in hs] == ["first", "second", "third", "fourth"]
    alone = fa_lab.fit([fa_lab.build([784, 16, 16, 10], "tanh", "bp", seed=0)], small, epochs=1, batch_size=100,
                       progress=False)[0]
    assert abs(hs[1].test_error[0] - alone.test_error[0]) < 1e-9


@pytest.mark.parametrize("head", ["softmax", "sigmoid"])
def test_on_the_fly_train_error_is_each_batch_before_its_update(small, head):
    """fit scores an epoch's outputs in large chunks at its end; that must equal scoring each batch,
    in the shuffled order, just before its own update (hand-written loop, float64)."""
    from fa_lab.core.nets import generator
    from fa_lab.core.lockstep import Lockstep

    data = small.subset(96, 16)
    sizes = [784, 12, 12, 10 if head == "softmax" else 784]
    make = lambda: fa_lab.build(sizes, "tanh", "s2", head=head, seed=3, dtype="float64")  # noqa: E731
    (h,) = fa_lab.fit([make()], data, epochs=1, batch_size=8, lr=0.01, seed=5, progress=False)

    m = make()
    stack, x, y = Lockstep([m]), data.x_train.double(), data.y_train
    perm = torch.randperm(96, generator=generator(5, "data-order"))
    wrong = loss = 0.0
    for s in range(0, 96, 8):
        idx = perm[s:s + 8]
        xb = x[idx]
        t = m.net.head.target(y[idx], xb, sizes[-1], torch.float64)
        out = m.net.forward(xb).a[-1]
        wrong += float((out.argmax(-1) != y[idx]).sum()) if head == "softmax" else float(((out.sigmoid() - xb) ** 2).sum())
        loss += float(m.net.head.loss(out, t))
        stack.step(xb, t, 0.01)
    expected = 100 * wrong / 96 if head == "softmax" else wrong / 96
    assert h.train_error[0] == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert h.train_loss[0] == pytest.approx(loss / 96, rel=1e-12)
