"""Speed benchmarks of fa_lab, printed as ratios measured in one run (``make bench``).

What is measured (all for one net, default 784-800-800-10 tanh, at ``fa_lab.core.train.BATCH_SIZE``):

1. the machine's fp32 matmul peak: best of several large square ``torch.mm``;
   the GEMMs alone of one step of each rule (:func:`step_gemms`; the ceiling a step can reach at
   this batch size) and of a DFA step for six stacked models (the lockstep ceiling), and the copy
   bandwidth;
2. fa_lab training, one model per rule (bp fa dfa s1 s2 s3), through the real ``fa_lab.fit`` path,
   its epoch time and the fraction of the matmul peak it reaches (FLOP model: :func:`flops_per_example`);
3. the same six rules trained in lockstep (one ``fit`` call) against one after another;
4. the "autograd peer": the same rules written the way common libraries do it (nn.Linear layers,
   custom ``torch.autograd.Function``s that swap the backward matrix (FA) or inject B·e (DFA),
   an ``optim.SGD`` optimizer), and fa_lab's speed-up over it;
5. a student-style loop (torchvision ``DataLoader`` over ``datasets.MNIST`` with ``ToTensor``,
   ``nn.Sequential``, autograd BP, ``optim.SGD``), and fa_lab's speed-up over it.

Every row trains a fixed number of batches (``--batches``) and is extrapolated to a 60 000-example
epoch; rows are repeated (``--repeats``) in interleaved order and the best (least disturbed) time is
kept, the spread (worst/best) is printed as a noise indicator. With one CPU thread (the default)
times are process CPU time, so a job descheduled by other jobs on a shared machine is not charged
for the wait; with several threads or on a GPU they are wall time. The test-set evaluation that
``fit`` runs after each epoch is measured separately (``eval``) and not part of the training rows.

The last line is machine-readable::

    RESULT gemm_fraction=<x> lockstep_gemm_fraction=<x> autograd_speedup=<y> lockstep_autograd_speedup=<y> naive_speedup=<z>

gemm_fraction: fa_lab DFA, one model, fraction of peak. lockstep_gemm_fraction: the lockstep row
(bp fa dfa s1 s2 s3) in aggregate. autograd_speedup: peer DFA / fa_lab DFA epoch time.
lockstep_autograd_speedup: peer training the six models one after another / fa_lab lockstep row.
naive_speedup: student loop (autograd BP) / fa_lab BP, one model.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import fa_lab  # noqa: E402
from fa_lab.core.data import data_root, ensure_mnist  # noqa: E402
from fa_lab.core.train import BATCH_SIZE, LR, Lockstep  # noqa: E402

RULES = ("bp", "fa", "dfa", "s1", "s2", "s3")
EPOCH = 60_000  # MNIST training examples


# ------------------------------------------------------------------------------------------ FLOP model
def flops_per_example(rule, sizes) -> int:
    """Floating-point operations of one training example under ``rule`` (a fa_lab Rule), GEMMs only.

    Every matrix product of an (m×k) by a (k×n) matrix counts 2·m·k·n; element-wise work
    (f, f′, softmax, bias, the mean F, the SGD axpy) is not counted, so the fraction of peak is
    the fraction of time the machine spends doing *necessary* matrix arithmetic. Per example,
    with layer widths n₀..n_ℓ (n_ℓ = n_out) and hidden layers i = 1..ℓ−1:

    * forward:          Σᵢ 2·nᵢ₋₁·nᵢ over all ℓ layers                      (aⁱ = Wⁱhⁱ⁻¹ + bⁱ)
    * weight updates:   Σᵢ 2·nᵢ₋₁·nᵢ over all ℓ layers                      (δWⁱ = δaⁱ(hⁱ⁻¹)ᵀ)
    * error transport, per hidden layer i:
        - 2·nᵢ·n_out once if the layer computes Bⁱeⁱ (a direct term, or a neighbour reads its
          tilde delta δãⁱ; the product is computed once and shared);
          with auxiliary errors another 2·nᵢ·n_out for the auxiliary logits (Bⁱ)ᵀhⁱ;
        - 2·nᵢ·nⱼ for every term that reads a neighbour j's delta through Wᵀ, B̃ or B̄
          (j = i+1 or i−1; above the top hidden layer sits the output, nⱼ = n_out).

    One epoch is ``EPOCH`` examples times this (the batch size does not change the count).
    """
    n = list(sizes)
    depth = len(n) - 1
    total = 2 * sum(n[i] * n[i + 1] for i in range(depth))  # forward
    total += 2 * sum(n[i] * n[i + 1] for i in range(depth))  # weight updates
    for i in range(rule.n_hidden):  # 0-based hidden layer i is the paper's layer i+1, width n[i+1]
        width = n[i + 1]
        if "B" in rule.needs(i):
            total += 2 * width * n[-1] * (2 if rule.error == "auxiliary" else 1)
        for term in rule.layers[i]:
            if term.source != "direct":
                j = i + 1 if term.source == "above" else i - 1  # 0-based neighbour hidden layer
                total += 2 * width * (n[-1] if j == rule.n_hidden else n[j + 1])
    return total


def flops_per_epoch(rule, sizes) -> int:
    """:func:`flops_per_example` times the ``EPOCH`` = 60 000 MNIST training examples."""
    return EPOCH * flops_per_example(rule, sizes)


# ------------------------------------------------------------------------------------------ timing helpers
def clock():
    """The bench's clock: process CPU time when one thread runs on CPU (time the job spent
    descheduled by other jobs on a shared machine is not counted; on an idle core it equals wall
    time), else wall time (several threads, or a GPU)."""
    return CLOCK()


CLOCK = time.perf_counter


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_peak(device, n=2048, repeats=7):
    """Best-of-``repeats`` GFLOP/s of an n×n by n×n fp32 ``torch.mm`` (2·n³ FLOPs)."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    out = torch.empty(n, n, device=device)
    inner = 3 if device.type == "cpu" else 50
    torch.mm(a, b, out=out)
    best = float("inf")
    for _ in range(repeats):
        sync(device)
        t0 = clock()
        for _ in range(inner):
            torch.mm(a, b, out=out)
        sync(device)
        best = min(best, (clock() - t0) / inner)
    return 2 * n**3 / best / 1e9


