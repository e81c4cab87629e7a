"""Faults of the runner (issue 13): an unwritable results folder, writes that fail after training, runners
killed at random points, two runners at once, stale claims, corrupt records, SIGTERM, a closed pipe.

Each test asserts that nothing is lost, nothing is trained twice and the user gets one clear line. Everything
trains tiny quick slices (64 train / 32 test examples, 1 epoch) and writes only under pytest's tmp_path;
subprocess runners get the same slice from a small script (monkeypatches do not cross processes).
"""

import collections
import errno
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import fa_lab.replication.claims as cl
import fa_lab.replication.experiments as ex
import fa_lab.replication.grid as grid
import fa_lab.replication.results as rs
import fa_lab.replication.safekeeping as safe
from fa_lab.cli import main
from fa_lab.replication.runner import replicate

TRAIN = sys.modules["fa_lab.core.train"]

# a runner in a subprocess: the tiny slice, every result write logged to $WRITE_LOG (one line per run written),
# optionally waiting for $GO_FILE so that several runners start at the same moment
SCRIPT = r'''
import os, sys, time
from pathlib import Path
import fa_lab.replication.experiments as ex
import fa_lab.replication.results as rs
ex.QUICK = {"epochs": int(os.environ.get("TINY_EPOCHS", "1")), "n_train": 64, "n_test": 32}
ex.WIDTHS, ex.ACTS = (200,), ("tanh",)
_write = rs.write_record

def write_record(results_dir, record):
    out = _write(results_dir, record)
    if os.environ.get("WRITE_LOG"):
        fd = os.open(os.environ["WRITE_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        os.write(fd, (record.run_id + "\n").encode())
        os.close(fd)
    return out

rs.write_record = write_record
if os.environ.get("SLOW_RELEASE"):  # a loaded machine: releasing the claims takes a while
    import fa_lab.replication.claims as cl
    _release_all = cl.Claims.release_all

    def release_all(self):
        time.sleep(float(os.environ["SLOW_RELEASE"]))
        _release_all(self)

    cl.Claims.release_all = release_all
if __name__ == "__main__":
    go = os.environ.get("GO_FILE")
    if go:
        Path(f"{go}.ready.{os.getpid()}").touch()
        while not Path(go).exists():
            time.sleep(0.02)
    from fa_lab.cli import main
    sys.exit(main(sys.argv[1:]))
'''


@pytest.fixture
def tiny(quick_slice):
    return quick_slice


@pytest.fixture
def fits(monkeypatch):
    """Counts the models trained in this process."""
    real, n = TRAIN.fit, []

    def counting(models, *a, **k):
        n.append(len(models))
        return real(models, *a, **k)

    monkeypatch.setattr(TRAIN, "fit", counting)
    return n


def _one_line(capsys, argv, rc=2):
    assert main(argv) == rc
    err = [s for s in capsys.readouterr().err.splitlines() if s.strip()]
    assert len(err) == 1, err
    return err[0]


def _runs(names=("exp1", "baselines")):
    return sorted(r.run_id for r in grid.configs(list(names), "quick"))


def _leftovers(res):
    """Everything that must not stay in a results folder once runners are done."""
    return sorted(str(p.relative_to(res)) for p in res.rglob("*")
                  if p.is_file() and (p.name.endswith((".tmp", ".claim", ".break")) or p.name.startswith(".fa_lab")))


def _valid(res):
    return sorted(rs.read_record(p).run_id for p in res.rglob("*.json"))


