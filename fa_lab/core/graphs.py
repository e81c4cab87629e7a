"""CUDA graphs: on a GPU, a chunk of SGD steps is recorded once and replayed, the same kernels without Python.

The nets of the paper are small: on a GPU one SGD step (eq. 1 forward, eq. 4 transport, eq. 2 update) is a few
dozen tiny kernels, and launching them one by one from Python costs more than running them. :class:`Replay`
records ``CHUNK`` consecutive steps of a :class:`~fa_lab.core.lockstep.Lockstep` as one CUDA graph whose inputs
are fixed buffers; each later chunk copies its batches into the buffers (one gather) and replays the graph. The
arithmetic is the eager step's, kernel for kernel (every update is in place, so a replay trains the real
weights). The first chunk of a run trains eagerly (the warm-up a capture needs) and is then recorded; a chunk
that does not fill the buffers (the end of an epoch) trains eagerly. Used by :func:`~fa_lab.core.train.fit` on
CUDA devices; ``FA_LAB_CUDA_GRAPHS=0`` turns it off. If recording fails, training goes on eagerly, with one line
saying so.
"""

from __future__ import annotations

import os
import sys

import torch

CHUNK = 50  # steps per recorded graph (3 750 steps of an MNIST epoch at batch 16 = 75 replays)
ENV_VAR = "FA_LAB_CUDA_GRAPHS"


def wanted(x) -> bool:
    """Whether training on the device of tensor ``x`` should replay CUDA graphs (CUDA, not switched off)."""
    return x.device.type == "cuda" and os.environ.get(ENV_VAR, "1") != "0"


class Replay:
    """Trains ``stack`` chunk by chunk: ``steps(x, t, perm, start)`` runs the ``CHUNK`` steps whose rows are
    ``perm[start : start + CHUNK·batch]`` and returns their outputs (one (K, batch, n_out) tensor per step)."""

    RECORD = True  # tests set False to check the chunking on a CPU (buffers and all, nothing recorded)

    def __init__(self, stack, x_train, t_train, batch_size, step_lr, chunk=CHUNK):
        self.stack, self.batch, self.lr, self.chunk = stack, batch_size, step_lr, chunk
        self.rows = batch_size * chunk
        self.x = torch.empty(self.rows, x_train.shape[1], dtype=x_train.dtype, device=x_train.device)
        self.t = torch.empty(self.rows, t_train.shape[1], dtype=t_train.dtype, device=t_train.device)
        self.out = None
        self.graph = None if self.RECORD else False  # None: not recorded yet; False: train eagerly

    def _eager(self):
        """The chunk's steps on the buffers, op by op; fills ``self.out``."""
        B = self.batch
        for j in range(self.chunk):
            o = self.stack.step(self.x[j * B:(j + 1) * B], self.t[j * B:(j + 1) * B], self.lr)
            if self.out is None:
                self.out = torch.empty((self.chunk, *o.shape), dtype=o.dtype, device=o.device)
            self.out[j].copy_(o)

    def _record(self):
        """Record the chunk's steps as a graph (recording runs nothing: the weights do not move)."""
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph):
                self._eager()
            self.graph = graph
        except RuntimeError as exc:
            self.graph = False
            print(f"fa_lab: note: CUDA graph recording failed ({str(exc).splitlines()[0]}); training eagerly",
                  file=sys.stderr)

    def steps(self, x_train, t_train, perm, start):
        idx = perm[start:start + self.rows]
        torch.index_select(x_train, 0, idx, out=self.x)
        torch.index_select(t_train, 0, idx, out=self.t)
        if self.graph:
            self.graph.replay()
        else:
            if self.graph is None:  # warm-up on a side stream, as a capture requires
                side = torch.cuda.Stream()
                side.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(side):
                    self._eager()
                torch.cuda.current_stream().wait_stream(side)
                self._record()
            else:
                self._eager()
        return list(self.out.clone().unbind(0))
