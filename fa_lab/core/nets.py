"""Multi-layer perceptrons in the paper's notation (eq. 1).

h⁰ = x;  aⁱ = Wⁱ hⁱ⁻¹ + bⁱ;  hⁱ = f(aⁱ) for i < ℓ;  ŷ = hˡ = head(aˡ).

Wⁱ has shape (nᵢ, nᵢ₋₁) and bⁱ shape (nᵢ,), as in the paper. Tensors carry rows of
examples, so in code aⁱ = hⁱ⁻¹ (Wⁱ)ᵀ + bⁱ. Every tensor may also carry a leading
*model* dimension K: that is how several models train in lockstep (``train.py``);
a single model is the case K = 1.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import torch

from .errors import FaLabError, choose


# ---------------------------------------------------------------- activations f and f′
@dataclass(frozen=True)
class Activation:
    """A hidden activation f with its derivative f′ written in terms of aⁱ and hⁱ = f(aⁱ)."""

    name: str
    f: callable
    df: callable  # df(a, h) = f′(a), using h where that is cheaper


def tanh(a):
    """tanh(a), computed on CPU as the identity 2σ(2a) − 1: torch's CPU sigmoid is vectorised and
    ~5× faster than its tanh (benchmarks/bench.py); the two agree to rounding (~1e-7 float32,
    ~1e-16 float64). On GPU, and where autograd records the graph, torch.tanh itself."""
    if a.device.type != "cpu" or a.requires_grad:
        return torch.tanh(a)
    return (a * 2).sigmoid_().mul_(2).sub_(1)


ACTIVATIONS = {
    "tanh": Activation("tanh", tanh, lambda a, h: 1 - h * h),
    "sigmoid": Activation("sigmoid", torch.sigmoid, lambda a, h: h * (1 - h)),
    "relu": Activation("relu", torch.relu, lambda a, h: (a > 0).to(h.dtype)),
}


def activation(name) -> Activation:
    return ACTIVATIONS[choose("activation", name, list(ACTIVATIONS))]


# ---------------------------------------------------------------- output heads
@dataclass(frozen=True)
class Head:
    """The task of the output layer: non-linearity, target, loss, its error e = ∂L/∂aˡ and the score.

    softmax (classifier):    ŷ = softmax(a), t = one-hot(y), L = −t·log ŷ, e = ŷ − t        (paper §2.1)
    sigmoid (auto-encoder):  x̂ = σ(a),       t = x,          L = ½‖x − x̂‖², e = (x̂ − x) ⊙ (1 − x̂) ⊙ x̂  (§3)

    The paper writes L = ‖x − x̂‖² beside that e; e is the gradient of ½‖x − x̂‖², so the factor 2 is
    read as absorbed into the learning rate. Every function takes logits ``a`` and target rows ``t``
    that may carry a leading model dimension K. ``score`` sums a batch's errors per model (misclassified
    examples, or ‖x − x̂‖²); ``scale`` turns a sum over n examples into the reported error (% or per image).
    """

    name: str
    output: callable      # ŷ = head(a)
    target: callable      # target(y, x, n_out, dtype) -> t: one-hot labels, or the input itself
    error: callable       # e = ∂L/∂a (the output and the auxiliary heads)
    loss: callable        # summed over the rows (one value per model)
    score: callable       # summed error count / ‖x − x̂‖² over the rows (one value per model)
    scale: float          # reported error = scale × score / n
    unit: str             # what the reported error is
    needs_labels: bool    # a classifier trains on labels y; an auto-encoder on x alone
    chance: callable = lambda n_out: None  # the reported error of guessing, for n_out outputs (None: no such level)


def _one_hot(y, x, n_out, dtype):
    return torch.nn.functional.one_hot(y, n_out).to(dtype)


def _softmax_error(a, t):
    return torch.softmax(a, -1) - t


def _sigmoid_error(a, t):
    out = torch.sigmoid(a)
    return (out - t) * (1 - out) * out


HEADS = {
    "softmax": Head("softmax", lambda a: torch.softmax(a, -1), _one_hot, _softmax_error,
                    loss=lambda a, t: -(t * torch.log_softmax(a, -1)).sum((-1, -2)),
                    score=lambda a, t: (a.argmax(-1) != t.argmax(-1)).sum(-1).double(),
                    scale=100.0, unit="test error %", needs_labels=True, chance=lambda n_out: 100.0 * (1 - 1 / n_out)),
    "sigmoid": Head("sigmoid", torch.sigmoid, lambda y, x, n_out, dtype: x, _sigmoid_error,
                    loss=lambda a, t: 0.5 * ((torch.sigmoid(a) - t) ** 2).sum((-1, -2)),
                    score=lambda a, t: ((torch.sigmoid(a) - t) ** 2).sum((-1, -2)).double(),
                    scale=1.0, unit="mean ‖x − x̂‖² per image", needs_labels=False),
}


def head(name) -> Head:
    return HEADS[choose("head", name, list(HEADS))]


# ---------------------------------------------------------------- seeding
MAX_SEED = (2**63 - 1 - 2**32) // 1_000_003  # the largest seed whose streams fit torch's 64-bit seeds


def generator(seed: int, stream: str) -> torch.Generator:
    """An independent CPU generator for (seed, stream): init, feedback and data order never share draws."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise FaLabError(f"seed must be a non-negative integer, got {seed!r}")
    if seed > MAX_SEED:
        raise FaLabError(f"seed must be an integer in 0..{MAX_SEED}, got {seed}")
    return torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(stream.encode()))


