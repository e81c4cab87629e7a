"""relu s2/s3 (default: s3 with auxiliary errors), with the feedback matrices between the hidden layers scaled down
(REPLICATION.md, deviations: "relu nets whose top hidden layer averages in a term from the layer below").

At U(−½, ½) the neighbour terms of s3 are ~40x BP's own term and the relu nets blow up in epoch 1. This trains the
paper's net with those matrices (B̃, B̄; not B, which also reads the auxiliary logits) times each ``--scale``
(feedback parameter ``hidden_scale``), side
by side (one batch order, the protocol's lr and batch), and prints the test error after each epoch.

    python scripts/relu_feedback_scale.py [--scale 1 0.03] [--width 800] [--rule s3] [--no-aux] [--epochs 3]
                                          [--n-train 60000]
"""

import argparse

import torch

import fa_lab
from fa_lab.core.data import load_mnist


def scaled(width, scale, rule="s3", aux=True):
    """The paper's 784-w-w-10 relu net with ``rule`` (and auxiliary errors), its feedback between hidden layers
    times ``scale`` (the variants' ``hidden_scale``)."""
    m = fa_lab.build([784, width, width, 10], "relu", rule, aux=aux, feedback_params={"hidden_scale": scale})
    m.name = f"relu {m.name} x{scale:g}"
    return m


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, nargs="+", default=[1.0, 0.03])
    p.add_argument("--width", type=int, default=800)
    p.add_argument("--rule", default="s3", choices=("s2", "s3"), help="a rule whose layers average in neighbour terms")
    p.add_argument("--aux", action=argparse.BooleanOptionalAction, default=True, help="auxiliary errors (Experiment 2)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--n-train", type=int, default=60000)
    a = p.parse_args()
    torch.set_num_threads(1)
    ms = [scaled(a.width, s, a.rule, a.aux) for s in a.scale]
    for m, h in zip(ms, fa_lab.fit(ms, load_mnist().subset(a.n_train), epochs=a.epochs, progress=False)):
        state = f"diverged in epoch {len(h.test_error) + 1}" if h.diverged else f"final train error {h.final_train_error:.2f}"
        print(f"{m.name:24s} test error % by epoch: {' '.join(f'{e:.2f}' for e in h.test_error)}   {state}", flush=True)


if __name__ == "__main__":
    main()
