"""Seconds per MNIST epoch (60 000 rows, batch 16) on a GPU: eager CUDA vs recorded CUDA graphs
(fa_lab.core.graphs), for one 2x800 tanh model and for a lockstep group of six, then N processes at once.

    python scripts/gpu_bench.py [--procs N] [--epochs E] [--device cuda]
"""

import argparse
import os
import subprocess
import sys
import time

import torch

import fa_lab


def epoch_seconds(rules, graphs, epochs, device):
    os.environ["FA_LAB_CUDA_GRAPHS"] = "1" if graphs else "0"
    data = fa_lab.load_mnist(device=device)
    models = [fa_lab.build([784, 800, 800, 10], "tanh", r, device=device) for r in rules]
    hist = fa_lab.fit(models, data, epochs=epochs, progress=False, final_train_error=False)
    return hist[0].epoch_time, [round(h.test_error[-1], 2) for h in hist]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--procs", type=int, default=0)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--device", default="cuda")
    p.add_argument("--one", default=None, help="internal: one process of the concurrent test (graphs 0/1)")
    a = p.parse_args()
    if a.one is not None:
        secs, _ = epoch_seconds(["s1"], a.one == "1", a.epochs, a.device)
        print(f"{min(secs):.3f}", flush=True)
        return
    for rules in (["s1"], ["bp", "fa", "dfa", "s1", "s2", "s3"]):
        for graphs in (False, True):
            secs, errs = epoch_seconds(rules, graphs, a.epochs, a.device)
            print(f"{len(rules)} model(s), graphs {graphs}: s/epoch {[round(s, 3) for s in secs]}, test {errs}",
                  flush=True)
    for graphs in ((False, True) if a.procs else ()):
        t0 = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, __file__, "--one", "1" if graphs else "0", "--epochs",
                                   str(a.epochs), "--device", a.device], stdout=subprocess.PIPE, text=True)
                 for _ in range(a.procs)]
        outs = [float(q.communicate()[0].split()[-1]) for q in procs]
        print(f"{a.procs} processes, graphs {graphs}: best s/epoch each {sorted(outs)[len(outs) // 2]:.3f} (median), "
              f"wall {time.perf_counter() - t0:.1f} s", flush=True)


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
