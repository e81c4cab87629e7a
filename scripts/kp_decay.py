"""Kolen–Pollack's weight decay λ on the full protocol's data, lr and batch: what it costs and what it buys.

KP (``fa_lab.core.rules.kp``) decays every W and every learned B̃ by lr·λ per step, so W − B̃ᵀ shrinks and the
feedback turns into the transpose; but the same decay shrinks the forward weights. Trains FA and KP with each λ side
by side (one batch order, all 60 000 / 10 000 digits, one thread) and prints after every epoch the test error, the
angle between each B̃ⁱ and (Wⁱ⁺¹)ᵀ and the angle of each δWⁱ to BP's gradient (fa_lab.core.alignment)::

    python scripts/kp_decay.py --width 200 --epochs 20 --decays 0.03,0.01
"""

from __future__ import annotations

import argparse
import time

import torch

import fa_lab
from fa_lab.core.alignment import AlignmentProbe
from fa_lab.core.data import load_mnist
from fa_lab.core.train import fit


def _degrees(rows, field):
    return "/".join("—" if r.get(field) is None else f"{r[field]:.0f}" for r in rows)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--width", type=int, default=200, help="units per hidden layer (two hidden layers, tanh)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--decays", default="0.1,0.03,0.01", help="comma-separated λ values")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    decays = [float(x) for x in args.decays.split(",")]
    rules = {"fa": "fa", **{f"kp λ={lam:g}": fa_lab.Rule("kp", (("above:KP",),) * 2, weight_decay=lam)
                            for lam in decays}}
    data = load_mnist()
    models = [fa_lab.build([784, args.width, args.width, 10], "tanh", r, seed=0, name=n) for n, r in rules.items()]
    start = time.time()

    def show(epoch, histories):
        print(f"epoch {epoch + 1} ({time.time() - start:.0f} s): " + "  ".join(
            f"{h.name}: {h.test_error[-1]:.2f} %, ∠(B̃, Wᵀ) {_degrees(h.alignment[-1], 'feedback_angle')}°, "
            f"∠(δW, BP) {_degrees(h.alignment[-1], 'angle')}°" for h in histories), flush=True)

    histories = fit(models, data, epochs=args.epochs, progress=False, callbacks=[AlignmentProbe(models, data), show])
    print("final train error %:", {h.name: round(h.final_train_error, 3) for h in histories})
    print("‖Wⁱ‖:", {m.name: [round(float(W.norm()), 1) for W in m.net.W] for m in models})


if __name__ == "__main__":
    main()
