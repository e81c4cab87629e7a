"""``python -m fa_lab replicate {exp1,exp2,exp3,exp4,baselines,all}``: the resumable experiment runner.

- Runs whose result file exists (and is valid) are skipped; a malformed one is reported and redone.
- Runs that share a net, seed and protocol train together in one lockstep :func:`fa_lab.fit` pass
  (e.g. s1, s2, s3 of one net; bp, fa, dfa; the 7 families of Experiment 4 for one rule).
- Each finished run is written atomically as ``<results>/<protocol>/<experiment>/<run_id>.json``
  (Experiment 3 also gets ``<run_id>.npz``: reconstructions of 10 fixed test digits and first-layer
  weights), so a kill loses at most the runs in flight.
- ``--jobs N`` runs N lockstep groups in parallel processes, splitting the CPU threads between them.
  Killing the runner (Ctrl-C, ``kill``, even ``kill -9``) stops its workers too.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

from . import experiments as ex
from . import results as rs
from .provenance import device_facts, environment
from ..core.errors import positive

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
    """Train one lockstep group and write each run's result atomically; returns [(run_id, final, diverged)]."""
    import torch

    from ..core.alignment import AlignmentProbe
    from ..core.data import load_mnist
    from ..core.model import resolve_device
    from ..core.train import fit

    if threads:
        torch.set_num_threads(threads)
    cfgs = [ex.RunConfig.from_dict(d) for d in config_dicts]
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
        path = rs.run_path(results_dir, cfg.protocol, cfg.experiment, cfg.run_id)
        if not model.net.head.needs_labels and not h.diverged:  # Experiment 3: figure data first, then the JSON
            rs.atomic_write_npz(path.with_suffix(".npz"), **_artifacts(model, full.x_test[list(DIGITS)]))
        rs.write_record(results_dir, rs.Record.of(cfg, h, wall, ids, env, facts))
        out.append((cfg.run_id, h.test_error[-1] if h.test_error else None, h.diverged))
    return out


# ---------------------------------------------------------------------------------------------- planning
def plan(names, protocol="full", seeds=(0,), results_dir=rs.DEFAULT_DIR, ae_activation=ex.AE_ACTIVATION,
         max_group_size=None, **overrides):
    """(all runs, runs still to do grouped for lockstep). Malformed result files are reported and redone."""
    runs = ex.configs(names, protocol, seeds, ae_activation, **overrides)
    todo = []
    for r in runs:
        path = rs.run_path(results_dir, r.protocol, r.experiment, r.run_id)
        if path.exists():
            try:
                rs.read_record(path)
                continue
            except ValueError as exc:
                print(f"fa_lab: warning: malformed result file {path} ({exc}); running it again", file=sys.stderr)
        todo.append(r)
    return runs, ex.group(todo, max_group_size)


def replicate(names="all", quick=False, seeds=(0,), jobs=1, results_dir=rs.DEFAULT_DIR, device="auto",
              progress=True, ae_activation=ex.AE_ACTIVATION, max_groups=None, dry_run=False, max_group_size=None,
              **overrides):
    """Run every missing run of ``names``; returns the number of runs written. See module docstring."""
    positive("jobs", jobs)
    if max_groups is not None:
        positive("max_groups", max_groups)
    if max_group_size is not None:
        positive("max_group_size", max_group_size)
    from ..core.model import resolve_device

    resolve_device(device)  # a bad --device fails here, in one line, before any work
    protocol = "quick" if quick else "full"
    runs, groups = plan(names, protocol, seeds, results_dir, ae_activation, max_group_size, **overrides)
    n_missing = sum(map(len, groups))
    if max_groups is not None:
        groups = groups[:max_groups]
    n_todo = sum(map(len, groups))
    print(f"replicate {','.join(ex.expand(names))} [{protocol}] seeds {','.join(map(str, seeds))}: {len(runs)} runs, "
          f"{len(runs) - n_missing} already done, {n_todo} to run now in {len(groups)} lockstep groups "
          f"-> {Path(results_dir) / protocol}", flush=True)
    if dry_run:
        for k, g in enumerate(groups, 1):
            print(f"  [{k}] {_label(g)}: " + " ".join(c.run_id for c in g))
        return 0
    if not groups:
        return 0
    env = environment()
    t0 = time.perf_counter()
    written = 0

    def report(k, g, out, dt):
        nonlocal written
        written += len(out)
        errs = ", ".join(f"{c.label} " + ("diverged" if d else f"{e:.3f}" if e is not None else "-")
                         for c, (_, e, d) in zip(g, out))
        print(f"[{k}/{len(groups)}] {_label(g)} done in {dt:.0f} s: {errs}  "
              f"({written}/{n_todo} runs, {time.perf_counter() - t0:.0f} s elapsed)", flush=True)

    if jobs == 1:
        for k, g in enumerate(groups, 1):
            t = time.perf_counter()
            out = run_group([c.as_dict() for c in g], results_dir, device, None, progress, env, _label(g))
            report(k, g, out, time.perf_counter() - t)
    else:
        _parallel(groups, jobs, results_dir, device, env, report)
    print(f"finished {written} runs in {time.perf_counter() - t0:.0f} s", flush=True)
    return written


def _label(g):
    c = g[0]
    return f"{c.experiment if len({x.experiment for x in g}) == 1 else '+'.join(sorted({x.experiment for x in g}))} " \
           f"{c.net_name} seed {c.seed}"


def _cost(g):
    c = g[0]
    weights = sum(a * b for a, b in zip(c.sizes[:-1], c.sizes[1:]))
    return len(g) * weights * (c.n_train or 60000) * c.epochs


def _exit_with_parent(parent_pid):
    """Worker initializer: a worker whose parent runner has died (kill -9 included) exits within a second,
    instead of training the rest of the queue unattended."""
    import threading

    def watch():
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(143)

    threading.Thread(target=watch, daemon=True, name="fa_lab-parent-watch").start()


def _sigterm_as_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def _parallel(groups, jobs, results_dir, device, env, report):
    import multiprocessing as mp
    import signal
    import threading
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    threads = max(1, (os.cpu_count() or 1) // jobs)
    # longest passes first (cost ~ models x weights x examples x epochs): better packing of N workers
    order = sorted(range(len(groups)), key=lambda i: -_cost(groups[i]))
    ctx = mp.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_exit_with_parent,
                               initargs=(os.getpid(),))
    # `kill <runner>` (SIGTERM) stops the workers too; finished runs are on disk, the ones in flight are lost
    main_thread = threading.current_thread() is threading.main_thread()
    old_handler = signal.signal(signal.SIGTERM, _sigterm_as_interrupt) if main_thread else None
    try:
        futures = {}
        for i in order:
            k, g = i + 1, groups[i]
            f = pool.submit(run_group, [c.as_dict() for c in g], str(results_dir), device, threads, False, env,
                            f"[{k}] {_label(g)}")
            futures[f] = (k, g, time.perf_counter())
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                k, g, t = futures[f]
                report(k, g, f.result(), time.perf_counter() - t)
    except BaseException:
        workers = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for w in workers:  # runs in flight are lost (never half-written: results are written atomically)
            if w.is_alive():
                w.terminate()
        raise
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, old_handler)
    pool.shutdown()
