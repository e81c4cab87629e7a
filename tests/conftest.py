import pytest
import torch

import fa_lab


@pytest.fixture
def tiny():
    """A random batch for a 5-4-3-2 ... style tiny net (float64)."""

    def make(sizes, batch=7, seed=0, head="softmax"):
        g = torch.Generator().manual_seed(seed)
        x = torch.rand(batch, sizes[0], generator=g, dtype=torch.float64)
        y = torch.randint(0, sizes[-1], (batch,), generator=g)
        return x, (y if head == "softmax" else None)

    return make


@pytest.fixture(scope="session")
def mnist():
    return fa_lab.load_mnist()
