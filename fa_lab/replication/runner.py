"""``python -m fa_lab replicate {exp1,exp2,exp3,exp4,baselines,all}``: the resumable experiment runner.

- Runs whose result file exists (and is valid) are skipped; a malformed one is reported and redone.
- Runs that share a net, seed and protocol train together in one lockstep :func:`fa_lab.fit` pass
  (e.g. s1, s2, s3 of one net; bp, fa, dfa; the 7 families of Experiment 4 for one rule).
- Each finished run is written atomically as ``<results>/<protocol>/<experiment>/<run_id>.json``
  (Experiment 3 also gets ``<run_id>.npz``: reconstructions of 10 fixed test digits and first-layer
  weights), so a kill loses at most the runs in flight.
- Before training, each run is claimed (:mod:`~fa_lab.replication.claims`): runners sharing a results folder,
  on one machine or many, split the work and never train a run twice; a killed runner's claims are taken over.
- The results folder is checked before any training; a result that cannot be written after training is
  rescued and put back by the next run (:mod:`~fa_lab.replication.safekeeping`). The runner then starts no
  new group, lets the groups in flight finish, and stops with one line saying where the results are.
- ``--jobs N`` runs N lockstep groups in parallel processes (at most one per CPU), splitting the CPU threads
  between them (``--threads`` sets each job's torch threads instead, e.g. when other runners share the machine); ``--executor local|slurm`` submits the groups through submitit
  (:mod:`~fa_lab.replication.executors`). Killing the runner (Ctrl-C, ``kill``, even ``kill -9``) stops its
  workers too.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from . import claims as cl
from . import executors as xs
from . import experiments as ex
from . import grid
from . import results as rs
from . import safekeeping as safe
from .provenance import device_facts, environment
from ..core.errors import FaLabError, choose, positive

# 10 "randomly selected" test digits for Figure 6 (fixed: indices into the 10 000 MNIST test images)
DIGITS = tuple(int(i) for i in np.sort(np.random.default_rng(2017).choice(10000, 10, replace=False)))
MAX_WEIGHT_UNITS = 128  # first-layer weights saved for at most this many units (800-unit nets: first 100)


# ---------------------------------------------------------------------------------------------- one group
def _artifacts(model, x_digits):
    """Exp 3 figure data: reconstructions of the fixed digits, first-layer weights (float16)."""
    import torch

    with torch.no_grad():
        recon = model.net.predict(x_digits.to(model.net.W[0].device, model.net.W[0].dtype)).cpu().numpy()
        W1 = model.weight(1)
        units = W1.shape[0] if W1.shape[0] <= MAX_WEIGHT_UNITS else 100
        w = W1[:units].cpu().numpy()
    return {"digits": np.asarray(DIGITS), "originals": x_digits.cpu().numpy().astype(np.float16),
            "reconstructions": recon.astype(np.float16), "weights1": w.astype(np.float16)}


def run_group(config_dicts, results_dir, device="auto", threads=None, progress=True, env=None, label=""):
    """Train one lockstep group and write each run's result atomically (or rescue it, see
    :func:`~fa_lab.replication.safekeeping.store`). Returns ``(started, out)``: the time (``time.time()``) the
    group started here and ``[(run_id, final test error, diverged, rescued)]``, ``rescued`` being None or
    ``(rescue path, reason)``."""
    started = time.time()
    import torch

    from ..core.alignment import AlignmentProbe
    from ..core.data import load_mnist
    from ..core.model import resolve_device
    from ..core.train import fit

    if threads:
        torch.set_num_threads(threads)
    cfgs = [grid.RunConfig.from_dict(d) for d in config_dicts]
    ref = cfgs[0]
    device = resolve_device(device)
    full = load_mnist(device=device)
    data = full.subset(ref.n_train, ref.n_test)
    models = [c.build(device) for c in cfgs]
    every = max(1, ref.epochs // 10)

    def lines(epoch, histories):  # without a progress bar: a line every tenth of the run
        if epoch % every == 0 or epoch == ref.epochs:
            errs = " ".join(f"{h.test_error[-1]:.2f}" if h.test_error else "-" for h in histories)
            print(f"  {label} epoch {epoch}/{ref.epochs}: test {errs}", flush=True)

    t0 = time.perf_counter()
    hists = fit(models, data, ref.epochs, ref.batch_size, ref.lr, ref.seed, reduction=ref.reduction,
                progress=progress, callbacks=[AlignmentProbe(models, data)] + ([] if progress else [lines]))
    wall = time.perf_counter() - t0
    env, facts = env or environment(), device_facts(device)
    ids = [c.run_id for c in cfgs]
    out = []
    for cfg, model, h in zip(cfgs, models, hists):
        # Experiment 3: figure data (written before the JSON)
        art = _artifacts(model, full.x_test[list(DIGITS)]) if not model.net.head.needs_labels and not h.diverged \
            else None
        rescued = safe.store(results_dir, rs.Record.of(cfg, h, wall, ids, env, facts), art)
        out.append((cfg.run_id, h.test_error[-1] if h.test_error else None, h.diverged, rescued))
    return started, out


def _done(results_dir, cfg, warn=False) -> bool:
    """Whether run ``cfg`` has a valid result file (a malformed one is reported with ``warn`` and redone)."""
    path = rs.run_path(results_dir, cfg.protocol, cfg.experiment, cfg.run_id)
    if not path.exists():
        return False
    try:
        rs.read_record(path)
        return True
    except ValueError as exc:
        if warn:
            print(f"fa_lab: warning: malformed result file {path} ({exc}); running it again", file=sys.stderr)
        return False


def train_group(config_dicts, label="", *, results_dir, device="auto", threads=None, progress=False, env=None,
                claim_timeout=cl.CLAIM_TIMEOUT):
    """The task every executor runs on a lockstep group: claim its runs, train the claimed ones still missing
    in one pass, write their results, release the claims. Returns ``{"started", "results", "skipped", "error"}``:
    :func:`run_group`'s start time and list, ``{run_id: why}`` for the runs left to others, and why no run
    could be claimed (None when claiming worked)."""
    cfgs = [grid.RunConfig.from_dict(d) for d in config_dicts]
    claims, mine, skipped, error = cl.Claims(claim_timeout), [], {}, None
    try:
        for c in cfgs:
            path = cl.claim_path(results_dir, c)
            try:
                taken = claims.take(path)
            except OSError as exc:  # the folder became unwritable (or full) since the check: train nothing
                error, mine = f"cannot create claims in {path.parent} ({safe.why(exc)})", []
                skipped = {c.run_id: "not claimed" for c in cfgs}
                break
            if not taken:
                skipped[c.run_id] = f"claimed by {cl.describe(cl.read_claim(path))}"
            elif _done(results_dir, c):  # finished by another runner after we planned it
                claims.release(path)
                skipped[c.run_id] = "done meanwhile"
            else:
                mine.append(c)
        started, out = run_group([c.as_dict() for c in mine], results_dir, device, threads, progress, env, label) \
            if mine else (time.time(), [])
    finally:
        try:
            claims.release_all()
        except KeyboardInterrupt:  # stopped while releasing: later SIGTERMs are ignored, so finish, then stop
            claims.release_all()
            raise
    return {"started": started, "results": out, "skipped": skipped, "error": error}


# ---------------------------------------------------------------------------------------------- planning
class Plan(NamedTuple):
    """What a replicate call finds: every run asked for, the runs still to do grouped for lockstep, and
    ``{run_id: claim}`` for the runs other runners are training now."""

    runs: list
    groups: list
    busy: dict


def plan(names, protocol="full", seeds=(0,), results_dir=rs.DEFAULT_DIR, ae_activation=ex.AE_ACTIVATION,
         max_group_size=None, claim_timeout=cl.CLAIM_TIMEOUT, tidy=True, **overrides) -> Plan:
    """Plan a replicate call. Malformed result files are reported and redone; runs claimed by live runners are
    left to them. With ``tidy`` (not for ``--dry-run``): rescued results are put back, and leftovers of killed
    runners (stale claims, temporary files) are removed."""
    runs = grid.configs(names, protocol, seeds, ae_activation, **overrides)
    live = {}
    for folder in sorted({rs.run_path(results_dir, r.protocol, r.experiment, "x").parent for r in runs}):
        live.update(cl.scan(folder, claim_timeout, tidy))
    if tidy:
        safe.restore(results_dir, runs)
    todo, busy = [], {}
    for r in runs:
        if _done(results_dir, r, warn=True):
            continue
        if r.run_id in live:
            busy[r.run_id] = live[r.run_id]
        else:
            todo.append(r)
    return Plan(runs, grid.group(todo, max_group_size), busy)


def _check(jobs, max_groups, max_group_size, device, executor, claim_timeout):
    """Validate the runner's arguments (one-line errors, before any work); returns ``jobs`` capped at the CPUs."""
    positive("jobs", jobs)
    for name, value in (("max_groups", max_groups), ("max_group_size", max_group_size)):
        if value is not None:
            positive(name, value)
    positive("claim_timeout", claim_timeout, float)
    choose("executor", executor, xs.EXECUTORS)
    from ..core.model import resolve_device

    if executor != "slurm" or not str(device).startswith("cuda"):  # Slurm tasks may have GPUs this host lacks
        resolve_device(device)  # a bad --device fails here, in one line, before any work
    cpus = os.cpu_count() or 1
    if jobs > cpus and executor != "slurm":
        print(f"fa_lab: note: --jobs {jobs} is more than the {cpus} CPUs here; using --jobs {cpus}", file=sys.stderr)
        jobs = cpus
    return jobs


