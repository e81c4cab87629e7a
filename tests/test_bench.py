"""benchmarks/bench.py stays runnable and its FLOP model (benchmarks/flops.py) stays the engine's. No time is asserted."""

import math
import sys
from pathlib import Path

import pytest
import torch

import fa_lab

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import bench, flops  # noqa: E402

SIZES = [784, 800, 800, 10]


@pytest.mark.parametrize("rule", ["bp", "fa", "dfa", "s1", "s2", "s3", "dfa+aux", "s3+aux"])
def test_step_gemms_are_the_flop_model(rule):
    """The GEMMs the ceiling times are the FLOP model's (step_gemms asserts the count), and run."""
    name, aux = rule.split("+")[0], rule.endswith("+aux")
    model = fa_lab.build(SIZES, "tanh", name, aux=aux)
    calls, n_flops = flops.step_gemms(model.rule, SIZES, torch.device("cpu"), batch=4)
    assert n_flops == 4 * flops.flops_per_example(model.rule, SIZES)
    expected = {"dfa": 8, "bp": 8, "fa": 8, "s1": 9, "s2": 9, "s3": 10}[name] + (2 if aux else 0)
    assert len(calls) == expected
    for call in calls:
        call()


def test_flop_model_counts_by_hand():
    """dfa on 784-800-800-10: forward and updates 2·(784·800 + 800·800 + 800·10) each, two Bⁱe of 2·800·10."""
    dfa = fa_lab.build(SIZES, "tanh", "dfa").rule
    layers = 784 * 800 + 800 * 800 + 800 * 10
    assert flops.flops_per_example(dfa, SIZES) == 4 * layers + 2 * 2 * 800 * 10
    bp = fa_lab.build(SIZES, "tanh", "bp").rule  # Wᵀ transports: 2·800·10 into layer 2, 2·800·800 into layer 1
    assert flops.flops_per_example(bp, SIZES) == 4 * layers + 2 * 800 * 10 + 2 * 800 * 800


def test_bench_runs_and_prints_the_result_line(mnist, capsys):
    threads = torch.get_num_threads()
    try:
        ratios = bench.main(["--sizes", "784,8,8,10", "--batches", "2", "--repeats", "1", "--peak-n", "128"])
    finally:
        torch.set_num_threads(threads)  # the bench pins one thread; leave the session as it was
    out = capsys.readouterr().out
    last = out.strip().splitlines()[-1]
    assert last.startswith("RESULT ")
    keys = [kv.split("=")[0] for kv in last.split()[1:]]
    assert keys == ["gemm_fraction", "lockstep_gemm_fraction", "autograd_speedup", "lockstep_autograd_speedup",
                    "naive_speedup"]
    assert all(math.isfinite(v) and v > 0 for v in ratios.values())
    diag = next(line for line in out.splitlines() if line.startswith("alignment diagnostics, recorded after every epoch"))
    assert "ms for the six nets" in diag and "% of their lockstep epoch" in diag