# ---------------------------------------------------------------------------------------------- item 1: unwritable folders
def test_results_folder_under_a_file_fails_before_training(tiny, fits, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    line = _one_line(capsys, ["replicate", "exp1", "--quick", "--results", str(blocker / "results"), "--no-progress"])
    assert line == f"fa_lab: error: cannot write results to {blocker / 'results' / 'quick' / 'exp1'} (Not a directory);" \
                   " nothing was trained"
    assert not fits


def test_unwritable_results_folder_fails_before_training(tiny, fits, tmp_path, capsys, monkeypatch):
    def denied(path, *a, **k):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(safe, "open", denied, raising=False)  # root ignores chmod: deny the probe instead
    line = _one_line(capsys, ["replicate", "exp1", "--quick", "--results", str(tmp_path / "r"), "--no-progress"])
    assert line.endswith("(Permission denied); nothing was trained") and "cannot write results to" in line
    assert not fits and not list((tmp_path / "r").rglob("*.json"))


@pytest.mark.parametrize("fail", ["ENOSPC", "EACCES-after-first"])
def test_write_failure_after_training_rescues_results(tiny, fits, tmp_path, capsys, monkeypatch, fail):
    """Disk full, or permissions changed mid-run: the trained results are rescued, the runner stops in one line,
    and the next run puts them back without training them again."""
    res, real, calls = tmp_path / "r", rs.atomic_write_bytes, []

    def failing(path, data):
        calls.append(path)
        if fail == "ENOSPC":
            raise OSError(errno.ENOSPC, "No space left on device")
        if len(calls) > 1:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real(path, data)

    monkeypatch.setattr(rs, "atomic_write_bytes", failing)
    argv = ["replicate", "exp1", "baselines", "--quick", "--results", str(res), "--no-progress", "--max-group-size", "3"]
    line = _one_line(capsys, argv)
    n = 3 if fail == "ENOSPC" else 2
    reason = "No space left on device" if fail == "ENOSPC" else "Permission denied"
    assert line == (f"fa_lab: error: could not write {n} results into {res} ({reason}); saved them under "
                    f"{tmp_path / 'rescue'} and stopped (1 group not started): rerun replicate once the results "
                    "folder is writable and they are put back")
    assert sum(fits) == 3  # the second group was not started
    rescued = sorted((tmp_path / "rescue").rglob("*.json"))
    assert len(rescued) == n and all(rs.read_record(p) for p in rescued)
    monkeypatch.setattr(rs, "atomic_write_bytes", real)
    assert main(argv) == 0
    assert "put back" in capsys.readouterr().err
    assert sum(fits) == 6  # only the group never started was trained; the rescued runs were not redone
    assert _valid(res) == _runs() and not list((tmp_path / "rescue").rglob("*.json")) and not _leftovers(res)


def test_claims_that_cannot_be_created_mid_run_stop_in_one_line(tiny, fits, tmp_path, capsys, monkeypatch):
    take, calls = cl.Claims.take, []

    def full_after_first_group(self, path):
        calls.append(path)
        if "baselines" in str(path):
            raise OSError(errno.ENOSPC, "No space left on device")
        return take(self, path)

    monkeypatch.setattr(cl.Claims, "take", full_after_first_group)
    res = tmp_path / "r"
    line = _one_line(capsys, ["replicate", "exp1", "baselines", "--quick", "--results", str(res), "--no-progress",
                              "--max-group-size", "3", "--jobs", "1"])
    assert line == (f"fa_lab: error: cannot create claims in {res / 'quick' / 'baselines'} (No space left on device); "
                    "stopped after writing 3 results")
    assert sum(fits) == 3 and len(_valid(res)) == 3 and not _leftovers(res)


# ---------------------------------------------------------------------------------------------- item 3: claims
def _dead_pid():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _claim(path, host=cl.HOST, pid=None, age=0.0):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"host": host, "pid": pid or os.getpid(), "started": time.time() - age, "token": "x"}))
    os.utime(path, (time.time() - age,) * 2)


