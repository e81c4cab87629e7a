"""Experiments as configs, the resumable runner, the results store and the report (issue 4).

Everything trains on tiny MNIST slices for 1 epoch (the quick protocol is monkeypatched smaller)
and writes only under pytest's tmp_path.
"""

import csv
import json
import sys

import numpy as np
import pytest

import fa_lab.replication.experiments as ex
import fa_lab.replication.grid as grid
import fa_lab.replication.results as rs
from fa_lab.cli import main
from fa_lab.core.errors import FaLabError
from fa_lab.replication.report import COLUMNS, report
from fa_lab.replication.runner import plan, replicate

TRAIN = sys.modules["fa_lab.core.train"]  # the module (fa_lab.core.train is also the name of a function)


@pytest.fixture
def tiny(monkeypatch):
    """Quick protocol of 64 train / 32 test examples, 1 epoch; Exp 1/2/baselines on 2x200 only."""
    monkeypatch.setattr(ex, "QUICK", {"epochs": 1, "n_train": 64, "n_test": 32})
    monkeypatch.setattr(ex, "WIDTHS", (200,))
    monkeypatch.setattr(ex, "ACTS", ("tanh",))


def _jsons(root):
    return sorted(p for p in root.rglob("*.json"))


def _one_line_error(capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("fa_lab: error: ")
    return err[0]


# ---------------------------------------------------------------------------------------------- configs
def test_experiment_sizes_and_groups():
    counts = {e: len(grid.configs(e)) for e in ex.EXPERIMENTS}
    assert counts == {"exp1": 27, "exp2": 27, "exp3": 10, "exp4": 14, "baselines": 27}
    runs = grid.configs("all", seeds=(0, 1))
    assert len(runs) == 210 and len({r.run_id for r in runs}) == 210
    groups = grid.group(runs)
    assert len(groups) == 22  # 9 classifier nets + 2 auto-encoders, per seed; Exp 4 joins the 2x800 tanh group
    assert all(len({r.group_key for r in g}) == 1 for g in groups)
    assert max(map(len, grid.group(runs, max_size=5))) == 5
    exp3 = grid.configs("exp3")
    assert {r.head for r in exp3} == {"sigmoid"} and {r.activation for r in exp3} == {ex.AE_ACTIVATION}
    assert {r.activation for r in grid.configs("exp3", ae_activation="tanh")} == {"tanh"}
    assert all(r.aux for r in grid.configs("exp2")) and not any(r.aux for r in grid.configs("exp1"))
    full = grid.configs("exp4")[0]
    assert (full.epochs, full.batch_size, full.n_train) == (TRAIN.EPOCHS, TRAIN.BATCH_SIZE, None)


def test_run_id_is_stable_and_hashes_the_full_config():
    a, b = grid.configs("exp4")[0], grid.configs("exp4")[0]
    assert a.run_id == b.run_id and a.run_id.startswith("exp4-784-800-800-10-tanh-fa-B1-s0-")
    assert grid.RunConfig.from_dict(json.loads(json.dumps(a.as_dict()))) == a
    assert grid.configs("exp4", lr=0.002)[0].run_id != a.run_id
    assert grid.configs("exp4", protocol="quick")[0].run_id != a.run_id


# ---------------------------------------------------------------------------------------------- end to end
def test_quick_replicate_then_report_end_to_end(tiny, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(ex, "FAMILY_NAMES", ("B2", "B4"))  # a slice of Exp 4 (architecture unchanged)
    res = tmp_path / "results"
    assert main(["replicate", "exp1", "baselines", "exp3", "exp4", "--quick", "--results", str(res),
                 "--no-progress"]) == 0
    files = _jsons(res)
    assert len(files) == 3 + 3 + 10 + 4
    for f in files:
        rec = rs.read_record(f)
        cfg = rec.config
        assert cfg.run_id == rec.run_id == f.stem and cfg.protocol == "quick" and f.parent.name == cfg.experiment
        assert len(rec.test_error) == 1 and rec.final_train_error is not None
        assert rec.versions["torch"] and rec.host["hostname"] and rec.wall_time_s > 0
        assert rec.threads >= 1 and rec.device == "cpu"
    npz = sorted(res.rglob("*.npz"))
    assert len(npz) == 10
    with np.load(npz[0]) as z:
        assert z["reconstructions"].shape == (10, 784) and z["weights1"].shape[1] == 784
        assert z["weights1"].shape[0] in (100, 128) and z["weights1"].dtype == np.float16
    assert not list(res.rglob("*.tmp"))

    assert main(["report", "--quick", "--results", str(res)]) == 0
    base = res / "quick"
    with open(base / "replication.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == COLUMNS and len(rows) == 68
    filled = {(r["table"], r["model"], r["method"]) for r in rows if r["ours_mean"]}
    assert filled == {("2", "2x200 Tanh", s) for s in ("s1", "s2", "s3")} | \
        {("4", "2x800 Tanh", f"{r}-B{i}") for r in ("fa", "dfa") for i in (2, 4)}
    import matplotlib.image

    pngs = sorted((base / "figures").glob("*.png"))
    assert {p.stem.split("_")[0] for p in pngs} == {"fig4", "fig5", "fig6", "fig7", "fig8", "alignment", "deep"}
    for p in pngs:
        assert matplotlib.image.imread(p).ndim == 3
    md = (base / "REPLICATION.md").read_text()
    assert "Table 4" in md and "figures/fig8_exp4_families.png" in md
    assert not (tmp_path / "REPLICATION.md").exists()  # quick report stays inside results/quick


def test_parallel_jobs(tiny, tmp_path):
    res = tmp_path / "r"
    assert replicate(["exp1"], quick=True, jobs=2, results_dir=res, progress=False, max_group_size=2) == 3
    assert len(_jsons(res)) == 3


# ---------------------------------------------------------------------------------------------- resume
def test_resume_after_interrupt_loses_only_runs_in_flight(tiny, tmp_path, monkeypatch):
    monkeypatch.setattr(ex, "ACTS", ("tanh", "relu"))
    res = tmp_path / "r"
    real_fit, calls = TRAIN.fit, []

    def flaky_fit(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(TRAIN, "fit", flaky_fit)
    kw = dict(quick=True, results_dir=res, progress=False, max_group_size=3)
    with pytest.raises(KeyboardInterrupt):
        replicate(["exp1", "baselines"], **kw)  # 4 groups of 3; killed in the 3rd
    first = {p: p.stat().st_mtime_ns for p in _jsons(res)}
    assert len(first) == 6 and not list(res.rglob("*.tmp"))
    runs, todo, _ = plan(["exp1", "baselines"], "quick", (0,), res, max_group_size=3)
    assert len(runs) == 12 and sum(map(len, todo)) == 6

    monkeypatch.setattr(TRAIN, "fit", real_fit)
    assert replicate(["exp1", "baselines"], **kw) == 6
    files = _jsons(res)
    assert sorted(f.stem for f in files) == sorted(r.run_id for r in runs)  # none missing, none duplicated
    assert all(p.stat().st_mtime_ns == t for p, t in first.items())  # finished runs were not redone
    assert replicate(["exp1", "baselines"], **kw) == 0


def test_interrupted_cli_returns_130(tiny, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(TRAIN, "fit", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    assert main(["replicate", "exp1", "--quick", "--results", str(tmp_path), "--no-progress"]) == 130
    assert not _jsons(tmp_path)


def test_atomic_write_leaves_nothing_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "a" / "x.json"
    rs.atomic_write_json(target, {"v": 1})
    monkeypatch.setattr(rs.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        rs.atomic_write_json(target, {"v": 2})
    assert json.loads(target.read_text()) == {"v": 1} and [p.name for p in target.parent.iterdir()] == ["x.json"]


# ---------------------------------------------------------------------------------------------- report on synthetic results
def _fake(res, cfg, final, train=0.0, diverged=None):
    rec = {"schema": 1, "run_id": cfg.run_id, "config": cfg.as_dict(), "model": cfg.net_name, "method": cfg.method,
           "train_error": [5.0, train], "test_error": [6.0, final] if final is not None else [6.0],
           "final_test_error": final, "final_train_error": None if diverged else train, "diverged": diverged}
    rs.atomic_write_json(rs.run_path(res, cfg.protocol, cfg.experiment, cfg.run_id), rec)


def _cfg(experiment, rule, seed=0, act="tanh", width=200, family="uniform"):
    for c in grid.configs(experiment, seeds=(seed,)):
        if c.rule == rule and c.activation == act and c.sizes[1] == width and c.family == family:
            return c
    raise AssertionError("no such config")


def test_report_on_synthetic_results(tmp_path):
    res = tmp_path / "results"
    for seed, err in zip((0, 1, 2), (2.0, 2.2, 2.4)):
        _fake(res, _cfg("exp1", "s1", seed), err, train=0.005)
    _fake(res, _cfg("exp1", "s2"), None, diverged="training diverged at epoch 1")
    _fake(res, _cfg("exp4", "dfa", width=800, family="B4"), 2.54, train=0.0)
    _fake(res, _cfg("baselines", "bp"), 1.5)
    _fake(res, grid.configs("exp1", lr=0.01)[0], 9.0)  # stale: other protocol settings, never mixed in
    (res / "full" / "exp1" / "garbage.json").write_text("{not json")
    (res / "full" / "exp1" / "nokeys.json").write_text('{"run_id": "nokeys"}')
    warnings = []
    from fa_lab.teaching.plots import save_figures

    figures = save_figures(rs.current(rs.load_results(res, warn=lambda s: None), "full")[0], res / "figures")
    out = report(res, "full", warn=warnings.append)
    assert len(warnings) == 3 and sum(w.startswith("fa_lab: warning: skipping malformed result file ") for w in warnings) == 2
    assert "ignoring 1 result files run with other protocol settings" in warnings[-1]
    assert any("garbage.json" in w for w in warnings) and any("nokeys.json" in w for w in warnings)
    with open(out["replication.csv"], newline="") as f:
        rows = {(r["table"], r["model"], r["method"]): r for r in csv.DictReader(f)}
    s1 = rows["2", "2x200 Tanh", "s1"]
    assert (s1["paper"], s1["ours_mean"], s1["ours_sd"], s1["n_seeds"], s1["train_error_final"]) == \
        ("2.32", "2.2000", "0.2000", "3", "0.0050")
    assert s1["ran_on"].startswith("0 cpu") and s1["ran_on"].count(";") == 2  # where each of the 3 seeds ran
    s2 = rows["2", "2x200 Tanh", "s2"]  # its one seed diverged: run, no mean, and no reproduction
    assert (s2["ours_mean"], s2["n_seeds"], s2["n_diverged"], s2["verdict"]) == ("", "", "1", "no")
    assert rows["4", "2x800 Tanh", "dfa-B4"]["ours_mean"] == "2.5400"
    assert rows["3", "2x200 Tanh", "s1"]["ours_mean"] == ""
    t2 = (res / "tables" / "table2.md").read_text()
    assert "| 2x200 Tanh | 2.32 | 2.20 ± 0.20 (n=3) | -0.12 | yes | 2.36 | diverged (1 seed) | — | no |" in t2
    assert "1.50 (n=1) |" in t2  # BP baseline beside the strategies
    assert "| B4 | 6.33 | — | — |  | 2.04 | 2.54 (n=1) | +0.50 | partial |" in (res / "tables" / "table4.md").read_text()
    assert rows["4", "2x800 Tanh", "dfa-B4"]["verdict"] == "partial" and s1["verdict"] == "yes"
    md = (tmp_path / "REPLICATION.md").read_text()  # full protocol: REPLICATION.md beside the results folder
    assert "garbage.json" in md and "Diverged runs" in md and "2/68 (and 1 whose every seed diverged)" in md
    assert len(rs.load_results(res, warn=lambda s: None)) == 7
    assert figures[0][1].stat().st_size > 0 and "](results/figures/fig8_exp4_families.png)" in md


def test_plot_api_for_the_book(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from fa_lab.teaching import plots

    res = tmp_path / "r"
    for seed, err in zip((0, 1), (2.0, 2.4)):
        _fake(res, _cfg("exp1", "s1", seed), err)
    _fake(res, _cfg("exp1", "s2"), 3.0)
    recs = rs.select(rs.load_results(res), experiment="exp1", sizes=(784, 200, 200, 10))
    ax = plots.curves(recs, title="t")
    assert [line.get_label() for line in ax.lines] == ["s1 (n=2)", "s2"]
    assert np.allclose(ax.lines[0].get_ydata(), [6.0, 2.2])


# ---------------------------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("argv, message", [
    (["replicate", "exp9"], "unknown experiment 'exp9'; valid choices: exp1, exp2, exp3, exp4, baselines, exp4-sd0.1, "
                               "exp4-b2-tiled, exp4-d0.01, exp3-300ep, exp1-relu-fb0.03, exp2-relu-fb0.03, deep, relatives, all, variants, beyond"),
    (["replicate", "exp4", "--jobs", "0"], "--jobs must be a positive integer, got 0"),
    (["replicate", "exp4", "--jobs", "two"], "--jobs must be a positive integer, got 'two'"),
    (["replicate", "exp4", "--seeds", "0,x"], "--seeds must be comma-separated non-negative integers"),
    (["replicate", "exp4", "--seeds", "1,1"], "--seeds must be distinct non-negative integers"),
    (["replicate", "exp4", "--seeds", "-1"], "--seeds must be distinct non-negative integers"),
    (["replicate", "exp4", "--max-groups", "0"], "--max-groups must be a positive integer"),
    (["replicate", "exp4", "--max-group-size", "-2"], "--max-group-size must be a positive integer"),
    (["replicate", "exp3", "--ae-activation", "gelu"], "unknown auto-encoder activation 'gelu'; valid choices:"),
    (["replicate", "exp3", "--device", "tpu"], "unknown device 'tpu'; valid choices:"),
])
def test_bad_cli_inputs_give_one_line(capsys, tmp_path, argv, message):
    line = _one_line_error(capsys, argv + ["--results", str(tmp_path)])
    assert message in line
    assert not list(tmp_path.iterdir())


def test_bad_api_inputs():
    with pytest.raises(FaLabError, match="valid choices: full, quick"):
        grid.configs("exp1", protocol="fast")
    with pytest.raises(FaLabError, match="unknown auto-encoder activation 'gelu'; valid choices: tanh, sigmoid, relu"):
        grid.configs("exp3", ae_activation="gelu")
    with pytest.raises(FaLabError, match="unknown protocol settings"):
        grid.configs("exp1", momentum=0.9)
    with pytest.raises(FaLabError, match="jobs must be a positive integer"):
        replicate("exp1", jobs=0)
    with pytest.raises(FaLabError, match="valid choices: full, quick"):
        report("results", "fast")


def test_malformed_result_is_redone_by_the_runner(tiny, tmp_path, capsys):
    res = tmp_path / "r"
    cfg = grid.configs("exp1", protocol="quick")[0]
    path = rs.run_path(res, "quick", "exp1", cfg.run_id)
    path.parent.mkdir(parents=True)
    path.write_text('{"truncated": ')
    runs, groups, _ = plan("exp1", "quick", (0,), res)
    assert sum(map(len, groups)) == 3
    assert f"malformed result file {path}" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------- killing the runner
def _spawned_workers(parent):
    """pids of the multiprocessing workers whose parent is ``parent`` (Linux /proc)."""
    from pathlib import Path

    pids = []
    for d in Path("/proc").iterdir():
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmd = (d / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == parent and b"spawn_main" in cmd:
            pids.append(int(d.name))
    return pids


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGKILL"])
def test_killing_the_runner_stops_its_workers(tmp_path, sig):
    """Session 1 bug: `kill <runner>` left its --jobs workers training (and writing) for 40 more minutes."""
    import os
    import signal
    import subprocess
    import time

    script = ("from fa_lab.replication.runner import replicate\n"
              f"replicate(['exp4'], quick=True, jobs=2, results_dir={str(tmp_path)!r}, progress=False, "
              "max_group_size=1, epochs=100000, n_train=64, n_test=32)\n")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    runner = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while len(workers := _spawned_workers(runner.pid)) < 2:
            assert runner.poll() is None, runner.stderr.read().decode()
            assert time.monotonic() < deadline, "workers did not start"
            time.sleep(0.2)
        time.sleep(1.0)  # let them start training
        runner.send_signal(getattr(signal, sig))
        runner.wait(timeout=60)
        deadline = time.monotonic() + 20
        while (alive := [p for p in workers if os.path.exists(f"/proc/{p}") and
                         open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"]):
            assert time.monotonic() < deadline, f"workers {alive} still running after the runner got {sig}"
            time.sleep(0.2)
    finally:
        if runner.poll() is None:
            runner.kill()
    assert not list(tmp_path.rglob("*.json")) and not list(tmp_path.rglob("*.tmp"))


def test_progress_counts_a_diverged_seed_as_run_and_ran_on_names_the_device():
    from types import SimpleNamespace as NS

    from fa_lab.replication.report import progress_line, ran_on

    rows = [{"n_seeds": "2", "n_diverged": "1"}, {"n_seeds": "2", "n_diverged": ""}, {"n_seeds": "", "n_diverged": "3"}]
    assert progress_line([], "full", rows).endswith("2 of 3 paper cells have all 3 seeds.")
    recs = [NS(config=NS(seed=2), device="cuda", device_name="NVIDIA H200", threads=1),
            NS(config=NS(seed=0), device="cpu", device_name=None, threads=1),
            NS(config=NS(seed=1), device="cpu", device_name=None, threads=2),
            NS(config=NS(seed=3), device="cpu", device_name=None, threads=None)]
    assert ran_on(recs) == "0 cpu (1 thread); 1 cpu (2 threads); 2 NVIDIA H200; 3 cpu"


def test_a_variant_section_carries_its_measured_finding(monkeypatch):
    from fa_lab.replication import evidence as ev
    from fa_lab.replication.report import variant_body

    stats = {("exp3-300ep", "784-800-800-784", "bp"): None}
    monkeypatch.setitem(ev.FINDINGS, "exp3-300ep", lambda st: "Measured: BP catches up.")
    monkeypatch.setattr("fa_lab.replication.report.table_variant", lambda st, name: "| table |\n")
    assert variant_body(stats, "exp3-300ep") == "| table |\n\nMeasured: BP catches up.\n"
    monkeypatch.setitem(ev.FINDINGS, "exp3-300ep", lambda st: "")
    assert variant_body(stats, "exp3-300ep") == "| table |\n"
