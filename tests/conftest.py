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


@pytest.fixture
def quick_slice(monkeypatch, tmp_path):
    """The quick protocol on a tiny slice (64 train / 32 test examples, 1 epoch, 2x200 tanh nets only), in this
    process; results rescued by the runner go under tmp_path."""
    import fa_lab.replication.experiments as ex

    monkeypatch.setattr(ex, "QUICK", {"epochs": 1, "n_train": 64, "n_test": 32})
    monkeypatch.setattr(ex, "WIDTHS", (200,))
    monkeypatch.setattr(ex, "ACTS", ("tanh",))
    monkeypatch.setenv("FA_LAB_RESCUE", str(tmp_path / "rescue"))