def test_claims_are_exclusive_and_stale_ones_are_taken_over(tmp_path):
    a, b, path = cl.Claims(timeout=30), cl.Claims(timeout=30), tmp_path / "x" / "run.claim"
    assert a.take(path) and not b.take(path)
    assert cl.read_claim(path)["pid"] == os.getpid()
    a.release(path)
    assert not path.exists() and b.take(path)
    b.release_all()
    _claim(path, pid=_dead_pid())  # same host, dead pid: stale at once
    assert a.take(path)
    a.release_all()
    _claim(path, host="elsewhere", pid=1, age=10)  # other host, fresh heartbeat: live
    assert not a.take(path)
    _claim(path, host="elsewhere", pid=1, age=60)  # other host, no heartbeat for longer than the timeout
    assert a.take(path) and cl.read_claim(path)["host"] == cl.HOST
    a.release_all()


def test_heartbeat_keeps_a_claim_alive(tmp_path):
    t = 1.2  # s without a heartbeat (beats every t / 4): roomy enough for a loaded CI machine
    holder, other, path = cl.Claims(timeout=t), cl.Claims(timeout=t), tmp_path / "run.claim"
    assert holder.take(path)
    data = json.loads(path.read_text())
    path.write_text(json.dumps(dict(data, host="elsewhere")))  # as if held on another host: only the heartbeat counts
    time.sleep(2 * t)
    assert not other.take(path)
    holder.stop()
    time.sleep(1.5 * t)
    assert other.take(path)
    holder.release_all()
    assert path.exists()  # the holder never removes a claim that was taken over
    other.release_all()


def test_stale_claim_is_redone_and_a_live_one_is_left_alone(tiny, fits, tmp_path, capsys):
    res = tmp_path / "r"
    cfgs = grid.configs("exp1", "quick")
    _claim(cl.claim_path(res, cfgs[0]), pid=_dead_pid())
    _claim(cl.claim_path(res, cfgs[1]), host="elsewhere", pid=1)
    assert replicate("exp1", quick=True, results_dir=res, progress=False, dry_run=True) == 0
    out = capsys.readouterr().out
    assert "1 in progress elsewhere" in out and f"in progress: {cfgs[1].run_id} (elsewhere pid 1 since" in out
    assert replicate("exp1", quick=True, results_dir=res, progress=False) == 2
    assert _valid(res) == sorted([cfgs[0].run_id, cfgs[2].run_id]) and sum(fits) == 2
    assert [p.name for p in res.rglob("*.claim")] == [f"{cfgs[1].run_id}.claim"]  # the live claim stays


@pytest.fixture
def spawn(tmp_path):
    """Start tiny runners in subprocesses: ``spawn(res, log, extra_args, env)``, each in a session of its own. Each
    is killed, with everything it started, after 240 s at the latest (a watchdog), and whatever still runs when the
    test ends is killed the same way (a hung runner fails its test instead of hanging the suite)."""
    import threading

    script, started = tmp_path / "tiny_runner.py", []
    script.write_text(SCRIPT)

    def kill_all(p):
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):  # the group is gone
            pass

    def start(res, log, extra=(), env=None, wrap=()):
        argv = [*wrap, sys.executable, str(script), "replicate", "exp1", "baselines", "--quick", "--results", str(res),
                "--no-progress", "--max-group-size", "1", *extra]
        p = subprocess.Popen(argv, env=dict(os.environ, OMP_NUM_THREADS="1", WRITE_LOG=str(log), **(env or {})),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        watchdog = threading.Timer(240, kill_all, (p,))
        watchdog.daemon = True
        watchdog.start()
        started.append((p, watchdog))
        return p

    yield start
    for p, watchdog in started:
        watchdog.cancel()
        kill_all(p)
        p.communicate()


def test_two_runners_at_once_split_the_work(tiny, spawn, tmp_path):
    res, log, go = tmp_path / "r", tmp_path / "writes.log", tmp_path / "go"
    runners = [spawn(res, log, env={"GO_FILE": str(go)}) for _ in range(2)]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("go.ready.*"))) < 2:
        assert time.monotonic() < deadline and all(r.poll() is None for r in runners)
        time.sleep(0.05)
    go.touch()  # both start planning at the same moment
    outs = [r.communicate(timeout=300) for r in runners]
    assert [r.returncode for r in runners] == [0, 0], [o[1] for o in outs]
    writes = collections.Counter(log.read_text().split())
    assert sorted(writes) == _runs() and set(writes.values()) == {1}  # every run once, none twice
    assert _valid(res) == _runs() and not _leftovers(res)
    assert all("Traceback" not in err for _, err in outs)


