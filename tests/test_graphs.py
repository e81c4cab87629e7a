"""CUDA graphs (fa_lab.core.graphs): chunked training through the fixed buffers trains exactly what the plain
loop trains. On a CPU the chunking is checked with nothing recorded; on a GPU the recorded graph is checked
against eager CUDA training."""

import pytest
import torch

import fa_lab
from fa_lab.core import graphs


def _train(monkeypatch, device, replay, record=True, n=1000, seed=3):
    monkeypatch.setattr(graphs, "wanted", lambda x: replay)
    monkeypatch.setattr(graphs.Replay, "RECORD", record)
    g = torch.Generator().manual_seed(0)
    data = fa_lab.MNIST(torch.rand(n, 20, generator=g), torch.randint(0, 4, (n,), generator=g),
                        torch.rand(200, 20, generator=g), torch.randint(0, 4, (200,), generator=g))
    models = [fa_lab.build([20, 16, 12, 4], "tanh", "s1", seed=seed, aux=True, device=device),
              fa_lab.build([20, 16, 12, 4], "tanh", "fa", seed=seed, device=device)]
    hist = fa_lab.fit(models, data, epochs=3, batch_size=7, lr=0.01, seed=1, progress=False)
    return models, hist


def test_chunked_training_through_the_buffers_equals_the_plain_loop(monkeypatch):
    # 1000 rows at batch 7: 2 chunks of 50 steps (700 rows), then 43 steps eagerly, the last of 6 rows
    plain, h0 = _train(monkeypatch, "cpu", replay=False)
    chunked, h1 = _train(monkeypatch, "cpu", replay=True, record=False)
    for a, b in zip(plain, chunked):
        for wa, wb in zip(a.net.W, b.net.W):
            assert torch.equal(wa, wb)
    assert [h.train_error for h in h0] == [h.train_error for h in h1]
    assert [h.train_loss for h in h0] == [h.train_loss for h in h1]


def test_wanted_only_on_cuda():
    assert not graphs.wanted(torch.zeros(1))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_recorded_graph_trains_what_eager_cuda_trains(monkeypatch):
    eager, h0 = _train(monkeypatch, "cuda", replay=False)
    replayed, h1 = _train(monkeypatch, "cuda", replay=True)
    for a, b in zip(eager, replayed):
        for wa, wb in zip(a.net.W, b.net.W):
            torch.testing.assert_close(wa, wb, rtol=1e-4, atol=1e-5)
    for a, b in zip(h0, h1):
        assert a.train_error == pytest.approx(b.train_error, abs=0.5)
