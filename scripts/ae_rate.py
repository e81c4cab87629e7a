"""Experiment 3's wide auto-encoder: is BP's deficit a slower rate or a worse end point?

On 784-800-800-784 (sigmoid, the protocol's data, batch and lr) every DFA-type rule ends the faithful 100 epochs
ahead of BP. This trains BP at the protocol's lr, BP at ``--factor`` times that lr and DFA at the protocol's lr
(one seed, one batch order, one thread) and prints the mean ‖x − x̂‖² per test image after every epoch. If BP's
curve depends on lr·epochs alone, BP at k·lr for e epochs matches BP at lr for k·e epochs, and the variant
``exp3-300ep`` (3× the epochs) predicts itself::

    python scripts/ae_rate.py --epochs 6 --factor 3 --seed 1      # about 4 minutes on one core
"""

from __future__ import annotations

import argparse
import time

import torch

import fa_lab
from fa_lab.core.data import load_mnist
from fa_lab.core.train import LR, fit
from fa_lab.replication.experiments import AE_ACTIVATION, AE_SIZES


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--factor", type=float, default=3.0, help="BP's second run uses this times the protocol's lr")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    data = load_mnist()
    curves = {}
    for name, rule, lr in (("bp", "bp", LR), (f"bp, lr ×{args.factor:g}", "bp", LR * args.factor), ("dfa", "dfa", LR)):
        model = fa_lab.build(list(AE_SIZES[-1]), AE_ACTIVATION, rule, head="sigmoid", seed=args.seed, name=name)
        start = time.time()
        curves[name] = fit([model], data, epochs=args.epochs, lr=lr, seed=args.seed, progress=False)[0].test_error
        print(f"{name:12s} " + " ".join(f"{v:7.3f}" for v in curves[name]) + f"   ({time.time() - start:.0f} s)",
              flush=True)
    fast, k = curves[f"bp, lr ×{args.factor:g}"], int(args.factor)
    if k == args.factor:
        pairs = [(e, fast[e - 1], curves["bp"][k * e - 1]) for e in range(1, args.epochs // k + 1)]
        print("BP at k·lr for e epochs vs BP at lr for k·e epochs: "
              + "; ".join(f"e = {e}: {a:.3f} vs {b:.3f}" for e, a, b in pairs))


if __name__ == "__main__":
    main()