def step_gemms(rule, sizes, device, batch, models=1):
    """The GEMMs of one training step of ``rule`` at ``batch``, as zero-argument callables on random
    operands of the engine's shapes and layouts, and their FLOPs (which equal ``batch`` times
    :func:`flops_per_example`; the two are checked against each other). ``models`` > 1: the same for
    K models stacked the way lockstep stacks them (batched GEMMs over (K, n, m) weights).

    Forward ``addmm(b, h, Wᵀ)``; transport ``e·Bᵀ`` once per layer that forms Bⁱe (plus the auxiliary
    logits ``h·B``), ``δ·W`` (BP) or ``δ·B̃ᵀ``/``δ·B̄ᵀ`` per neighbour term; update ``W.addmm_(δᵀ, h)``."""
    K = (models,) if models > 1 else ()
    n = list(sizes)

    def mat(*shape, scale=1.0):
        return torch.randn(*K, *shape, device=device) * scale

    def mm(x, y):
        return (lambda: torch.bmm(x, y)) if K else (lambda: torch.mm(x, y))

    calls, flops = [], 0
    for i in range(len(n) - 1):  # forward
        W, b, h = mat(n[i + 1], n[i], scale=0.01), mat(1, n[i + 1]) if K else mat(n[i + 1]), mat(batch, n[i])
        calls.append((lambda W=W, b=b, h=h: torch.baddbmm(b, h, W.transpose(-1, -2))) if K
                     else (lambda W=W, b=b, h=h: torch.addmm(b, h, W.T)))
        flops += 2 * batch * n[i] * n[i + 1]
    for i in range(rule.n_hidden):  # error transport; 0-based hidden layer i has width n[i + 1]
        width = n[i + 1]
        if "B" in rule.needs(i):
            calls.append(mm(mat(batch, n[-1]), mat(width, n[-1]).transpose(-1, -2)))
            flops += 2 * batch * width * n[-1]
            if rule.error == "auxiliary":
                calls.append(mm(mat(batch, width), mat(width, n[-1])))
                flops += 2 * batch * width * n[-1]
        for term in rule.layers[i]:
            if term.source != "direct":
                j = i + 1 if term.source == "above" else i - 1
                n_j = n[-1] if j == rule.n_hidden else n[j + 1]
                M = mat(n_j, width) if term.via == "weights" else mat(width, n_j).transpose(-1, -2)
                calls.append(mm(mat(batch, n_j), M))
                flops += 2 * batch * width * n_j
    for i in range(len(n) - 1):  # weight updates
        W, d, h = mat(n[i + 1], n[i], scale=0.01), mat(batch, n[i + 1], scale=1e-6), mat(batch, n[i])
        calls.append((lambda W=W, d=d, h=h: W.baddbmm_(d.transpose(1, 2), h, alpha=-1e-3)) if K
                     else (lambda W=W, d=d, h=h: W.addmm_(d.T, h, alpha=-1e-3)))
        flops += 2 * batch * n[i] * n[i + 1]
    assert flops == batch * flops_per_example(rule, sizes), "step_gemms and the FLOP model disagree"
    return calls, models * flops