def _wait_for_dead_holders(res, timeout=20):
    """After SIGKILL: orphaned pool workers exit within a second; wait until no claim has a live holder."""
    deadline = time.monotonic() + timeout
    while any(not cl.is_stale(p, cl.read_claim(p)) for p in res.rglob("*.claim")):
        assert time.monotonic() < deadline, "claims of killed runners still live"
        time.sleep(0.1)


def _kill_when(runner, trigger, delay):
    """SIGKILL ``runner`` ``delay`` seconds after it prints a line containing ``trigger``; False if it ended first."""
    for line in runner.stdout:
        if trigger in line:
            time.sleep(delay)
            break
    if runner.poll() is not None:
        return False
    runner.send_signal(signal.SIGKILL)
    runner.communicate(timeout=60)
    return True


def test_runner_killed_at_random_points_loses_nothing(tiny, spawn, tmp_path, monkeypatch):
    """Runners killed with SIGKILL at random points (while starting, training, writing; with and without pool
    workers), then one runner to the end: every run is written once, nothing is left behind."""
    monkeypatch.setitem(ex.QUICK, "epochs", 100)  # about 0.3 s a run: kills land inside training too
    res, log, env = tmp_path / "r", tmp_path / "writes.log", {"TINY_EPOCHS": "100"}
    rng = random.Random(int(os.environ.get("FA_LAB_FAULT_SEED", time.time())))
    points = [("1", " lockstep groups -> ", rng.uniform(0, 3)), ("2", "] exp1 ", rng.uniform(0, 0.6)),
              ("1", " done in ", rng.uniform(0, 0.3))]
    kills = []
    for jobs, trigger, delay in points:
        if _kill_when(spawn(res, log, ["--jobs", jobs], env), trigger, delay):
            kills.append((jobs, trigger, round(delay, 2), len(_valid(res))))
        _wait_for_dead_holders(res)
    print("kills (jobs, trigger, delay s, results on disk):", kills)
    time.sleep(1.1)  # temporary files of cut writes are removed once older than min(claim timeout, 60 s)
    final = spawn(res, log, ["--claim-timeout", "1"], env)
    out, err = final.communicate(timeout=300)
    assert final.returncode == 0, err
    writes = collections.Counter(log.read_text().split())
    assert max(writes.values()) == 1, (kills, writes)  # nothing trained and written twice
    assert _valid(res) == _runs(), (kills, out)  # nothing lost
    assert not _leftovers(res), kills  # no temporary files, no claims, no break locks
    assert "Traceback" not in err


def _workers(parent):
    """pids of the spawned pool workers of ``parent`` (Linux /proc)."""
    pids = []
    for d in Path("/proc").iterdir():
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == parent and b"spawn_main" in (d / "cmdline").read_bytes():
                pids.append(int(d.name))
        except (OSError, ValueError, IndexError):
            continue
    return pids


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_pool_worker_killed_mid_run_is_one_line(tiny, spawn, tmp_path):
    """A worker killed by the OOM killer (here: SIGKILL) stops the runner with one line, and leaves no live claim."""
    res, log = tmp_path / "r", tmp_path / "writes.log"
    runner = spawn(res, log, ["--jobs", "2"], env={"TINY_EPOCHS": "100000"})
    deadline = time.monotonic() + 120
    while len(workers := _workers(runner.pid)) < 2 or not list(res.rglob("*.claim")):
        assert runner.poll() is None and time.monotonic() < deadline
        time.sleep(0.2)
    os.kill(workers[0], signal.SIGKILL)
    _, err = runner.communicate(timeout=60)
    assert runner.returncode == 2 and err.strip().splitlines() == [
        "fa_lab: error: a worker process died (killed, or out of memory?); finished runs are saved: rerun replicate "
        "to continue"], err
    _wait_for_dead_holders(res)
    assert not list(res.rglob("*.json"))


