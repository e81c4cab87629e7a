"""The command line: real training, --help lists the choices, one-line errors."""

import subprocess
import sys


def run(*args):
    return subprocess.run([sys.executable, "-m", "fa_lab", *args], capture_output=True, text=True, timeout=600)


def test_train_runs_and_prints_test_error():
    p = run("train", "--sizes", "784,32,32,10", "--rule", "s2", "--aux", "--epochs", "1", "--subset", "2000",
            "--no-progress", "--lr", "0.01")
    assert p.returncode == 0, p.stderr
    assert "epoch   1" in p.stdout and "final test error:" in p.stdout


def test_help_lists_choices():
    out = run("train", "--help").stdout
    for word in ("bp", "s3", "relu", "B7", "--batch-size", "--device", "--family", "--aux"):
        assert word in out
    from fa_lab.replication.experiments import EVERYTHING, GROUPS

    out = " ".join(run("replicate", "--help").stdout.split())
    assert all(name in out for name in [*EVERYTHING, *GROUPS])  # every name replicate accepts, variants included


def test_bad_arguments_are_one_line():
    for args, msg in [(("train", "--rule", "xyz"), "invalid choice: 'xyz'"),
                      (("train", "--sizes", "784,a,10"), "expected comma-separated integers"),
                      (("train", "--rule", "bp", "--aux", "--epochs", "1"), "uses no direct or tilde terms"),
                      (("train", "--lr", "-1", "--epochs", "1", "--subset", "100"), "lr must be a positive number"),
                      (("train", "--device", "cuda:0", "--epochs", "1"), "cuda"),
                      (("train", "--subset", "0"), "--subset must be a positive integer")]:
        p = run(*args)
        assert p.returncode == 2, (args, p.stderr)
        assert msg in p.stderr and "Traceback" not in p.stderr
        assert len([line for line in p.stderr.splitlines() if "error" in line]) == 1
