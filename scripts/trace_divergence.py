"""Trace the first SGD steps of full-protocol runs: training loss, weight norms and activation sizes every
``--every`` steps, to see how and where a run diverges (REPLICATION.md, "relu with auxiliary errors").

    python scripts/trace_divergence.py RUN_ID_PREFIX [--steps N] [--lr LR] [--every K] [--seed S]
                                      [--bias-scale X] [--feedback-scale X]

Each RUN_ID_PREFIX names one full-protocol config (e.g. exp2-784-800-800-10-relu-s3-aux); the batches are
the runner's (seed 0's order), lr the protocol's unless given.
"""

import argparse
from dataclasses import replace

import torch

from fa_lab.core.data import load_mnist
from fa_lab.core.lockstep import Lockstep
from fa_lab.core.nets import forward, generator
from fa_lab.replication import grid


def trace(cfg, data, steps, lr, every, bias_scale=1.0):
    model = cfg.build()
    with torch.no_grad():  # the protocol draws biases N(0, 1); bias_scale shrinks them (0: zero biases)
        for b in model.net.b:
            b.mul_(bias_scale)
    stack = Lockstep([model])
    net = model.net
    head = net.head
    x_all = data.x_train
    t_all = head.target(data.y_train, x_all, net.sizes[-1], x_all.dtype)
    perm = torch.randperm(x_all.shape[0], generator=generator(cfg.seed, "data-order"))
    B = cfg.batch_size
    rows = []
    with torch.no_grad():
        for k in range(steps):
            idx = perm[(k * B) % len(perm):][:B]
            stack.step(x_all[idx], t_all[idx], lr)
            if k % every == 0 or k == steps - 1:
                fw = forward(net.W, net.b, net.act, x_all[perm[:1000]])
                loss = float(head.loss(fw.a[-1].unsqueeze(0), t_all[perm[:1000]])[0]) / 1000
                aux = [float((fw.h[i + 1] @ model.feedback["B", i + 1]).abs().max())
                       for i in range(net.depth - 1)] if cfg.aux else []
                rows.append((k, loss, [float(w.norm()) for w in net.W], [float(h.abs().max()) for h in fw.h[1:]], aux))
                if not torch.isfinite(torch.tensor(loss)) or loss > 1e6:
                    break
    return rows


def term_sizes(cfg, data, rows=256):
    """Mean row norm at initialisation of each error term every hidden layer of ``cfg``'s rule averages (eq. 4),
    beside BP's transport (Wⁱ⁺¹)ᵀ δaⁱ⁺¹ of the same delta: how much each term weighs in the mean F."""
    from fa_lab.core.engine import hidden_deltas

    model = cfg.build()
    x = data.x_train[:rows]
    t = model.net.head.target(data.y_train[:rows], x, model.net.sizes[-1], x.dtype)
    fw = model.net.forward(x)
    e = model.net.head.error(fw.a[-1], t)
    seen = []

    def spy(terms):  # F, recording each term's size
        seen.append([float(u.norm(dim=-1).mean()) for u in terms])
        return sum(terms) / len(terms)

    rule = type(model.rule)(model.rule.name, model.rule.layers, model.rule.error, spy)
    seen.clear()  # the Rule checked its F on two test terms
    with torch.no_grad():
        hidden_deltas(rule, model.net.act, model.net.head, fw, model.net.W, model.feedback, e, t)
    names = [[str(term) for term in model.rule.layers[i]] for i in rule.order]
    bp_like = [float((d @ W).norm(dim=-1).mean()) for d, W in zip(
        hidden_deltas(type(model.rule)("bp", (("above:W",),) * len(model.rule.layers)), model.net.act, model.net.head,
                      fw, model.net.W, model.feedback, e, t)[1:] + [e], model.net.W[1:])]
    return [(i + 1, list(zip(n, sizes)) + [("BP's own term", bp_like[i])]) for i, n, sizes in zip(rule.order, names, seen)]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+")
    p.add_argument("--steps", type=int, default=3750)
    p.add_argument("--every", type=int, default=250)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--bias-scale", type=float, default=1.0, help="multiply the initial N(0, 1) biases (0: zero biases)")
    p.add_argument("--feedback-scale", type=float, default=1.0, help="multiply the feedback matrices between two hidden layers (B̃, B̄)")
    a = p.parse_args()
    data = load_mnist()
    for prefix in a.runs:
        cfg = next(c for c in grid.configs("all", "full", (a.seed,)) if c.run_id.startswith(prefix + "-s"))
        if a.feedback_scale != 1:  # the feedback parameter hidden_scale (fa_lab.core.feedback.between_hidden)
            params = {**dict(cfg.feedback_params), "hidden_scale": a.feedback_scale}
            cfg = replace(cfg, feedback_params=tuple(sorted(params.items())))
        lr = a.lr or cfg.lr
        print(f"{cfg.run_id}  lr {lr:g}  batch {cfg.batch_size}  initial biases x{a.bias_scale:g}  "
              f"feedback x{a.feedback_scale:g}")
        for layer, terms in term_sizes(cfg, data):
            print(f"  at initialisation, layer {layer}: mean |term| " + ", ".join(f"{n} {v:.1f}" for n, v in terms))
        print("  step   loss/example   |W1| |W2| |W3|          max|h1| max|h2|      max|aux logit| per layer")
        for k, loss, wn, hm, aux in trace(cfg, data, a.steps, lr, a.every, a.bias_scale):
            print(f"  {k:5d}  {loss:12.4g}   {' '.join(f'{w:8.3g}' for w in wn)}   "
                  f"{' '.join(f'{h:8.3g}' for h in hm)}   {' '.join(f'{x:8.3g}' for x in aux)}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
