"""Experiment 4's sparse family B4 at two densities, with FA and DFA (REPLICATION.md, deviations).

The paper says only that "the sparsity is randomly done using numpy"; the faithful runs take density 0.1, the
variant ``exp4-d0.01`` scipy.sparse.random's default 0.01. Trains the four nets side by side (one batch order,
the protocol's lr and batch) for ``--epochs`` epochs and prints their test error after each.

    python scripts/b4_density.py [--epochs 3] [--n-train 60000]
"""

import argparse

import torch

import fa_lab
from fa_lab.core.data import load_mnist

DENSITIES = (0.1, 0.01)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--n-train", type=int, default=60000)
    a = p.parse_args()
    torch.set_num_threads(1)
    ms = [fa_lab.build([784, 800, 800, 10], "tanh", rule, family="B4", feedback_params={"density": d},
                       name=f"{rule}-B4 density {d}") for rule in ("fa", "dfa") for d in DENSITIES]
    hist = fa_lab.fit(ms, load_mnist().subset(a.n_train), epochs=a.epochs, progress=False)
    for m, h in zip(ms, hist):
        print(f"{m.name:20s} test error % by epoch: {' '.join(f'{e:.2f}' for e in h.test_error)}   "
              f"final train error {h.final_train_error:.2f}")


if __name__ == "__main__":
    main()
