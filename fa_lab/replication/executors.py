"""How the runner's lockstep groups get trained: one after another in this process, in a pool of ``--jobs``
processes, or as submitit jobs (``--executor local``: real processes on this machine; ``--executor slurm``: a
Slurm job array). Every executor runs the same task on each group (:func:`fa_lab.replication.runner.train_group`:
claim its runs, train those still missing, write each result atomically, release the claims) and hands each
outcome to ``report(k, group, outcome)``, which returns False to start no new group (a result was rescued).

Stopping the runner (Ctrl-C, ``kill``, even ``kill -9``) stops its pool workers; Ctrl-C and ``kill`` also stop
its local jobs (after ``kill -9`` they finish their group), and a Slurm array keeps running (``scancel`` it).
SIGTERM is raised as :class:`Terminated` (exit status 143).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from ..core.errors import FaLabError

EXECUTORS = ("pool", "local", "slurm")
SUBMITIT_FOLDER = "submitit_logs"


class Terminated(KeyboardInterrupt):
    """The runner got SIGTERM (``kill``): stops like Ctrl-C, but the command exits with 143 (128 + 15)."""


def _raise_terminated(signum, frame):
    """SIGTERM in the runner: raised once; any further SIGTERM is ignored (``timeout`` signals the runner and
    then its whole group, so it gets two), since a second exception raised inside the first one's clean-up
    can leave a lock of the process pool held and hang the exit."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated(f"signal {signum}")


@contextmanager
def sigterm_as_terminated():
    """Within: SIGTERM raises :class:`Terminated`, so claims are released and workers stopped (main thread only)."""
    main = threading.current_thread() is threading.main_thread()
    old = signal.signal(signal.SIGTERM, _raise_terminated) if main else None
    try:
        yield
    finally:
        if main:
            signal.signal(signal.SIGTERM, old)


def run_inline(task, groups, report):
    """Train the groups one after another in this process."""
    for k, g in enumerate(groups, 1):
        if not report(k, g, task([c.as_dict() for c in g], _label(k, g))):
            return


def group_name(g) -> str:
    """'exp1 2x200 Tanh seed 0' (experiments joined by '+' when a lockstep group mixes them)."""
    exps = sorted({c.experiment for c in g})
    return f"{'+'.join(exps)} {g[0].net_name} seed {g[0].seed}"


def _label(k, g):
    return f"[{k}] {group_name(g)}"


_busy = threading.Event()  # set while a pool worker trains a group


def _worker_terminated(signum, frame):
    """A pool worker's SIGTERM: when idle, ends the worker at once, without a traceback; while training, raises
    :class:`Terminated` so that its claims are released on the way out, and ignores further SIGTERMs until they
    are (``timeout`` and ``kill -- -PGID`` signal the whole group, then the runner stops its workers: a second
    signal must not cut the release short and leave claims behind)."""
    if not _busy.is_set():
        os._exit(143)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated(f"signal {signum}")


def _in_worker(task, *args):
    """Run ``task(*args)`` in a pool worker, marked busy (see :func:`_worker_terminated`)."""
    _busy.set()
    try:
        return task(*args)
    finally:
        _busy.clear()
        if signal.getsignal(signal.SIGTERM) is signal.SIG_IGN:  # stopped by SIGTERM, claims released: done
            os._exit(143)


def _worker_init(parent_pid):
    """Pool worker initializer: SIGTERM releases the worker's claims on the way out, and a worker whose
    parent runner has died (kill -9 included) exits within a second instead of training on unattended."""
    signal.signal(signal.SIGTERM, _worker_terminated)

    def watch():
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        deadline = time.monotonic() + 30  # releasing its claims after a SIGTERM: let it finish (it exits then)
        while signal.getsignal(signal.SIGTERM) is signal.SIG_IGN and time.monotonic() < deadline:
            time.sleep(0.1)
        os._exit(143)

    threading.Thread(target=watch, daemon=True, name="fa_lab-parent-watch").start()


