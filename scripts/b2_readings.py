"""Experiment 4's B2 ("the non-square identity") with DFA: what the reading costs (REPLICATION.md, deviations).

Bⁱ = eye(800, 10) has ones only where unit j = class j, so Bⁱe is zero on 790 of the 800 units of each hidden
layer: they never learn, and the net is 10 trained units per layer plus an output layer reading 790 frozen random
units. Trains side by side, one batch order, the protocol's lr and batch, for ``--epochs`` epochs:
  dfa-B2           the faithful reading (eye(800, 10));
  dfa-B2-tiled     the identity tiled down the layer (unit j gets class j mod 10): every unit learns;
  readout-only     all Bⁱ = 0: only the output layer learns (the random-feature floor);
  dfa-uniform      the default U(-1/2, 1/2) feedback, for scale.

    python scripts/b2_readings.py [--epochs 3] [--n-train 60000]
"""

import argparse

import torch

import fa_lab
from fa_lab.core.data import load_mnist


def models():
    sizes = [784, 800, 800, 10]
    b2 = fa_lab.build(sizes, "tanh", "dfa", family="B2", name="dfa-B2")
    tiled = fa_lab.build(sizes, "tanh", "dfa", family="B2", feedback_params={"tiled": True}, name="dfa-B2-tiled")
    floor = fa_lab.build(sizes, "tanh", "dfa", family="B2", name="readout-only")
    uniform = fa_lab.build(sizes, "tanh", "dfa", name="dfa-uniform")
    for i in (1, 2):
        floor.feedback["B", i].zero_()
    return [b2, tiled, floor, uniform]


def side_by_side(make_models, doc, extra=lambda m: ""):
    """Parse ``--epochs`` / ``--n-train``, train ``make_models()`` side by side on one thread and print each
    model's test error after every epoch (``extra(model)``: more to say about it). Shared with b4_density.py."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--n-train", type=int, default=60000)
    a = p.parse_args()
    torch.set_num_threads(1)
    ms = make_models()
    hist = fa_lab.fit(ms, load_mnist().subset(a.n_train), epochs=a.epochs, progress=False)
    for m, h in zip(ms, hist):
        print(f"{m.name:20s} {extra(m)}test error % by epoch: {' '.join(f'{e:.2f}' for e in h.test_error)}   "
              f"final train error {h.final_train_error:.2f}")


def main():
    side_by_side(models, __doc__, lambda m: f"units of layer 1 that get an error: "
                                            f"{int((m.feedback['B', 1].abs().sum(1) > 0).sum()):3d}/800   ")


if __name__ == "__main__":
    main()
