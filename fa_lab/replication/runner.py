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

import argparse
import datetime
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from . import experiments as ex
from . import results as rs
from ..core.errors import FaLabError

# 10 "randomly selected" test digits for Figure 6 (fixed: indices into the 10 000 MNIST test images)
DIGITS = tuple(int(i) for i in np.sort(np.random.default_rng(2017).choice(10000, 10, replace=False)))
MAX_WEIGHT_UNITS = 128  # first-layer weights saved for at most this many units (800-unit nets: first 100)


# ---------------------------------------------------------------------------------------------- metadata
def _cpu_name():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_commit():
    root = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "fa_lab"], cwd=root,
                               capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def environment() -> dict:
    """Library versions, git commit, host and CPU: stored in every result."""
    import torch

    from .. import __version__

    return {"versions": {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
                         "fa_lab": __version__},
            "git_commit": _git_commit(), "host": {"hostname": socket.gethostname(), "cpu": _cpu_name(),
                                                  "cpu_count": os.cpu_count(), "platform": platform.platform()}}


# ---------------------------------------------------------------------------------------------- one group
def _record(cfg, hist, wall, group_ids, env, device):
    final = hist.test_error[-1] if hist.test_error and not hist.diverged else None
    return {"schema": rs.SCHEMA, "run_id": cfg.run_id, "config": cfg.as_dict(), "model": cfg.net_name,
            "method": cfg.method, "train_error": hist.train_error, "test_error": hist.test_error,
            "train_loss": hist.train_loss, "epoch_time": hist.epoch_time, "final_test_error": final,
            "final_train_error": hist.final_train_error, "diverged": hist.diverged, "wall_time_s": wall,
            "group": group_ids, "device": str(device),
            "finished_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), **env}


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

    def callback(epoch, histories):
        if not progress and (epoch % every == 0 or epoch == ref.epochs):
            errs = " ".join(f"{h.test_error[-1]:.2f}" if h.test_error else "-" for h in histories)
            print(f"  {label} epoch {epoch}/{ref.epochs}: test {errs}", flush=True)

    t0 = time.perf_counter()
    hists = fit(models, data, ref.epochs, ref.batch_size, ref.lr, ref.seed, reduction=ref.reduction,
                progress=progress, callbacks=callback)
    wall = time.perf_counter() - t0
    env = env or environment()
    ids = [c.run_id for c in cfgs]
    by_name = {h.name: h for h in hists}
    out = []
    for cfg, model in zip(cfgs, models):
        h = by_name[cfg.run_id]
        path = rs.run_path(results_dir, cfg.protocol, cfg.experiment, cfg.run_id)
        if cfg.head == "sigmoid" and not h.diverged:  # Experiment 3: figure data first, then the JSON
            rs.atomic_write_npz(path.with_suffix(".npz"), **_artifacts(model, full.x_test[list(DIGITS)]))
        rs.atomic_write_json(path, _record(cfg, h, wall, ids, env, device))
        out.append((cfg.run_id, h.test_error[-1] if h.test_error else None, h.diverged))
    return out


# ---------------------------------------------------------------------------------------------- planning
def parse_seeds(text) -> list[int]:
    try:
        seeds = [int(s) for s in str(text).split(",") if s.strip() != ""]
    except ValueError:
        raise FaLabError(f"--seeds must be comma-separated non-negative integers like 0,1,2; got {text!r}") from None
    if not seeds or any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise FaLabError(f"--seeds must be distinct non-negative integers like 0,1,2; got {text!r}")
    return seeds


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
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise FaLabError(f"--jobs must be a positive integer, got {jobs!r}")
    if max_groups is not None and (not isinstance(max_groups, int) or max_groups < 1):
        raise FaLabError(f"--max-groups must be a positive integer, got {max_groups!r}")
    if max_group_size is not None and (not isinstance(max_group_size, int) or max_group_size < 1):
        raise FaLabError(f"--max-group-size must be a positive integer, got {max_group_size!r}")
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
        errs = ", ".join(f"{c.method}{'-aux' if c.aux else ''} " + ("diverged" if d else f"{e:.3f}" if e is not None else "-")
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


# ---------------------------------------------------------------------------------------------- CLI
def _positive_int(name):
    def parse(text):
        try:
            v = int(text)
        except ValueError:
            raise FaLabError(f"{name} must be a positive integer, got {text!r}") from None
        if v < 1:
            raise FaLabError(f"{name} must be a positive integer, got {text!r}")
        return v
    return parse


def add_replicate(sub):
    from ..core.nets import ACTIVATIONS

    p = sub.add_parser("replicate", help="run the paper's experiments (resumable)",
                       description="Run the experiments of the paper; finished runs are skipped, each result is "
                                   "written atomically to <results>/<full|quick>/<experiment>/<run_id>.json.")
    p.add_argument("experiments", nargs="+", metavar="EXPERIMENT",
                   help=f"one or more of {', '.join(ex.EXPERIMENTS)}, all")
    p.add_argument("--quick", action="store_true",
                   help=f"small protocol: first {ex.QUICK['n_train']} train / {ex.QUICK['n_test']} test examples, "
                        f"{ex.QUICK['epochs']} epochs, same nets (results/quick)")
    p.add_argument("--seeds", default="0", help="comma-separated seeds (default: 0)")
    p.add_argument("--jobs", default="1", help="lockstep groups trained in parallel processes (default: 1)")
    p.add_argument("--results", default=rs.DEFAULT_DIR, help="results folder (default: results)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda or cuda:N (default: auto)")
    p.add_argument("--ae-activation", default=ex.AE_ACTIVATION, metavar="{" + ",".join(ACTIVATIONS) + "}",
                   help=f"hidden activation of the Experiment 3 auto-encoders (paper silent; default {ex.AE_ACTIVATION})")
    p.add_argument("--max-groups", default=None, help="stop after this many lockstep groups")
    p.add_argument("--max-group-size", default=None,
                   help="at most this many models per lockstep pass (default: all that can share one)")
    p.add_argument("--dry-run", action="store_true", help="list the runs still to do, train nothing")
    p.add_argument("--no-progress", action="store_true", help="no per-epoch progress bar")
    p.set_defaults(func=run_replicate)


def run_replicate(args):
    jobs = _positive_int("--jobs")(args.jobs)
    max_groups = None if args.max_groups is None else _positive_int("--max-groups")(args.max_groups)
    group_size = None if args.max_group_size is None else _positive_int("--max-group-size")(args.max_group_size)
    seeds = parse_seeds(args.seeds)
    names = ex.expand(args.experiments)
    replicate(names, args.quick, seeds, jobs, args.results, args.device, not args.no_progress, args.ae_activation,
              max_groups, args.dry_run, group_size)
    return 0


def add_report(sub):
    p = sub.add_parser("report", help="paper-vs-ours tables, replication.csv, figures and REPLICATION.md",
                       description="Summarise the results store: Tables 2-4 (paper vs ours), figures 4-8.")
    p.add_argument("--results", default=rs.DEFAULT_DIR, help="results folder (default: results)")
    p.add_argument("--quick", action="store_true", help="report the quick protocol (results/quick)")
    p.add_argument("--markdown", default=None,
                   help="where to write REPLICATION.md (default: next to the results folder for the full protocol, "
                        "inside <results>/quick for --quick)")
    p.add_argument("--no-figures", action="store_true", help="tables only")
    p.set_defaults(func=run_report)


def run_report(args):
    from .report import report

    report(args.results, "quick" if args.quick else "full", args.markdown, figures=not args.no_figures)
    return 0


add_commands = [add_replicate, add_report]