def gemm_ceiling(rule, sizes, device, batch, repeats=7, inner=20, models=1):
    """GFLOP/s of the GEMMs alone of one step of ``rule`` (:func:`step_gemms`): no element-wise
    work, no Python beyond the calls. Its ratio to :func:`matmul_peak` is the ceiling for the
    fraction of peak a training step of that rule can reach at this (small) batch size with torch's
    GEMMs. ``models`` > 1: the lockstep ceiling of K stacked models."""
    calls, flops = step_gemms(rule, sizes, device, batch, models)

    def step():
        for c in calls:
            c()

    step()
    best = float("inf")
    for _ in range(repeats):
        sync(device)
        t0 = clock()
        for _ in range(inner):
            step()
        sync(device)
        best = min(best, (clock() - t0) / inner)
    return flops / best / 1e9


def copy_bandwidth(device, mib=256, repeats=5):
    """GB/s of a large tensor copy (read + write counted): the memory bound that stacks of weights too
    big for the caches meet. Timed with the wall clock (memory traffic, one thread)."""
    n = mib * 2**20 // 4
    a = torch.ones(n, device=device)
    out = torch.empty_like(a)
    best = float("inf")
    for _ in range(repeats):
        sync(device)
        t0 = time.perf_counter()
        out.copy_(a)
        sync(device)
        best = min(best, time.perf_counter() - t0)
    return 2 * n * 4 / best / 1e9


# ------------------------------------------------------------------------------------------ fa_lab rows
def fa_lab_row(models, data):
    """Seconds for one ``fa_lab.fit`` epoch of ``models`` over ``data`` (a token test set, no final evaluation)."""
    t0 = clock()
    fa_lab.fit(models, data, epochs=1, batch_size=ARGS.batch_size, lr=LR, seed=0, progress=False,
               final_train_error=False)
    return clock() - t0


# ------------------------------------------------------------------------------------------ the autograd peer
class FALinearFn(torch.autograd.Function):
    """y = x Wᵀ + b whose backward sends the error down through a fixed B̃ instead of W (FA)."""

    @staticmethod
    def forward(ctx, x, W, b, B_tilde):
        ctx.save_for_backward(x, B_tilde)
        return torch.addmm(b, x, W.t())

    @staticmethod
    def backward(ctx, g):
        x, B_tilde = ctx.saved_tensors
        return g @ B_tilde.t(), g.t() @ x, g.sum(0), None


class Inject(torch.autograd.Function):
    """Identity on hⁱ whose backward replaces the incoming gradient by the rule's combination of
    terms: the gradient from above (BP/FA), Bⁱe (DFA), or neighbours' DFA-only deltas (s2/s3);
    the autograd tanh node below it then multiplies by f′(aⁱ)."""

    @staticmethod
    def forward(ctx, h, peer, i):
        ctx.peer, ctx.i = peer, i
        return h.view_as(h)

    @staticmethod
    def backward(ctx, g):
        return ctx.peer.combine(ctx.i, g), None, None


