"""Bad input to the core reaches the user as one FaLabError line, never a raw torch error or silent garbage
(issue 13, items 6-10). Each case failed (raw error, or no error) before it was handled."""

import subprocess
import sys

import pytest
import torch

import fa_lab
from fa_lab import FaLabError, Rule
from fa_lab.core.data import MNIST


def _data(n=32, labels=None, n_in=4):
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (n,), generator=g) if labels is None else labels
    return MNIST(torch.rand(n, n_in, generator=g), y, torch.rand(8, n_in, generator=g), torch.zeros(8, dtype=torch.long))


def _tiny(**kw):
    return fa_lab.build([4, 3, 3, 2], **kw)


CASES = [
    ("build(None)", lambda: fa_lab.build(None), r"sizes must be a list of at least two positive integers"),
    ("huge seed", lambda: _tiny(seed=2**62), r"seed must be an integer in 0\.\.\d+, got 4611686018427387904"),
    ("net too big", lambda: fa_lab.build([784, 10**8, 10]), r"need .* GiB for the weights alone; this machine has"),
    ("int64 dtype", lambda: _tiny(dtype=torch.int64), r"unknown dtype torch.int64; valid choices: float32, float64"),
    ("set_weight('abc')", lambda: _tiny().set_weight(1, "abc"), r"W1 must be a tensor or array of numbers of shape"),
    ("empty batch", lambda: _tiny().updates(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long)),
     r"x must have shape \(batch, 4\) with batch ≥ 1"),
    ("fit on empty data", lambda: fa_lab.fit([_tiny()], _data(0), epochs=1, progress=False),
     r"no examples to train or test on \(0 training, 8 test\)"),
    ("labels ≥ outputs", lambda: fa_lab.fit([_tiny()], _data(labels=torch.full((32,), 5)), epochs=1, progress=False),
     r"labels must be integers in 0\.\.1 for a net with 2 outputs; got labels in 5\.\.5"),
    ("lr beyond float32", lambda: fa_lab.fit([_tiny()], _data(), epochs=1, lr=1e308, progress=False),
     r"lr must be at most 3.4e\+38"),
    ("fit([m, m])", lambda: (lambda m: fa_lab.fit([m, m], _data(), epochs=1, progress=False))(_tiny()),
     r"the same model object is listed twice"),
    ("F returns a scalar", lambda: _tiny(rule=Rule("x", (("direct", "above"), ("direct",)), F=lambda ts: ts[0].sum())),
     r"F must return one tensor shaped like each term .* got \(\)"),
    ("F returns a row", lambda: _tiny(rule=Rule("x", (("direct", "above"), ("direct",)), F=lambda ts: ts[0][:1])),
     r"F must return one tensor shaped like each term .* got \(1, 3\)"),
    ("family of wrong shape", lambda: _tiny(rule="dfa", family=lambda shape, g: torch.zeros(2, 2)),
     r"feedback family '<lambda>' returned \(2, 2\) for B1; it must return a tensor of shape \(3, 2\)"),
    ("family with NaN", lambda: _tiny(rule="dfa", family=lambda shape, g: torch.full(shape, float("nan"))),
     r"returned NaN or inf entries for B1"),
]


@pytest.mark.parametrize("name, call, message", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_clear_error(name, call, message):
    with pytest.raises(FaLabError, match=message):
        call()


def test_exploding_loss_is_divergence_not_success():
    """lr 1e30 used to finish 'successfully' at chance level with a loss of 1e32."""
    (h,) = fa_lab.fit([_tiny(rule="dfa")], _data(), epochs=2, lr=1e30, progress=False)
    assert h.diverged and "training diverged at epoch 1" in h.diverged


def test_a_run_at_chance_level_warns():
    """A net that learns nothing (here: every hidden unit of a relu net dead) ends with a warning."""
    m = fa_lab.build([4, 3, 3, 2], activation="relu", rule="bp")
    m.set_bias(1, torch.full((3,), -100.0))  # every first-layer relu is dead
    d = _data()
    (h,) = fa_lab.fit([m], MNIST(d.x_train, d.y_train, d.x_test, torch.tensor([0, 1] * 4)), epochs=1, progress=False)
    assert h.test_error[-1] >= 47.5 and "chance level for 2 classes (50 %)" in h.warning


@pytest.mark.parametrize("argv, message", [
    (["--lr", "1e308"], "lr must be at most 3.4e+38"),
    (["--seed", "100000000000000"], "seed must be an integer in 0.."),
    (["--sizes", "784,100000000,10"], "GiB for the weights alone"),
])
def test_cli_train_bad_numbers_are_one_line(argv, message):
    p = subprocess.run([sys.executable, "-m", "fa_lab", "train", "--subset", "64", "--epochs", "1", "--no-progress"]
                       + argv, capture_output=True, text=True, timeout=300)
    assert p.returncode == 2 and message in p.stderr and "Traceback" not in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
