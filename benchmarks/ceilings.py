"""What the machine allows, measured in the same run as the rows: the fp32 matmul peak, the GEMMs
alone of one step of a rule (the ceiling a training step can reach at the bench's batch size; for
stacked models, the lockstep ceiling) and the copy bandwidth."""

from __future__ import annotations

import time

import torch

from .flops import step_gemms
from .timing import best_seconds


def matmul_peak(device, clock, n=2048, repeats=7):
    """Best-of-``repeats`` GFLOP/s of an n×n by n×n fp32 ``torch.mm`` (2·n³ FLOPs)."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    out = torch.empty(n, n, device=device)
    inner = 3 if device.type == "cpu" else 50
    torch.mm(a, b, out=out)
    return 2 * n**3 / best_seconds(lambda: torch.mm(a, b, out=out), device, clock, repeats, inner) / 1e9


def gemm_ceiling(rule, sizes, device, batch, clock, repeats=7, inner=20, models=1):
    """GFLOP/s of the GEMMs alone of one step of ``rule`` (``flops.step_gemms``): no element-wise
    work, no Python beyond the calls. Its ratio to :func:`matmul_peak` is the ceiling for the
    fraction of peak a training step of that rule can reach at this (small) batch size with torch's
    GEMMs. ``models`` > 1: the lockstep ceiling of K stacked models."""
    calls, flops = step_gemms(rule, sizes, device, batch, models)

    def step():
        for c in calls:
            c()

    step()
    return flops / best_seconds(step, device, clock, repeats, inner) / 1e9


def copy_bandwidth(device, mib=256, repeats=5):
    """GB/s of a large tensor copy (read + write counted): the memory bound that stacks of weights too
    big for the caches meet. Timed with the wall clock (memory traffic, one thread)."""
    n = mib * 2**20 // 4
    a = torch.ones(n, device=device)
    out = torch.empty_like(a)
    return 2 * n * 4 / best_seconds(lambda: out.copy_(a), device, time.perf_counter, repeats) / 1e9
