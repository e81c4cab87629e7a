"""Sweeps beyond one machine (issue 13): the missing runs submitted through submitit.

- ``--executor local``: submitit's LocalExecutor, real processes, the same task as Slurm's.
- ``--executor slurm``: the job array is formed without a cluster: ``srun`` is made visible and ``sbatch`` is
  replaced (as submitit's own tests do), the generated sbatch script is inspected, and the array's tasks are then
  run here from the pickles submitit wrote, as a Slurm node would.
Tiny quick slices; everything under pytest's tmp_path.
"""

import re
import sys

import pytest

import fa_lab.replication.grid as grid
import fa_lab.replication.results as rs
from fa_lab.cli import main
from fa_lab.replication.runner import replicate

submitit = pytest.importorskip("submitit")
TRAIN = sys.modules["fa_lab.core.train"]


@pytest.fixture
def tiny(quick_slice):
    return quick_slice


def _valid(res):
    return sorted(rs.read_record(p).run_id for p in res.rglob("*.json"))


def test_local_executor_trains_the_missing_runs_and_a_rerun_submits_nothing(tiny, tmp_path, capsys):
    res, logs = tmp_path / "r", tmp_path / "logs"
    kw = dict(quick=True, results_dir=res, progress=False, max_group_size=2, jobs=2, executor="local",
              submitit={"folder": logs, "time_min": 10})
    assert replicate("exp1", **kw) == 3
    assert _valid(res) == sorted(c.run_id for c in grid.configs("exp1", "quick"))
    out = capsys.readouterr().out
    assert "[1/2] exp1 2x200 Tanh seed 0 done in" in out and "finished 3 runs" in out
    jobs = sorted(logs.glob("*_submitted.pkl"))
    assert len(jobs) == 2  # one local job per lockstep group
    assert replicate("exp1", **kw) == 0
    assert sorted(logs.glob("*_submitted.pkl")) == jobs
    assert "0 to run now" in capsys.readouterr().out
    assert not [p for p in res.rglob("*") if p.name.endswith((".claim", ".tmp"))]


class FakeSbatch:
    """Stands in for ``sbatch``: keeps each submission script, answers like Slurm."""

    def __init__(self):
        self.scripts = []

    def __call__(self, command, **kwargs):
        def run():
            assert command[0] == "sbatch"
            self.scripts.append(open(command[1]).read())
            return f"Submitted batch job {4242 + len(self.scripts)}\n".encode()
        return run


@pytest.fixture
def slurm(monkeypatch):
    import shutil

    import submitit.core.utils

    fake, which = FakeSbatch(), shutil.which
    monkeypatch.setattr(submitit.core.utils, "CommandFunction", fake)
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: "/usr/bin/srun" if name == "srun" else which(name))
    return fake


def _run_array_tasks(logs):
    """Run every submitted array task here, as Slurm nodes would (submitit's pickles: function and arguments)."""
    from submitit.core.utils import DelayedSubmission

    return [DelayedSubmission.load(p).result() for p in sorted(logs.glob("*_submitted.pkl"))]


def test_slurm_submission_is_formed_correctly_and_resumable(tiny, slurm, tmp_path, capsys, monkeypatch):
    res, logs = tmp_path / "r", tmp_path / "logs"
    argv = ["replicate", "exp1", "--quick", "--results", str(res), "--max-group-size", "1", "--executor", "slurm",
            "--slurm-partition", "gpu", "--slurm-time", "600", "--slurm-array-parallelism", "2", "--slurm-gpus", "1",
            "--slurm-cpus", "4", "--submitit-folder", str(logs)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "submitted 3 lockstep groups (3 runs) as Slurm job array 4243 (at most 2 at once)" in out
    assert len(slurm.scripts) == 1
    sbatch = slurm.scripts[0]
    for line in ("#SBATCH --array=0-2%2", "#SBATCH --partition=gpu", "#SBATCH --time=600", "#SBATCH --gpus-per-node=1",
                 "#SBATCH --cpus-per-task=4", "#SBATCH --job-name=fa_lab"):
        assert line in sbatch.splitlines(), (line, sbatch)
    assert re.search(r"srun .* -m submitit\.core\._submit ", sbatch)
    assert not list(res.rglob("*.json"))  # nothing trained on the submitting machine

    # a second submission before the array runs: the same runs are submitted again ...
    assert main(argv) == 0 and len(slurm.scripts) == 2
    writes = []
    write = rs.write_record
    monkeypatch.setattr(rs, "write_record", lambda res, rec: writes.append(rec.run_id) or write(res, rec))
    outcomes = _run_array_tasks(logs)  # ... and the claims make the second array's tasks skip them
    assert len(outcomes) == 6 and sorted(writes) == _valid(res) and len(writes) == 3
    assert sum(len(o["skipped"]) for o in outcomes) == 3
    assert {o["results"][0][0] for o in outcomes if o["results"]} == set(writes)
    assert all(o["results"][0][3] is None for o in outcomes if o["results"])

    assert main(argv) == 0 and len(slurm.scripts) == 2  # resumable: nothing missing, nothing submitted
    assert "0 to run now" in capsys.readouterr().out


def test_slurm_without_a_cluster_is_one_line(tiny, tmp_path, capsys, monkeypatch):
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    assert main(["replicate", "exp1", "--quick", "--results", str(tmp_path / "r"), "--executor", "slurm",
                 "--submitit-folder", str(tmp_path / "logs")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ['fa_lab: error: --executor slurm: Could not detect "srun", are you indeed on a slurm cluster?']


@pytest.mark.parametrize("argv, message", [
    (["--executor", "cloud"], "unknown executor 'cloud'; valid choices: pool, local, slurm"),
    (["--executor", "slurm", "--slurm-time", "0"], "--slurm-time must be a positive integer, got 0"),
    (["--executor", "slurm", "--slurm-array-parallelism", "x"], "--slurm-array-parallelism must be a positive integer"),
    (["--executor", "slurm", "--slurm-gpus", "-1"], "--slurm-gpus must be a non-negative integer, got '-1'"),
    (["--claim-timeout", "0"], "--claim-timeout must be a positive number"),
])
def test_bad_executor_options_give_one_line(tmp_path, capsys, argv, message):
    assert main(["replicate", "exp1", "--quick", "--results", str(tmp_path / "r"), *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("fa_lab: error: ") and message in err[0]
    assert not (tmp_path / "r").exists()