# ---------------------------------------------------------------------------------------------- corrupt records
def test_corrupt_records_are_redone_by_the_runner(tiny, fits, tmp_path, capsys):
    res = tmp_path / "r"
    assert replicate("exp1", quick=True, results_dir=res, progress=False) == 3
    files = sorted(res.rglob("*.json"))
    files[0].write_text(files[0].read_text()[:50])  # truncated
    files[1].write_text("{}")                       # not a record
    untouched = files[2].stat().st_mtime_ns
    capsys.readouterr()
    assert replicate("exp1", quick=True, results_dir=res, progress=False) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all(s.startswith("fa_lab: warning: malformed result file ") for s in err)
    assert sum(fits) == 3 + 2 and files[2].stat().st_mtime_ns == untouched
    assert _valid(res) == _runs(["exp1"]) and not _leftovers(res)


# ---------------------------------------------------------------------------------------------- item 10
@pytest.mark.parametrize("jobs,group", [("1", False), ("2", False), ("2", True)])
def test_sigterm_exits_143_and_releases_claims(spawn, tmp_path, jobs, group):
    """`kill <runner>` exits with 143 (128 + SIGTERM; Ctrl-C stays 130), in one line, releasing its claims. Also
    when the whole process group gets it (`timeout`, `kill -- -PGID`): each worker then gets SIGTERM twice, from
    the group and from the runner, and still prints nothing."""
    res = tmp_path / "r"
    runner = spawn(res, tmp_path / "log", ["--jobs", jobs], env={"TINY_EPOCHS": "100000", "SLOW_RELEASE": "1"})
    deadline = time.monotonic() + 120
    while not list(res.rglob("*.claim")):  # training (for ever)
        assert runner.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(0.5)
    if group:
        os.killpg(runner.pid, signal.SIGTERM)
    else:
        runner.send_signal(signal.SIGTERM)
    _, err = runner.communicate(timeout=60)
    assert runner.returncode == 143 and err.strip().splitlines() == ["fa_lab: terminated"], err
    assert not list(res.rglob("*.claim")) and not list(res.rglob("*.json"))


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_second_sigterm_while_stopping_is_ignored(spawn, tmp_path, jobs):
    """A second `kill` while the runner releases its claims (slowed down here) neither cuts the release short nor
    prints a second traceback: one line, exit 143, no claim left (with --jobs 1 the runner trains and releases)."""
    res = tmp_path / "r"
    runner = spawn(res, tmp_path / "log", ["--jobs", jobs], env={"TINY_EPOCHS": "100000", "SLOW_RELEASE": "2"})
    deadline = time.monotonic() + 120
    while not list(res.rglob("*.claim")):
        assert runner.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(0.5)
    runner.send_signal(signal.SIGTERM)
    time.sleep(0.7)  # inside the slowed release
    runner.send_signal(signal.SIGTERM)
    _, err = runner.communicate(timeout=60)
    assert runner.returncode == 143 and err.strip().splitlines() == ["fa_lab: terminated"], err
    assert not list(res.rglob("*.claim")) and not list(res.rglob("*.json"))