def replicate(names="all", quick=False, seeds=(0,), jobs=1, results_dir=rs.DEFAULT_DIR, device="auto",
              progress=True, ae_activation=ex.AE_ACTIVATION, max_groups=None, dry_run=False, max_group_size=None,
              *, executor="pool", claim_timeout=cl.CLAIM_TIMEOUT, submitit=None, threads=None, **overrides):
    """Run every missing run of ``names``; returns the number of runs written (0 for a dry run or a Slurm
    submission). ``executor``: pool (this process, or ``jobs`` processes), local or slurm (submitit; options
    in ``submitit``: see :func:`~fa_lab.replication.executors.make_submitit`). ``threads``: torch threads per job
    (default: the CPUs divided among the jobs; all of them for one job in this process). See the module docstring."""
    jobs = _check(jobs, max_groups, max_group_size, device, executor, claim_timeout)
    if threads is not None:
        positive("threads", threads)
        if executor == "slurm":
            raise FaLabError("--threads sets the threads of local jobs; for Slurm tasks use --slurm-cpus")
    protocol = "quick" if quick else "full"
    p = plan(names, protocol, seeds, results_dir, ae_activation, max_group_size, claim_timeout, not dry_run,
             **overrides)
    groups = p.groups[:max_groups] if max_groups else p.groups
    n_missing, n_todo = sum(map(len, p.groups)), sum(map(len, groups))
    busy = f"{len(p.busy)} in progress elsewhere, " if p.busy else ""
    print(f"replicate {','.join(grid.expand(names))} [{protocol}] seeds {','.join(map(str, seeds))}: {len(p.runs)} "
          f"runs, {len(p.runs) - n_missing - len(p.busy)} already done, {busy}{n_todo} to run now in {len(groups)} "
          f"lockstep groups -> {Path(results_dir) / protocol}", flush=True)
    if dry_run:
        for k, g in enumerate(groups, 1):
            print(f"  [{k}] {xs.group_name(g)}: " + " ".join(c.run_id for c in g))
        for run_id, info in sorted(p.busy.items()):
            print(f"  in progress: {run_id} ({cl.describe(info)})")
        return 0
    if not groups:
        return 0
    safe.check_writable({rs.run_path(results_dir, c.protocol, c.experiment, c.run_id).parent for g in groups for c in g})
    threads = (submitit or {}).get("cpus") if executor == "slurm" else threads if threads is not None else \
        None if executor == "pool" and jobs == 1 else max(1, (os.cpu_count() or 1) // jobs)
    task = functools.partial(train_group, results_dir=str(results_dir), device=device, threads=threads,
                             progress=progress and executor == "pool" and jobs == 1, env=environment(),
                             claim_timeout=claim_timeout)
    report = _Report(len(groups), n_todo, results_dir)
    with xs.sigterm_as_terminated():
        if executor == "pool":
            xs.run_inline(task, groups, report) if jobs == 1 else xs.run_pool(task, groups, jobs, report)
        elif executor == "local":
            xs.run_local(xs.make_submitit("local", **(submitit or {})), task, groups, jobs, report)
        else:
            return _submit_slurm(task, groups, n_todo, submitit or {})
    return report.finish()


def _submit_slurm(task, groups, n_todo, options):
    """Submit the groups as a Slurm job array and say how to follow it."""
    executor = xs.make_submitit("slurm", **options)
    array = xs.submit_slurm(executor, task, groups)
    at_once = min(len(groups), executor.parameters.get("array_parallelism", len(groups)))
    print(f"submitted {len(groups)} lockstep groups ({n_todo} runs) as Slurm job array {array} (at most "
          f"{at_once} at once); logs in {executor.folder}. Progress: "
          f"squeue -j {array}; rerun with --dry-run to see what is done and in progress", flush=True)
    return 0


class _Report:
    """The runner's progress: a line per finished group; once a result was rescued, no new group starts and
    :meth:`finish` raises one line saying where the rescued results are."""

    def __init__(self, n_groups, n_todo, results_dir):
        self.n_groups, self.n_todo, self.results_dir = n_groups, n_todo, results_dir
        self.written, self.finished, self.rescued, self.error, self.t0 = 0, 0, [], None, time.time()

    def __call__(self, k, g, outcome) -> bool:
        """Print a finished group's line; False once a result had to be rescued."""
        out, skipped = outcome["results"], outcome["skipped"]
        self.finished += 1
        self.error = self.error or outcome.get("error")
        self.written += sum(1 for *_, rescued in out if not rescued)
        self.rescued += [rescued for *_, rescued in out if rescued]
        labels = {c.run_id: c.label for c in g}
        errs = ", ".join(f"{labels[i]} " + ("diverged" if d else f"{e:.3f}" if e is not None else "-")
                         + (" (rescued)" if r else "") for i, e, d, r in out)
        if skipped:
            errs += ("; " if errs else "") + f"{len(skipped)} skipped ({next(iter(skipped.values()))})"
        print(f"[{k}/{self.n_groups}] {xs.group_name(g)} done in {time.time() - outcome['started']:.0f} s: {errs}  "
              f"({self.written}/{self.n_todo} runs, {time.time() - self.t0:.0f} s elapsed)", flush=True)
        return not (self.rescued or self.error)

    def finish(self) -> int:
        """The number of runs written; raises a one-line FaLabError if any result had to be rescued (or no run
        could be claimed)."""
        left = self.n_groups - self.finished
        if self.error and not self.rescued:
            raise FaLabError(f"{self.error}; stopped after writing {self.written} results"
                             + (f" ({left} group{'s' * (left > 1)} not started)" if left else ""))
        if self.rescued:
            where = Path(self.rescued[0][0]).parents[2]
            raise FaLabError(f"could not write {len(self.rescued)} results into {self.results_dir} "
                             f"({self.rescued[0][1]}); saved them under {where} and stopped"
                             + (f" ({left} group{'s' * (left > 1)} not started)" if left else "")
                             + ": rerun replicate once the results folder is writable and they are put back")
        print(f"finished {self.written} runs in {time.time() - self.t0:.0f} s", flush=True)
        return self.written