class Peer(nn.Module):
    """fa_lab's six presets written as a common library would: nn.Linear + custom autograd Functions.

    Per hidden layer, ``terms`` lists what its backward averages (F = mean): 'grad' (whatever
    autograd brings from above: Wᵀδ for nn.Linear, B̃ᵀδ for the FA Function), 'direct' (Bⁱe; e
    is captured by a hook on the logits), 'tilde_above'/'tilde_below' (the neighbour's DFA-only
    delta Bʲe ⊙ f′(aʲ), recomputed from the saved hʲ, the way s2's δa¹ and s3's δã are formed).
    """

    SPECS = {  # (layer-2 input Linear kind, [terms of hidden layer 1, terms of hidden layer 2])
        "bp": ("W", [["grad"], ["grad"]]),
        "fa": ("B", [["grad"], ["grad"]]),
        "dfa": ("W", [["direct"], ["direct"]]),
        "s1": ("B", [["direct", "grad"], ["direct"]]),
        "s2": ("W", [["direct"], ["direct", "tilde_below"]]),
        "s3": ("W", [["direct", "tilde_above"], ["direct", "tilde_below"]]),
    }

    def __init__(self, model):
        super().__init__()
        kind, self.terms = self.SPECS[model.rule.name]
        W, b = model.net.W, model.net.b
        self.lin = nn.ModuleList()
        for Wi, bi in zip(W, b):
            lin = nn.Linear(Wi.shape[1], Wi.shape[0], device=Wi.device)
            with torch.no_grad():
                lin.weight.copy_(Wi)
                lin.bias.copy_(bi)
            self.lin.append(lin)
        fb = model.feedback
        dev = W[0].device
        n = model.sizes
        self.B = [fb.get(("B", i), torch.rand(n[i], n[-1], device=dev) - 0.5) for i in (1, 2)]
        self.B_tilde = [fb.get(("B_tilde", i), torch.rand(n[i], n[i + 1], device=dev) - 0.5) for i in (1, 2)]
        self.B_bar = fb.get(("B_bar", 2), torch.rand(n[2], n[1], device=dev) - 0.5)
        self.fa = kind == "B"  # the FA Function replaces nn.Linear's backward above each hidden layer
        self.e = None
        self.h = [None, None]

    def _store_e(self, g):
        self.e = g

    def combine(self, i, g):
        e = self.e
        out = []
        for term in self.terms[i]:
            if term == "grad":
                out.append(g)
            elif term == "direct":
                out.append(e @ self.B[i].t())
            else:  # a neighbour's DFA-only delta δãʲ = Bʲe ⊙ f′(aʲ), through B̃ (above) or B̄ (below)
                j = i + 1 if term == "tilde_above" else i - 1
                h = self.h[j]
                tilde = (e @ self.B[j].t()) * (1 - h * h)
                out.append(tilde @ (self.B_tilde[i] if term == "tilde_above" else self.B_bar).t())
        return out[0] if len(out) == 1 else sum(out) / len(out)

    def forward(self, x):
        h = x
        for i, lin in enumerate(self.lin):
            if i == 0 or not self.fa:
                a = lin(h)
            else:
                a = FALinearFn.apply(h, lin.weight, lin.bias, self.B_tilde[i - 1])  # B̃ⁱ sits above hidden layer i
            if i < len(self.lin) - 1:
                h = torch.tanh(a)
                self.h[i] = h.detach()
                h = Inject.apply(h, self, i)
        if a.requires_grad:
            a.register_hook(self._store_e)
        return a


