"""Experiment 4's sparse family B4 at two densities, with FA and DFA (REPLICATION.md, deviations).

The paper says only that "the sparsity is randomly done using numpy"; the faithful runs take density 0.1, the
variant ``exp4-d0.01`` scipy.sparse.random's default 0.01. Trains the four nets side by side (one batch order,
the protocol's lr and batch) for ``--epochs`` epochs and prints their test error after each.

    python scripts/b4_density.py [--epochs 3] [--n-train 60000]
"""

from b2_readings import side_by_side

import fa_lab

DENSITIES = (0.1, 0.01)


def models():
    return [fa_lab.build([784, 800, 800, 10], "tanh", rule, family="B4", feedback_params={"density": d},
                         name=f"{rule}-B4 density {d}") for rule in ("fa", "dfa") for d in DENSITIES]


def main():
    side_by_side(models, __doc__)


if __name__ == "__main__":
    main()
