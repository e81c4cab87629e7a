"""A trainable model: a :class:`~fa_lab.nets.Net`, a :class:`~fa_lab.rules.Rule` and its feedback matrices.

This is the public face of the library::

    m = fa_lab.build([784, 800, 800, 10], activation="tanh", rule="s1", seed=0)
    m.weight(1)                      # W¹, shape (800, 784)
    m.updates(x, y)                  # [(δW¹, δb¹), ...] for one batch, not applied
    m.angles(x, y)                   # degrees between each δWⁱ and BP's gradient
    history = m.train(data, epochs=5)
"""

from __future__ import annotations


import torch

from .engine import backward, weight_updates
from .errors import FaLabError, choose
from .feedback import KINDS, Feedback, shape_of
from .nets import Net
from .rules import get_rule, label

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def resolve_device(device):
    """'cpu', 'cuda', 'cuda:N', or None / 'auto' (CUDA when present, else CPU)."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise FaLabError(f"unknown device {device!r}; valid choices: auto, cpu, cuda, cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise FaLabError("device 'cuda' was requested but no CUDA GPU is available here; use device='cpu'")
    if device.type not in ("cpu", "cuda"):
        raise FaLabError(f"unsupported device {str(device)!r}; valid choices: auto, cpu, cuda, cuda:N")
    return device


class Model:
    """Net + rule + feedback. Layers are numbered as in the paper, 1..ℓ (hidden 1..ℓ−1)."""

    def __init__(self, net: Net, rule, feedback: Feedback, family="uniform", seed=0, name=None):
        self.net, self.rule, self.feedback = net, rule, feedback
        self.family, self.seed = family, seed
        self.name = name or label(rule.name, family, rule.aux)

    # ------------------------------------------------------------ parameters, paper orientation
    @property
    def sizes(self):
        return self.net.sizes

    def _layer(self, i, hidden=False):
        top = self.net.n_hidden if hidden else self.net.depth
        if not isinstance(i, int) or not 1 <= i <= top:
            raise FaLabError(f"layer index must be an integer in 1..{top}, got {i!r}")
        return i - 1

    def weight(self, i):
        """Wⁱ, shape (nᵢ, nᵢ₋₁)."""
        return self.net.W[self._layer(i)]

    def bias(self, i):
        """bⁱ, shape (nᵢ,)."""
        return self.net.b[self._layer(i)]

    def feedback_matrix(self, kind, i):
        """Bⁱ (kind 'B'), B̃ⁱ ('B_tilde') or B̄ⁱ ('B_bar') of hidden layer i."""
        choose("feedback matrix kind", kind, KINDS)
        self._layer(i, hidden=True)
        if (kind, i) not in self.feedback:
            raise FaLabError(f"rule {self.rule.name!r} uses no {kind} at hidden layer {i}; "
                             f"it has {sorted(self.feedback)}")
        return self.feedback[kind, i]

    @staticmethod
    def _set(target, value, what):
        try:
            value = torch.as_tensor(value, dtype=target.dtype)
        except (TypeError, ValueError, RuntimeError):
            raise FaLabError(f"{what} must be a tensor or array of numbers of shape {tuple(target.shape)}, "
                             f"got {type(value).__name__}") from None
        if tuple(value.shape) != tuple(target.shape):
            raise FaLabError(f"{what} must have shape {tuple(target.shape)}, got {tuple(value.shape)}")
        if not torch.isfinite(value).all():
            raise FaLabError(f"{what} contains NaN or inf")
        with torch.no_grad():
            target.copy_(value)  # in place: views held by a lockstep stack stay valid

    def set_weight(self, i, value):
        self._set(self.weight(i), value, f"W{i}")

    def set_bias(self, i, value):
        self._set(self.bias(i), value, f"b{i}")

    def set_feedback(self, kind, i, value):
        """Set a feedback matrix; a kind the rule does not use yet is added (checked for shape)."""
        choose("feedback matrix kind", kind, KINDS)
        self._layer(i, hidden=True)
        if (kind, i) not in self.feedback:
            ref = self.net.W[0]
            self.feedback[kind, i] = torch.zeros(shape_of(kind, i, self.sizes), dtype=ref.dtype, device=ref.device)
        self._set(self.feedback[kind, i], value, f"{kind}{i}")

    # ------------------------------------------------------------ one batch
    def _batch(self, x, y):
        W0 = self.net.W[0]
        x = torch.as_tensor(x)
        if x.dim() != 2 or x.shape[1] != self.sizes[0] or x.shape[0] == 0:
            raise FaLabError(f"x must have shape (batch, {self.sizes[0]}) with batch ≥ 1, got {tuple(x.shape)}")
        x = x.to(W0.device, W0.dtype)
        if self.net.head.needs_labels:
            if y is None:
                raise FaLabError("a classifier needs labels y")
            y = torch.as_tensor(y).to(W0.device)
            if y.shape != (x.shape[0],) or y.dtype.is_floating_point or y.min() < 0 or y.max() >= self.sizes[-1]:
                raise FaLabError(f"y must be {x.shape[0]} integer labels in 0..{self.sizes[-1] - 1}")
        return x, self.net.head.target(y, x, self.sizes[-1], W0.dtype)

    def deltas(self, x, y=None, rule=None):
        """[δa¹, ..., δaˡ] for one batch under ``rule`` (default: the model's own)."""
        x, t = self._batch(x, y)
        with torch.no_grad():
            fw = self.net.forward(x)
            return backward(rule or self.rule, self.net.act, self.net.head, fw, self.net.W, self.feedback, t)

    def updates(self, x, y=None, rule=None):
        """[(δWⁱ, δbⁱ) for i = 1..ℓ], summed over the batch, not applied (eq. 4 then eq. 2)."""
        x, t = self._batch(x, y)
        with torch.no_grad():
            fw = self.net.forward(x)
            d = backward(rule or self.rule, self.net.act, self.net.head, fw, self.net.W, self.feedback, t)
            return weight_updates(fw, d)

    def angles(self, x, y=None):
        """Angle in degrees between this rule's δWⁱ and BP's gradient, for i = 1..ℓ."""
        return [row["angle"] for row in self.alignment(x, y)]

    def alignment(self, x, y=None):
        """Per weight layer: angle to BP's gradient, norm ratio, per-example angles, feedback angle
        (:mod:`fa_lab.core.alignment`)."""
        from .alignment import measure

        return measure(self, *self._batch(x, y))

    def loss(self, x, y=None):
        """Summed loss over the batch (cross-entropy, or ½‖x − x̂‖² for auto-encoders)."""
        x, t = self._batch(x, y)
        with torch.no_grad():
            return float(self.net.head.loss(self.net.forward(x).a[-1], t))

    def train(self, data, **kwargs):
        """Train with SGD (see :func:`fa_lab.train.train`); returns a :class:`~fa_lab.train.History`."""
        from .train import train

        return train(self, data, **kwargs)

    def __repr__(self):
        return (f"Model({self.name}: sizes={self.sizes}, activation={self.net.act.name}, head={self.net.head.name}, "
                f"rule={self.rule.name}, error={self.rule.error}, family={self.family}, seed={self.seed})")


def build(sizes, activation="tanh", rule="dfa", aux=False, family="uniform", seed=0, head="softmax",
          dtype="float32", device=None, feedback_params=None, name=None) -> Model:
    """Build a model: sizes [n0, ..., n_out], activation tanh|relu|sigmoid, rule bp|fa|dfa|s1|s2|s3
    (or a :class:`~fa_lab.rules.Rule`), ``aux`` for auxiliary (LAFS) errors, feedback ``family``
    uniform|B1..B7 with ``feedback_params`` (sd, density, ...), ``head`` softmax (classifier) or
    sigmoid (auto-encoder). Weights and feedback come from independent streams of ``seed``.
    ``device``: 'cpu', 'cuda[:N]' or None (CUDA when present, else CPU); draws are made on the
    CPU, so a seed gives the same initial model on every device."""
    if not isinstance(aux, bool):
        raise FaLabError(f"aux must be True or False, got {aux!r} (a feedback family goes in family=..., "
                         f"e.g. build(sizes, 'tanh', 'dfa', family='B1'))")
    if isinstance(dtype, str):
        dtype = DTYPES[choose("dtype", dtype, list(DTYPES))]
    elif dtype not in DTYPES.values():
        raise FaLabError(f"unknown dtype {dtype!r}; valid choices: {', '.join(DTYPES)}")
    device = resolve_device(device)
    net = Net.build(sizes, activation, head, seed, dtype, device)
    if net.n_hidden < 1:
        raise FaLabError(f"sizes {list(sizes)} has no hidden layer; feedback rules need at least one")
    if head == "sigmoid" and net.sizes[0] != net.sizes[-1]:
        raise FaLabError(f"an auto-encoder (head='sigmoid') must output what it reads: sizes[0]={net.sizes[0]} "
                         f"but sizes[-1]={net.sizes[-1]}")
    rule = get_rule(rule, net.n_hidden, aux)
    fb = Feedback.for_rule(rule, net.sizes, family, seed, dtype, device, **(feedback_params or {}))
    return Model(net, rule, fb, family if isinstance(family, str) else getattr(family, "__name__", "custom"), seed, name)
