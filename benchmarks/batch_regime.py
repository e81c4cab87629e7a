"""Evidence for the batch-size choice: does summed-update SGD with lr=0.001 at batch B
follow per-example SGD (B=1)? Trains 2x800 tanh DFA (and BP) for a few epochs at several
batch sizes from the same seed and prints test-error curves and epoch times.

    python benchmarks/batch_regime.py [--epochs 3] [--batches 1,8,32,128] [--rules dfa,bp]
"""

import argparse
import time

import fa_lab


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batches", default="1,8,32,128")
    p.add_argument("--rules", default="dfa")
    p.add_argument("--width", type=int, default=800)
    args = p.parse_args()
    data = fa_lab.load_mnist()
    for rule in args.rules.split(","):
        for b in map(int, args.batches.split(",")):
            m = fa_lab.build([784, args.width, args.width, 10], "tanh", rule, seed=0)
            t = time.perf_counter()
            h = m.train(data, epochs=args.epochs, batch_size=b, progress=False)
            dt = (time.perf_counter() - t) / args.epochs
            print(f"rule={rule} batch={b:4d} s/epoch={dt:7.2f} test%=" + " ".join(f"{e:.2f}" for e in h.test_error)
                  + " train%=" + " ".join(f"{e:.2f}" for e in h.train_error), flush=True)


if __name__ == "__main__":
    main()
