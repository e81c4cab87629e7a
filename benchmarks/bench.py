"""Speed benchmarks of fa_lab, printed as ratios measured in one run (``make bench``).

What is measured (all for one net, default 784-800-800-10 tanh, at ``fa_lab.core.train.BATCH_SIZE``):

1. the machine's fp32 matmul peak: best of several large square ``torch.mm``;
   the GEMMs alone of one step of each rule (``flops.step_gemms``; the ceiling a step can reach at
   this batch size) and of a DFA step for six stacked models (the lockstep ceiling), and the copy
   bandwidth;
2. fa_lab training, one model per rule (bp fa dfa s1 s2 s3), through the real ``fa_lab.fit`` path,
   its epoch time and the fraction of the matmul peak it reaches (FLOP model: ``flops.flops_per_example``);
3. the same six rules trained in lockstep (one ``fit`` call) against one after another;
4. the "autograd peer": the same rules written the way common libraries do it (nn.Linear layers,
   custom ``torch.autograd.Function``s that swap the backward matrix (FA) or inject B·e (DFA),
   an ``optim.SGD`` optimizer), and fa_lab's speed-up over it;
5. a student-style loop (torchvision ``DataLoader`` over ``datasets.MNIST`` with ``ToTensor``,
   ``nn.Sequential``, autograd BP, ``optim.SGD``), and fa_lab's speed-up over it.

Every row trains a fixed number of batches (``--batches``) and is extrapolated to a 60 000-example
epoch; rows are repeated (``--repeats``) in interleaved order and the best (least disturbed) time is
kept, the spread (worst/best) is printed as a noise indicator. With one CPU thread (the default)
times are process CPU time, so a job descheduled by other jobs on a shared machine is not charged
for the wait; with several threads or on a GPU they are wall time. The test-set evaluation that
``fit`` runs after each epoch is measured separately (``eval``) and not part of the training rows, and so are
the alignment diagnostics every full-protocol run records after each epoch (``diagnostics``: printed as a
fraction of the lockstep row's epoch, which trains the same six nets).

The last line is machine-readable::

    RESULT gemm_fraction=<x> lockstep_gemm_fraction=<x> autograd_speedup=<y> lockstep_autograd_speedup=<y> naive_speedup=<z>

gemm_fraction: fa_lab DFA, one model, fraction of peak. lockstep_gemm_fraction: the lockstep row
(bp fa dfa s1 s2 s3) in aggregate. autograd_speedup: peer DFA / fa_lab DFA epoch time.
lockstep_autograd_speedup: peer training the six models one after another / fa_lab lockstep row.
naive_speedup: student loop (autograd BP) / fa_lab BP, one model.

This file is the command line and the run; the parts: ``flops`` (the FLOP model and a step's GEMMs),
``ceilings`` (peak, GEMM ceilings, bandwidth), ``timing`` (settings, clock, repeats), ``rows`` (the timed
rows), ``peer`` (the autograd peer), ``report`` (the table, speed-ups and RESULT line).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import fa_lab  # noqa: E402
from fa_lab.core.data import ensure_mnist  # noqa: E402
from fa_lab.core.lockstep import Lockstep  # noqa: E402
from fa_lab.core.train import BATCH_SIZE  # noqa: E402

from benchmarks.ceilings import copy_bandwidth, gemm_ceiling, matmul_peak  # noqa: E402
from benchmarks.flops import flops_per_epoch  # noqa: E402
from benchmarks.report import DIAGNOSTICS, Measured, report  # noqa: E402
from benchmarks.rows import RULES, diagnostics_row, eval_row, fa_lab_row, peer_row, student_row  # noqa: E402
from benchmarks.timing import Settings, pick_clock  # noqa: E402


def parse_settings(argv=None) -> Settings:
    """The command line as :class:`~benchmarks.timing.Settings`; sets torch's thread count (``--threads``)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="784,800,800,10")
    p.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="default: fa_lab.core.train.BATCH_SIZE")
    p.add_argument("--batches", type=int, default=50, help="batches timed per row (extrapolated to an epoch)")
    p.add_argument("--repeats", type=int, default=5, help="interleaved repeats; the best is kept")
    p.add_argument("--threads", type=int, default=1,
                   help="torch.set_num_threads; 0 keeps torch's default (all cores). Default 1: on a machine shared "
                        "with other jobs, multi-threaded GEMMs stall on descheduled threads (docs/benchmarks.md); "
                        "peak and rows use the same count, so fractions and ratios stay comparable")
    p.add_argument("--device", default="cpu")
    p.add_argument("--peak-n", type=int, default=2048, help="side of the square matmul that measures the peak")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    return Settings(sizes=[int(s) for s in args.sizes.split(",")], batch_size=args.batch_size, batches=args.batches,
                    repeats=args.repeats, device=device, clock=pick_clock(device), peak_n=args.peak_n)