@pytest.mark.skipif(not shutil.which("timeout"), reason="needs coreutils timeout")
def test_runner_under_timeout_stops_in_one_line(spawn, tmp_path):
    """`timeout` signals the runner and then its whole process group, so the runner gets SIGTERM twice and each
    busy worker too (from the group, then from the runner): still one line, claims released, no hang. Releasing
    is slowed down (SLOW_RELEASE) so that the second signal lands while the first is being handled."""
    res = tmp_path / "r"
    runner = spawn(res, tmp_path / "log", ["--jobs", "2"], env={"TINY_EPOCHS": "100000", "SLOW_RELEASE": "1"},
                   wrap=["timeout", "-s", "TERM", "20"])
    _, err = runner.communicate(timeout=120)
    assert runner.returncode == 124 and err.strip().splitlines() == ["fa_lab: terminated"], err
    assert not list(res.rglob("*.claim")) and not list(res.rglob("*.json"))


def test_jobs_are_capped_at_the_cpu_count(tiny, tmp_path, capsys, monkeypatch):
    import fa_lab.replication.executors as xs

    seen = []
    monkeypatch.setattr(xs, "run_pool", lambda task, groups, jobs, report: seen.append(jobs))
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    replicate("exp1", quick=True, jobs=64, results_dir=tmp_path, progress=False, max_group_size=1)
    assert seen == [2]
    assert "fa_lab: note: --jobs 64 is more than the 2 CPUs here; using --jobs 2" in capsys.readouterr().err


def test_threads_set_each_jobs_torch_threads(tiny, tmp_path, monkeypatch):
    import fa_lab.replication.executors as xs

    seen = []
    monkeypatch.setattr(xs, "run_inline", lambda task, groups, report: seen.append(task.keywords["threads"]))
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    replicate("exp1", quick=True, jobs=1, results_dir=tmp_path, progress=False, max_group_size=1)
    replicate("exp1", quick=True, jobs=1, results_dir=tmp_path, progress=False, max_group_size=1, threads=1)
    assert seen == [None, 1]  # one job takes every thread unless told, e.g. beside another runner
    import fa_lab.replication.runner as runner_module

    monkeypatch.setattr(runner_module, "replicate", lambda *a, **kw: seen.append(kw["threads"]))
    assert main(["replicate", "exp1", "--quick", "--threads", "1", "--results", str(tmp_path)]) == 0
    assert seen == [None, 1, 1]  # the command line passes it on
    for bad, msg in ((["--threads", "0"], "--threads must be a positive integer"),
                     (["--threads", "2", "--executor", "slurm"], "for Slurm tasks use --slurm-cpus")):
        p = subprocess.run([sys.executable, "-m", "fa_lab", "replicate", "exp1", "--quick", "--results", str(tmp_path),
                            *bad], capture_output=True, text=True)
        assert p.returncode == 2 and msg in p.stderr and "Traceback" not in p.stderr, p.stderr


def test_done_in_counts_from_the_start_of_the_group(tiny, tmp_path, capsys):
    """'done in' is measured from when the worker starts the group (run_group returns that time), not from when
    the group was queued."""
    from fa_lab.replication.runner import _Report, run_group

    cfgs = grid.configs("exp1", "quick")
    before = time.time()
    started, out = run_group([c.as_dict() for c in cfgs], tmp_path, progress=False)
    assert before <= started <= time.time() and [o[0] for o in out] == [c.run_id for c in cfgs]
    report = _Report(1, 3, tmp_path)
    report.t0 -= 30  # queued for 30 s
    assert report(1, cfgs, {"started": time.time() - 2, "results": out, "skipped": {}})
    line = capsys.readouterr().out.splitlines()[-1]
    assert " done in 2 s: " in line and "30 s elapsed" in line


def test_dry_run_into_a_closed_pipe_prints_no_traceback(tmp_path):
    argv = [sys.executable, "-m", "fa_lab", "replicate", "all", "--dry-run", "--seeds", ",".join(map(str, range(20))),
            "--results", str(tmp_path / "r")]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = p.stdout.readline()
    p.stdout.close()  # like `| head -1`
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 0
    assert b"2100 runs" in first and "Traceback" not in err and "BrokenPipeError" not in err
    assert not (tmp_path / "r").exists()  # a dry run writes nothing