# ---------------------------------------------------------------- the network
def check_sizes(sizes) -> list[int]:
    """``sizes`` as a list of at least two positive ints, or a FaLabError."""
    sizes = list(sizes) if isinstance(sizes, (list, tuple, range)) else sizes
    if (not isinstance(sizes, list) or len(sizes) < 2
            or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in sizes)):
        raise FaLabError(f"sizes must be a list of at least two positive integers [n0, n1, ..., n_out], got {sizes!r}")
    return sizes


def _check_memory(sizes, dtype):
    """Refuse nets whose weights alone (with the float64 draws) would not fit in this machine's memory."""
    import os

    n = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    need = n * (torch.finfo(dtype).bits // 8 + 8)
    try:
        have = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return
    if need > have:
        raise FaLabError(f"sizes {sizes} need {need / 2**30:.1f} GiB for the weights alone; this machine has "
                         f"{have / 2**30:.1f} GiB: choose smaller layers")


class Net:
    """An MLP: weights ``W[i-1]`` = Wⁱ (nᵢ, nᵢ₋₁), biases ``b[i-1]`` = bⁱ (nᵢ,), 1 ≤ i ≤ ℓ.

    Default initialisation (paper §4): Xavier/Glorot uniform weights
    U(±√(6/(nᵢ₋₁+nᵢ))), biases N(0, 1).
    """

    def __init__(self, sizes, activation_name="tanh", head_name="softmax", W=None, b=None):
        self.sizes = check_sizes(sizes)
        self.act = activation(activation_name)
        self.head = head(head_name)
        self.W = list(W)
        self.b = list(b)

    @classmethod
    def build(cls, sizes, activation="tanh", head="softmax", seed=0, dtype=torch.float32, device="cpu"):
        sizes = check_sizes(sizes)
        _check_memory(sizes, dtype)
        g = generator(seed, "init")
        W, b = [], []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            bound = math.sqrt(6.0 / (n_in + n_out))
            W.append(((torch.rand(n_out, n_in, generator=g, dtype=torch.float64) * 2 - 1) * bound).to(device, dtype))
            b.append(torch.randn(n_out, generator=g, dtype=torch.float64).to(device, dtype))
        return cls(sizes, activation, head, W, b)

    @property
    def depth(self) -> int:
        """ℓ, the number of weight layers."""
        return len(self.sizes) - 1

    @property
    def n_hidden(self) -> int:
        return self.depth - 1

    def forward(self, x):
        """Run eq. 1 and keep every hⁱ (i < ℓ) and aⁱ; returns a :class:`Forward`."""
        return forward(self.W, self.b, self.act, x)

    def predict(self, x):
        return self.head.output(self.forward(x).a[-1])


@dataclass
class Forward:
    """Everything the backward rules need: ``h[i]`` = hⁱ for 0 ≤ i < ℓ, ``a[i-1]`` = aⁱ for 1 ≤ i ≤ ℓ."""

    h: list
    a: list


def linear(h, W, b):
    """aⁱ = hⁱ⁻¹ (Wⁱ)ᵀ + bⁱ for rows of examples; W may carry a leading model dimension K."""
    if W.dim() == 2:
        return torch.addmm(b, h, W.T)
    if h.dim() == 2:  # input rows shared by the K models: a stride-0 batch, never copied
        h = h.expand(W.shape[0], *h.shape)
    return torch.baddbmm(b[:, None, :], h, W.transpose(1, 2))


def forward(W, b, act, x):
    h, a = [x], []
    for i, (Wi, bi) in enumerate(zip(W, b)):
        a.append(linear(h[-1], Wi, bi))
        if i < len(W) - 1:
            h.append(act.f(a[-1]))
    return Forward(h, a)