def peer_row(model, x, y, n_batches):
    """Seconds for ``n_batches`` SGD steps of the autograd peer of ``model`` (summed CE, lr on the sum)."""
    peer = Peer(model)
    opt = torch.optim.SGD(peer.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    B = ARGS.batch_size
    perm = torch.randperm(x.shape[0], device=x.device)
    sync(x.device)
    t0 = clock()
    for s in range(n_batches):
        idx = perm[s * B:(s + 1) * B]
        opt.zero_grad()
        loss = loss_fn(peer(x[idx]), y[idx])
        loss.backward()
        opt.step()
    sync(x.device)
    return clock() - t0


# ------------------------------------------------------------------------------------------ the student loop
def student_row(sizes, n_batches, device):
    """Seconds for ``n_batches`` steps of a textbook PyTorch MNIST loop (autograd BP)."""
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    ds = datasets.MNIST(str(data_root()), train=True, download=False, transform=transforms.ToTensor())
    loader = DataLoader(ds, batch_size=ARGS.batch_size, shuffle=True)
    layers = [nn.Flatten()]
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.Tanh())
    net = nn.Sequential(*layers).to(device)
    opt = torch.optim.SGD(net.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    sync(device)
    t0 = clock()
    for s, (xb, yb) in enumerate(loader):
        if s == n_batches:
            break
        xb, yb = xb.to(device), yb.to(device)
        opt.zero_grad()
        loss = loss_fn(net(xb), yb)
        loss.backward()
        opt.step()
    sync(device)
    return clock() - t0


# ------------------------------------------------------------------------------------------ main
def main(argv=None):
    global ARGS
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="784,800,800,10")
    p.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="default: fa_lab.core.train.BATCH_SIZE")
    p.add_argument("--batches", type=int, default=50, help="batches timed per row (extrapolated to an epoch)")
    p.add_argument("--repeats", type=int, default=5, help="interleaved repeats; the best is kept")
    p.add_argument("--threads", type=int, default=1,
                   help="torch.set_num_threads; 0 keeps torch's default (all cores). Default 1: on a machine shared "
                        "with other jobs, multi-threaded GEMMs stall on descheduled threads (docs/benchmarks.md); "
                        "peak and rows use the same count, so fractions and ratios stay comparable")
    p.add_argument("--device", default="cpu")
    p.add_argument("--peak-n", type=int, default=2048, help="side of the square matmul that measures the peak")
    ARGS = p.parse_args(argv)
    global CLOCK
    if ARGS.threads:
        torch.set_num_threads(ARGS.threads)
    device = torch.device(ARGS.device)
    if device.type == "cpu" and torch.get_num_threads() == 1:
        CLOCK = time.process_time
    sizes = [int(s) for s in ARGS.sizes.split(",")]
    B, nb = ARGS.batch_size, ARGS.batches
    scale = EPOCH / (nb * B)  # extrapolation factor to one epoch
    ensure_mnist(download=False)
    data = fa_lab.load_mnist(download=False, device=device)
    part = data.subset(nb * B, B)  # the timed part of an epoch; a token test set (eval is timed apart)
    print(f"fa_lab bench: sizes {sizes} tanh, batch {B} (fa_lab.core.train.BATCH_SIZE={BATCH_SIZE}), {nb} batches/row "
          f"x {ARGS.repeats} repeats, device {device}, threads {torch.get_num_threads()}, torch {torch.__version__}, "
          f"load average {os.getloadavg()[0]:.2f}, clock {CLOCK.__name__}", flush=True)

    models = {r: fa_lab.build(sizes, "tanh", r, seed=0, device=device) for r in RULES}
    row_models = [fa_lab.build(sizes, "tanh", r, seed=0, device=device) for r in RULES]
    flops = {r: flops_per_epoch(models[r].rule, sizes) for r in RULES}
    flops["lockstep"] = sum(flops[r] for r in RULES)

    rows = {}  # name -> list of epoch seconds (extrapolated)
    tasks = [("peak", None)]
    tasks += [(f"fa_lab {r}", lambda r=r: fa_lab_row([models[r]], part) * scale) for r in RULES]
    tasks += [("fa_lab lockstep", lambda: fa_lab_row(row_models, part) * scale)]
    tasks += [(f"peer {r}", lambda r=r: peer_row(models[r], data.x_train, data.y_train, nb) * scale) for r in RULES]
    tasks += [("student bp", lambda: student_row(sizes, nb, device) * scale)]
    eval_stack = Lockstep([models["dfa"]])
    tasks += [("eval (10k test)", lambda: _timed(lambda: eval_stack.evaluate(data.x_test, data.y_test), device))]
    for name, fn in tasks[1:]:  # warm-up
        fn()
    peaks, ceilings, lock_ceilings, bandwidths = [], {r: [] for r in RULES}, [], []
    for rep in range(ARGS.repeats):
        peaks.append(matmul_peak(device, ARGS.peak_n))
        for r in RULES:
            ceilings[r].append(gemm_ceiling(models[r].rule, sizes, device, B))
        lock_ceilings.append(gemm_ceiling(models["dfa"].rule, sizes, device, B, inner=5, models=len(RULES)))
        bandwidths.append(copy_bandwidth(device))
        for name, fn in tasks[1:]:
            rows.setdefault(name, []).append(fn())
        print(f"  repeat {rep + 1}/{ARGS.repeats} done (load {os.getloadavg()[0]:.2f})", flush=True)
    peak = max(peaks)
    best = {k: min(v) for k, v in rows.items()}
    spread = {k: max(v) / min(v) for k, v in rows.items()}
    best["fa_lab one-by-one"] = sum(best[f"fa_lab {r}"] for r in RULES)
    best["peer one-by-one"] = sum(best[f"peer {r}"] for r in RULES)

    print(f"\nmatmul peak (torch.mm {ARGS.peak_n}², best of {len(peaks)}x7): {peak:.1f} GFLOP/s "
          f"(worst repeat {min(peaks):.1f})")
    ceiling = {r: max(v) / peak for r, v in ceilings.items()}
    print(f"GEMMs alone of one step at batch {B} (the shape ceiling, of peak): "
          + ", ".join(f"{r} {c:.2f}" for r, c in ceiling.items()))
    lock_ceiling, bw = max(lock_ceilings), max(bandwidths)
    weights = sum(i * o for i, o in zip(sizes[:-1], sizes[1:]))
    print(f"the GEMMs of a DFA step for {len(RULES)} stacked models (lockstep ceiling; weights "
          f"{len(RULES) * weights * 4 / 2**20:.0f} MiB): {lock_ceiling:.1f} GFLOP/s = {lock_ceiling / peak:.2f} of peak")
    # per step each weight is read by the forward GEMM and read + written by the update: 12 bytes
    # for 4·batch FLOPs; once the weights no longer fit in the caches this bounds the GEMMs
    intensity = 4 * B / 12
    print(f"copy bandwidth {bw:.1f} GB/s; weights streamed from memory at batch {B} ({intensity:.1f} FLOP/byte) "
          f"allow at most {min(1.0, intensity * bw / peak):.2f} of peak")
    print(f"\n{'row':22s} {'s/epoch':>9s} {'spread':>7s} {'GFLOP/ep':>9s} {'GFLOP/s':>8s} {'of peak':>8s} "
          f"{'ceiling':>8s} {'of ceil.':>8s}")
    for name in list(rows) + ["fa_lab one-by-one", "peer one-by-one"]:
        key = name.split()[-1]
        fl = flops.get(key) if name.startswith(("fa_lab", "peer")) else None
        if name.endswith("one-by-one"):
            fl = flops["lockstep"]
        if name == "student bp":
            fl = flops["bp"]
        sp = f"{spread[name]:.2f}" if name in spread else ""
        if fl:
            rate = fl / best[name] / 1e9
            ceil = lock_ceiling / peak if name == "fa_lab lockstep" else ceiling.get(key) if name.startswith("fa_lab") else None
            extra = f" {ceil:8.2f} {rate / peak / ceil:8.2f}" if ceil else ""
            print(f"{name:22s} {best[name]:9.2f} {sp:>7s} {fl / 1e9:9.1f} {rate:8.1f} {rate / peak:8.2f}{extra}")
        else:
            print(f"{name:22s} {best[name]:9.2f} {sp:>7s}")

    frac = {k: flops[k.split()[-1]] / best[k] / 1e9 / peak for k in [f"fa_lab {r}" for r in RULES] + ["fa_lab lockstep"]}
    ratios = {
        "gemm_fraction": frac["fa_lab dfa"],
        "lockstep_gemm_fraction": frac["fa_lab lockstep"],
        "autograd_speedup": best["peer dfa"] / best["fa_lab dfa"],
        "lockstep_autograd_speedup": best["peer one-by-one"] / best["fa_lab lockstep"],
        "naive_speedup": best["student bp"] / best["fa_lab bp"],
    }
    print("\nspeed-ups (epoch-time ratios, same run):")
    for r in RULES:
        print(f"  {r:4s} peer/fa_lab {best[f'peer {r}'] / best[f'fa_lab {r}']:5.2f}")
    print(f"  lockstep vs fa_lab one-by-one: {best['fa_lab one-by-one'] / best['fa_lab lockstep']:.2f}x")
    print(f"  lockstep vs peer one-by-one:   {ratios['lockstep_autograd_speedup']:.2f}x")
    print(f"  student loop vs fa_lab bp:     {ratios['naive_speedup']:.2f}x "
          f"(vs fa_lab dfa {best['student bp'] / best['fa_lab dfa']:.2f}x)")
    print("RESULT " + " ".join(f"{k}={v:.3f}" for k, v in ratios.items()))
    return ratios


def _timed(fn, device):
    sync(device)
    t0 = clock()
    with torch.no_grad():
        fn()
    sync(device)
    return clock() - t0


ARGS = None

if __name__ == "__main__":
    main()
