"""How the bench times: its settings, its clock, device synchronisation and best-of-N repeats.

With one CPU thread the clock is process CPU time, so a job descheduled by other jobs on a shared
machine is not charged for the wait (on an idle core it equals wall time); with several threads or
on a GPU it is wall time. Every timing function takes its clock as an argument.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import torch

from .flops import EPOCH


@dataclass(frozen=True)
class Settings:
    """One bench run: the net, the batch size, batches timed per row, interleaved repeats, the device,
    the clock (:func:`pick_clock`) and the side of the square matmul that measures the peak."""

    sizes: list
    batch_size: int
    batches: int
    repeats: int
    device: torch.device
    clock: Callable[[], float]
    peak_n: int = 2048

    @property
    def per_epoch(self) -> float:
        """The factor that extrapolates a row's ``batches`` batches to a 60 000-example epoch."""
        return EPOCH / (self.batches * self.batch_size)


def pick_clock(device):
    """Process CPU time when one thread runs on CPU, else wall time (several threads, or a GPU).
    Call it after ``torch.set_num_threads``."""
    if device.type == "cpu" and torch.get_num_threads() == 1:
        return time.process_time
    return time.perf_counter


def sync(device):
    """Wait for the device's queued work (a no-op on CPU), so that a clock reading covers it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device, clock):
    """Seconds ``clock`` counts for one call of ``fn``, the device synchronised on both sides."""
    sync(device)
    t0 = clock()
    fn()
    sync(device)
    return clock() - t0


def best_seconds(fn, device, clock, repeats, inner=1):
    """Seconds per call of ``fn``: the best of ``repeats`` timings of ``inner`` calls back to back."""
    best = float("inf")
    for _ in range(repeats):
        sync(device)
        t0 = clock()
        for _ in range(inner):
            fn()
        sync(device)
        best = min(best, (clock() - t0) / inner)
    return best