def run_pool(task, groups, jobs, report):
    """Train the groups in ``jobs`` spawned processes, longest first; a group is handed to a worker only when
    one is free, so "done in" never counts queue time and stopping starts nothing new."""
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    cost = {id(g): len(g) * sum(a * b for a, b in zip(g[0].sizes[:-1], g[0].sizes[1:])) *
            (g[0].n_train or 60000) * g[0].epochs for g in groups}
    queue = sorted(enumerate(groups, 1), key=lambda kg: -cost[id(kg[1])])
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(groups)), mp_context=mp.get_context("spawn"),
                               initializer=_worker_init, initargs=(os.getpid(),))
    running, go_on = {}, True
    try:
        while running or (go_on and queue):
            while go_on and queue and len(running) < jobs:
                k, g = queue.pop(0)
                running[pool.submit(_in_worker, task, [c.as_dict() for c in g], _label(k, g))] = (k, g)
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for f in done:
                k, g = running.pop(f)
                go_on = report(k, g, _result(f)) and go_on
    except BaseException:
        workers = list((getattr(pool, "_processes", None) or {}).values())
        manager = getattr(pool, "_executor_manager_thread", None)  # shutdown() forgets it
        pool.shutdown(wait=False, cancel_futures=True)
        for w in workers:  # runs in flight are lost (never half-written: results are written atomically)
            if w.is_alive():
                w.terminate()
        for w in workers:  # each releases its claims on SIGTERM
            w.join(timeout=5)
        if manager is not None:  # let it close its wake-up pipe first: at exit CPython 3.11 races it and prints
            manager.join(timeout=10)  # "Exception ignored ... Bad file descriptor" from concurrent.futures
        raise
    pool.shutdown()


def _result(future):
    """A pool future's result; a worker that died (``kill -9``, out of memory) is one line."""
    from concurrent.futures.process import BrokenProcessPool

    try:
        return future.result()
    except BrokenProcessPool:
        raise FaLabError("a worker process died (killed, or out of memory?); finished runs are saved: rerun "
                         "replicate to continue") from None


def make_submitit(kind, folder=SUBMITIT_FOLDER, partition=None, time_min=600, array_parallelism=20, gpus=0,
                  cpus=None):
    """A submitit executor: ``local`` (LocalExecutor) or ``slurm`` (a job array of at most
    ``array_parallelism`` tasks at once, ``time_min`` minutes each, on ``partition``, ``gpus`` GPUs a task)."""
    try:
        import submitit
    except ImportError:
        raise FaLabError(f"--executor {kind} needs submitit: pip install 'fa_lab[cluster]'") from None
    try:
        executor = submitit.AutoExecutor(folder=str(folder), cluster=kind)
    except RuntimeError as exc:  # SlurmExecutor: no srun on PATH
        raise FaLabError(f"--executor {kind}: {str(exc).splitlines()[0]}") from None
    params = {"name": "fa_lab", "timeout_min": int(time_min)}
    if cpus:
        params["cpus_per_task"] = int(cpus)
    if kind == "slurm":
        params.update(slurm_array_parallelism=int(array_parallelism), gpus_per_node=int(gpus))
        if partition:
            params["slurm_partition"] = partition
    executor.update_parameters(**params)
    return executor


def submit_slurm(executor, task, groups):
    """Submit one array task per group; returns the array's job id (Slurm runs it, nothing waits here)."""
    jobs = executor.map_array(task, [[c.as_dict() for c in g] for g in groups],
                              [_label(k, g) for k, g in enumerate(groups, 1)])
    return str(jobs[0].job_id).split("_")[0]


def run_local(executor, task, groups, jobs, report):
    """Train the groups as submitit local jobs (real processes, at most ``jobs`` at once) and wait for them."""
    queue, running, go_on = list(enumerate(groups, 1)), {}, True
    try:
        while running or (go_on and queue):
            while go_on and queue and len(running) < jobs:
                k, g = queue.pop(0)
                running[executor.submit(task, [c.as_dict() for c in g], _label(k, g))] = (k, g)
            time.sleep(0.2)
            for job in [j for j in running if j.done()]:
                k, g = running.pop(job)
                go_on = report(k, g, _outcome(job)) and go_on
    except BaseException:
        for job in running:
            job.cancel(check=False)
        raise


def _outcome(job):
    """A finished submitit job's result; a failed task is one line naming its log."""
    try:
        return job.result()
    except Exception as exc:  # submitit.core.utils.FailedJobError / UncompletedJobError carry the whole log
        lines = [s for s in str(exc).splitlines() if s.strip()]
        last = next((s for s in reversed(lines) if "Error" in s), lines[-1] if lines else type(exc).__name__)
        raise FaLabError(f"job {job.job_id} failed: {last.strip()} (log: {Path(job.paths.stderr)})") from None