def row_tasks(settings, models, data):
    """The timed rows in table order: (name, zero-argument callable giving seconds per epoch)."""
    s, scale = settings, settings.per_epoch  # rows time s.batches batches; scale extrapolates to an epoch
    part = data.subset(s.batches * s.batch_size, s.batch_size)  # the timed part of an epoch; a token test set
    row_models = [fa_lab.build(s.sizes, "tanh", r, seed=0, device=s.device) for r in RULES]
    eval_stack = Lockstep([models["dfa"]])
    tasks = [(f"fa_lab {r}", lambda r=r: fa_lab_row([models[r]], part, s) * scale) for r in RULES]
    tasks += [("fa_lab lockstep", lambda: fa_lab_row(row_models, part, s) * scale)]
    tasks += [(f"peer {r}", lambda r=r: peer_row(models[r], data.x_train, data.y_train, s) * scale) for r in RULES]
    tasks += [("student bp", lambda: student_row(s) * scale)]
    tasks += [("eval (10k test)", lambda: eval_row(eval_stack, data, s))]  # one evaluation, not scaled
    tasks += [(DIAGNOSTICS, lambda: diagnostics_row(row_models, data, s))]  # one measurement, not scaled
    return tasks


def measure(settings, models, tasks) -> Measured:
    """Warm every row up once, then ``settings.repeats`` times: the machine's ceilings and every row, interleaved."""
    s, m = settings, Measured()
    for _, fn in tasks:  # warm-up
        fn()
    for rep in range(s.repeats):
        m.peaks.append(matmul_peak(s.device, s.clock, s.peak_n))
        for r in RULES:
            m.ceilings[r].append(gemm_ceiling(models[r].rule, s.sizes, s.device, s.batch_size, s.clock))
        m.lock_ceilings.append(gemm_ceiling(models["dfa"].rule, s.sizes, s.device, s.batch_size, s.clock,
                                            inner=5, models=len(RULES)))
        m.bandwidths.append(copy_bandwidth(s.device))
        for name, fn in tasks:
            m.rows.setdefault(name, []).append(fn())
        print(f"  repeat {rep + 1}/{s.repeats} done (load {os.getloadavg()[0]:.2f})", flush=True)
    return m


def main(argv=None):
    """Run the bench (``argv`` as on the command line); print the report; return the RESULT ratios."""
    s = parse_settings(argv)
    ensure_mnist(download=False)
    data = fa_lab.load_mnist(download=False, device=s.device)
    print(f"fa_lab bench: sizes {s.sizes} tanh, batch {s.batch_size} (fa_lab.core.train.BATCH_SIZE={BATCH_SIZE}), "
          f"{s.batches} batches/row x {s.repeats} repeats, device {s.device}, threads {torch.get_num_threads()}, "
          f"torch {torch.__version__}, load average {os.getloadavg()[0]:.2f}, clock {s.clock.__name__}", flush=True)
    models = {r: fa_lab.build(s.sizes, "tanh", r, seed=0, device=s.device) for r in RULES}
    flops = {r: flops_per_epoch(models[r].rule, s.sizes) for r in RULES}
    flops["lockstep"] = sum(flops[r] for r in RULES)
    measured = measure(s, models, row_tasks(s, models, data))
    return report(measured, flops, s)


if __name__ == "__main__":
    main()
