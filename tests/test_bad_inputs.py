"""Every bad input gets one clear FaLabError naming what was wrong (and the valid choices)."""

import pytest
import torch

import fa_lab
from fa_lab import FaLabError
from fa_lab.core.data import MNIST
from fa_lab.core.rules import Rule

NET = [784, 20, 20, 10]


def small():
    g = torch.Generator().manual_seed(0)
    return MNIST(torch.rand(64, 784, generator=g), torch.randint(0, 10, (64,), generator=g),
                 torch.rand(16, 784, generator=g), torch.randint(0, 10, (16,), generator=g))


BUILD_CASES = [
    (dict(rule="sgd"), r"unknown rule 'sgd'; valid choices: bp, fa, dfa, s1, s2, s3"),
    (dict(rule="s1+aux"), r"unknown rule 's1\+aux'; valid choices: bp, fa, dfa, s1, s2, s3"),
    (dict(rule=42), r"rule must be a preset name .* got int"),
    (dict(activation="gelu"), r"unknown activation 'gelu'; valid choices: tanh, sigmoid, relu"),
    (dict(family="B8"), r"unknown feedback family 'B8'; valid choices: uniform, B1, B2, B3, B4, B5, B6, B7"),
    (dict(head="linear"), r"unknown head 'linear'; valid choices: softmax, sigmoid"),
    (dict(dtype="float16"), r"unknown dtype 'float16'; valid choices: float32, float64"),
    (dict(device="tpu"), r"device"),
    (dict(seed=-1), r"seed must be a non-negative integer, got -1"),
    (dict(seed=1.5), r"seed must be a non-negative integer, got 1.5"),
    (dict(sizes=[784]), r"sizes must be a list of at least two positive integers"),
    (dict(sizes=[784, 0, 10]), r"sizes must be a list of at least two positive integers"),
    (dict(sizes="784,10"), r"sizes must be a list"),
    (dict(sizes=[784, 10]), r"has no hidden layer"),
    (dict(sizes=[784, 20, 20, 20, 10], rule=Rule("s", (("direct", "above"), ("direct",)))),
     r"rule 's' describes 2 hidden layers but the net has 3"),
    (dict(rule="bp", aux=True), r"rule 'bp' uses no direct or tilde terms, so auxiliary errors would change nothing"),
    (dict(rule="fa", aux=True), r"rule 'fa' uses no direct or tilde terms"),
    (dict(aux="B1"), r"aux must be True or False, got 'B1' \(a feedback family goes in family=\.\.\."),
    (dict(head="sigmoid"), r"an auto-encoder .* sizes\[0\]=784 but sizes\[-1\]=10"),
    (dict(family="B4", feedback_params=dict(density=0)), r"density must be in \(0, 1\], got 0"),
    (dict(family="B2", feedback_params=dict(sd=0.1)), r"bad parameters \{'sd': 0.1\} for feedback family 'B2'"),
    (dict(rule=Rule("three", (("direct",),) * 3)), r"rule 'three' describes 3 hidden layers but the net has 2"),
]


@pytest.mark.parametrize("kwargs,message", BUILD_CASES)
def test_build_rejects(kwargs, message):
    args = dict(sizes=NET)
    args.update(kwargs)
    with pytest.raises(FaLabError, match=message):
        fa_lab.build(**args)


RULE_CASES = [
    ((("direct", "above"), ("direct", "below")), r"rule 'bad' is cyclic: hidden layers \[1, 2\]"),
    ((("below",), ("direct",)), r"hidden layer 1 has no hidden layer below it, so it cannot use 'below'"),
    ((("direct",), ()), r"hidden layer 2 has no error terms"),
    ((("direct", "sideways"), ("direct",)), r"unknown error term 'sideways'; valid choices: direct, above"),
    ((("direct", "direct"), ("direct",)), r"hidden layer 1 lists a term twice"),
]


@pytest.mark.parametrize("layers,message", RULE_CASES)
def test_rule_spec_rejects(layers, message):
    with pytest.raises(FaLabError, match=message):
        Rule("bad", layers)


def test_rule_bad_error_signal():
    with pytest.raises(FaLabError, match=r"unknown error signal 'hidden'; valid choices: output, auxiliary"):
        Rule("bad", (("direct",),), error="hidden")


@pytest.mark.parametrize("kwargs,message", [
    (dict(lr=0), r"lr must be a positive number, got 0"),
    (dict(lr=-0.1), r"lr must be a positive number, got -0.1"),
    (dict(lr=float("nan")), r"lr must be a positive number, got nan"),
    (dict(epochs=0), r"epochs must be a positive integer, got 0"),
    (dict(epochs=2.5), r"epochs must be a positive integer, got 2.5"),
    (dict(batch_size=0), r"batch_size must be a positive integer, got 0"),
    (dict(reduction="max"), r"unknown reduction 'max'; valid choices: sum, mean"),
])
def test_train_rejects(kwargs, message):
    m = fa_lab.build(NET)
    with pytest.raises(FaLabError, match=message):
        m.train(small(), progress=False, **kwargs)


def test_lockstep_rejects_mismatched_nets():
    a, b = fa_lab.build(NET), fa_lab.build([784, 30, 20, 10])
    with pytest.raises(FaLabError, match=r"must share sizes, activation, head, dtype and device"):
        fa_lab.fit([a, b], small(), epochs=1, progress=False)


def test_fit_rejects_empty_and_wrong_data():
    with pytest.raises(FaLabError, match="no models to train"):
        fa_lab.fit([], small(), epochs=1)
    with pytest.raises(FaLabError, match=r"data has 784 input features but the net expects 100"):
        fa_lab.fit([fa_lab.build([100, 20, 20, 10])], small(), epochs=1, progress=False)


def test_non_finite_loss_is_reported():
    m = fa_lab.build(NET)
    m.bias(3).fill_(float("nan"))
    with pytest.raises(fa_lab.TrainingDiverged, match=r"the training loss became nan"):
        m.train(small(), epochs=2, progress=False)


@pytest.mark.parametrize("call,message", [
    (lambda m: m.weight(0), r"layer index must be an integer in 1..3, got 0"),
    (lambda m: m.feedback_matrix("B", 3), r"layer index must be an integer in 1..2, got 3"),
    (lambda m: m.feedback_matrix("B_tilde", 1), r"rule 'dfa' uses no B_tilde at hidden layer 1"),
    (lambda m: m.feedback_matrix("C", 1), r"unknown feedback matrix kind 'C'; valid choices: B, B_tilde, B_bar"),
    (lambda m: m.set_weight(1, torch.zeros(784, 20)), r"W1 must have shape \(20, 784\), got \(784, 20\)"),
    (lambda m: m.set_weight(2, torch.full((20, 20), float("nan"))), r"W2 contains NaN or inf"),
    (lambda m: m.set_feedback("B_bar", 1, torch.zeros(20, 784)), r"B_bar does not exist for hidden layer 1"),
    (lambda m: m.updates(torch.zeros(3, 100), torch.zeros(3, dtype=torch.long)), r"x must have shape \(batch, 784\)"),
    (lambda m: m.updates(torch.zeros(3, 784), torch.tensor([0, 1, 10])), r"y must be 3 integer labels in 0..9"),
    (lambda m: m.updates(torch.zeros(3, 784)), r"a classifier needs labels y"),
])
def test_model_api_rejects(call, message):
    with pytest.raises(FaLabError, match=message):
        call(fa_lab.build(NET, rule="dfa"))


def test_cuda_requested_without_gpu():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(FaLabError, match=r"no CUDA GPU is available here; use device='cpu'"):
        fa_lab.build(NET, device="cuda")
