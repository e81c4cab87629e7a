"""Learning rules as data: the general feedback update rule (eq. 4) and its presets.

For every hidden layer i a rule lists the error terms that layer averages:

    δaⁱ = F(terms) ⊙ f′(aⁱ),   F = element-wise mean by default          (eq. 4)

    direct        uⁱ   = Bⁱ eⁱ          Bⁱ (nᵢ, n_out)    DFA-type           (eq. 3, right)
    above         uⁱ⁺¹ = B̃ⁱ δaⁱ⁺¹       B̃ⁱ (nᵢ, nᵢ₊₁)    FA-type            (eq. 3, left)
    above:W       uⁱ⁺¹ = (Wⁱ⁺¹)ᵀ δaⁱ⁺¹                    back-propagation   (eq. 2)
    below         uⁱ⁻¹ = B̄ⁱ δaⁱ⁻¹       B̄ⁱ (nᵢ, nᵢ₋₁)

``above~`` / ``below~`` use the neighbour's DFA-only delta δãʲ = Bʲ eʲ ⊙ f′(aʲ) instead
of δaʲ (Table 1, strategy 3). For the top hidden layer "above" is the output error e
itself (δaˡ = e; its tilde delta is also e). ``error`` says what eⁱ is: the output
error e (Experiment 1) or the layer's auxiliary LAFS error eⁱ = head(aⁱₓ) − y with
aⁱₓ = (Bⁱ)ᵀ hⁱ (§2.1.1, Experiment 2).

A rule is plain data, so a new strategy is a new :class:`Rule`; ``engine.py`` evaluates
any of them and ``Rule.order`` finds the order in which its layers can be computed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

from .errors import FaLabError, choose

ERRORS = ("output", "auxiliary")


@dataclass(frozen=True)
class Term:
    """One error term of eq. 4: ``source`` is direct/above/below; ``tilde`` uses δã; ``via`` says what carries
    the neighbour's delta: a fixed random matrix B̃/B̄ ("feedback"), (Wⁱ⁺¹)ᵀ ("weights", back-propagation) or
    sign(Wⁱ⁺¹)ᵀ ("sign", sign symmetry); ``learned``: the feedback matrix learns (Kolen–Pollack)."""

    source: str
    tilde: bool = False
    via: str = "feedback"
    learned: bool = False

    @classmethod
    def parse(cls, text) -> "Term":
        if isinstance(text, Term):
            return text
        return TERMS[choose("error term", text, list(TERMS))]

    def __str__(self):
        return next(name for name, t in TERMS.items() if t == self)

    def neighbour(self, i):
        """The (0-based) hidden layer whose delta this term reads, for hidden layer i."""
        return {"direct": None, "above": i + 1, "below": i - 1}[self.source]


TERMS = {  # the spelling of each term in a rule
    "direct": Term("direct"),                        # Bⁱ eⁱ                          DFA-type
    "above": Term("above"),                          # B̃ⁱ δaⁱ⁺¹                       FA-type
    "above~": Term("above", tilde=True),             # B̃ⁱ δãⁱ⁺¹                       (Table 1, s3)
    "above:W": Term("above", via="weights"),         # (Wⁱ⁺¹)ᵀ δaⁱ⁺¹                  back-propagation
    "above:sign": Term("above", via="sign"),         # sign(Wⁱ⁺¹)ᵀ δaⁱ⁺¹              sign symmetry
    "above:KP": Term("above", learned=True),         # B̃ⁱ δaⁱ⁺¹, B̃ⁱ learned            Kolen–Pollack
    "direct:KP": Term("direct", learned=True),       # Bⁱ eⁱ, Bⁱ learned as a readout      direct Kolen–Pollack
    "below": Term("below"),                          # B̄ⁱ δaⁱ⁻¹
    "below~": Term("below", tilde=True),             # B̄ⁱ δãⁱ⁻¹
}
TERM_NAMES = tuple(TERMS)


def mean(terms):
    """F of the paper (§4): the element-wise average of its arguments."""
    return terms[0] if len(terms) == 1 else sum(terms) / len(terms)


def _check_F(name, F):
    """A custom F must combine a list of (batch, n) terms into one (batch, n) tensor, element by element."""
    import torch

    terms = [torch.arange(6.0).reshape(2, 3), torch.ones(2, 3)]
    try:
        out = F(terms)
    except Exception as exc:  # noqa: BLE001 - any failure of user code is reported in one line
        raise FaLabError(f"rule {name!r}: F failed on a list of two (2, 3) terms: {type(exc).__name__}: {exc}") from None
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (2, 3):
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise FaLabError(f"rule {name!r}: F must return one tensor shaped like each term (e.g. (2, 3) for two (2, 3) "
                         f"terms), got {got}")


@dataclass(frozen=True)
class Rule:
    """Which terms each hidden layer averages; ``layers[0]`` is hidden layer 1 (the lowest)."""

    name: str
    layers: tuple  # tuple of tuples of Term, one per hidden layer
    error: str = "output"
    F: callable = field(default=mean, compare=False)
    weight_decay: float = 0.0  # λ: every step W ← (1 − lr·λ) W − lr·δW, and the same for learned feedback

    def __post_init__(self):
        choose("error signal", self.error, ERRORS)
        layers = tuple(tuple(Term.parse(t) for t in ts) for ts in self.layers)
        object.__setattr__(self, "layers", layers)
        for i, ts in enumerate(layers):
            if not ts:
                raise FaLabError(f"rule {self.name!r}: hidden layer {i + 1} has no error terms; "
                                 f"give at least one of {', '.join(TERM_NAMES)}")
            if len(set(ts)) != len(ts):
                raise FaLabError(f"rule {self.name!r}: hidden layer {i + 1} lists a term twice: {[str(t) for t in ts]}")
            for t in ts:
                if t.source == "below" and i == 0:
                    raise FaLabError(f"rule {self.name!r}: hidden layer 1 has no hidden layer below it, "
                                     f"so it cannot use {str(t)!r}")
        if self.error == "auxiliary" and not self.uses_direct_errors:
            raise FaLabError(f"rule {self.name!r} uses no direct or tilde terms, so auxiliary errors would "
                             f"change nothing; use error='output'")
        self.order  # reject cyclic rules at construction
        if self.F is not mean:
            _check_F(self.name, self.F)

    # ------------------------------------------------------------ structure
    @property
    def n_hidden(self) -> int:
        return len(self.layers)

    @property
    def uses_direct_errors(self) -> bool:
        return any(t.source == "direct" or t.tilde for ts in self.layers for t in ts)

    @cached_property  # read on every training step
    def order(self) -> tuple:
        """0-based hidden layers in an order that computes every δa before it is read.

        A term that reads a neighbour's δa (not its tilde delta, not the output error)
        is a dependency; a cycle among them is rejected.
        """
        n = self.n_hidden
        deps = {i: {t.neighbour(i) for t in ts if t.source != "direct" and not t.tilde and t.neighbour(i) < n}
                for i, ts in enumerate(self.layers)}
        done, order = set(), []
        while len(order) < n:
            ready = [i for i in range(n) if i not in done and deps[i] <= done]
            if not ready:
                stuck = sorted(i + 1 for i in range(n) if i not in done)
                raise FaLabError(f"rule {self.name!r} is cyclic: hidden layers {stuck} each wait for another's δa; "
                                 f"break the cycle, e.g. with a tilde term ('above~', 'below~')")
            order.append(ready[0])
            done.add(ready[0])
        return tuple(order)

    def needs(self, i) -> set:
        """Feedback matrices hidden layer i (0-based) needs: subset of {'B', 'B_tilde', 'B_bar'}."""
        out = set()
        for t in self.layers[i]:
            if t.source == "direct":
                out.add("B")
            elif t.source == "above" and t.via == "feedback":
                out.add("B_tilde")
            elif t.source == "below":
                out.add("B_bar")
        for j, ts in enumerate(self.layers):  # a neighbour reading my tilde delta needs my Bⁱ
            if any(t.tilde and t.neighbour(j) == i for t in ts):
                out.add("B")
        return out

    @cached_property  # read on every training step
    def learned(self) -> tuple:
        """Keys of the feedback matrices that learn: ``("B_tilde", i)`` (Kolen–Pollack) and ``("B", i)`` (direct
        Kolen–Pollack), 1-based i, lowest layer first."""
        kind = {"above": "B_tilde", "direct": "B"}
        return tuple((kind[t.source], i + 1) for i, ts in enumerate(self.layers) for t in ts if t.learned)

    @property
    def aux(self) -> bool:
        """True when the direct terms use the layers' auxiliary errors eⁱ (Experiment 2)."""
        return self.error == "auxiliary"

    def with_error(self, error) -> "Rule":
        """The same rule with output (``"output"``) or auxiliary (``"auxiliary"``) errors."""
        return replace(self, error=error)

    def describe(self):
        """Rows (layer, formula) in the notation of Table 1."""
        e = "eⁱ" if self.error == "auxiliary" else "e"
        sym = {"direct": f"Bⁱ{e}", "above": "B̃ⁱδaⁱ⁺¹", "above~": "B̃ⁱδãⁱ⁺¹", "above:W": "(Wⁱ⁺¹)ᵀδaⁱ⁺¹",
               "above:sign": "sign(Wⁱ⁺¹)ᵀδaⁱ⁺¹", "above:KP": "B̃ⁱδaⁱ⁺¹ (B̃ⁱ learned)",
               "direct:KP": f"Bⁱ{e} (Bⁱ learned)",
               "below": "B̄ⁱδaⁱ⁻¹", "below~": "B̄ⁱδãⁱ⁻¹"}
        rows = []
        for i in reversed(range(self.n_hidden)):
            ts = [sym[str(t)] for t in self.layers[i]]
            inner = ts[0] if len(ts) == 1 else "F(" + ", ".join(ts) + ")"
            rows.append((f"δa{superscript(i + 1)}", (inner + " ⊙ f′(aⁱ)").replace("ⁱ⁺¹", superscript(i + 2)).replace("ⁱ⁻¹", superscript(i))
                         .replace("ⁱ", superscript(i + 1))))
        return rows


def superscript(n):
    return str(n).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))


# ---------------------------------------------------------------- presets
def bp(n_hidden):
    """Back-propagation (eq. 2): δaⁱ = (Wⁱ⁺¹)ᵀ δaⁱ⁺¹ ⊙ f′(aⁱ)."""
    return Rule("bp", (("above:W",),) * n_hidden)


def fa(n_hidden):
    """Feedback alignment (eq. 3, left): δaⁱ = B̃ⁱ δaⁱ⁺¹ ⊙ f′(aⁱ)."""
    return Rule("fa", (("above",),) * n_hidden)


def dfa(n_hidden):
    """Direct feedback alignment (eq. 3, right): δaⁱ = Bⁱ e ⊙ f′(aⁱ)."""
    return Rule("dfa", (("direct",),) * n_hidden)


# Table 1 generalised to ℓ hidden layers (layers listed bottom-up; at ℓ = 2 these are Table 1 exactly):
def s1(n_hidden):
    """Strategy s1: the top hidden layer takes its DFA term alone; every layer below averages its DFA term with
    the FA term from the layer above, δaⁱ = F(Bⁱe, B̃ⁱδaⁱ⁺¹) ⊙ f′(aⁱ) (computed top-down). Table 1 at ℓ = 2."""
    return Rule("s1", (("direct", "above"),) * (n_hidden - 1) + (("direct",),))


def s2(n_hidden):
    """Strategy s2: the bottom hidden layer takes its DFA term alone; every layer above averages its DFA term
    with the FA term from the layer below, δaⁱ = F(Bⁱe, B̄ⁱδaⁱ⁻¹) ⊙ f′(aⁱ) (computed bottom-up). Table 1 at ℓ = 2."""
    return Rule("s2", (("direct",),) + (("direct", "below"),) * (n_hidden - 1))


def s3(n_hidden):
    """Strategy s3: every hidden layer averages its DFA term with the DFA-only deltas δã of both neighbours
    (where it has them), δaⁱ = F(Bⁱe, B̃ⁱδãⁱ⁺¹, B̄ⁱδãⁱ⁻¹) ⊙ f′(aⁱ): no layer waits for another. Table 1 at ℓ = 2."""
    if n_hidden == 1:
        return Rule("s3", (("direct",),))
    return Rule("s3", (("direct", "above~"),) + (("direct", "above~", "below~"),) * (n_hidden - 2)
                + (("direct", "below~"),))


# λ of Kolen–Pollack: with the protocol's lr 0.001, W − B̃ᵀ shrinks by lr·λ = 1e-5 per step, e^-3.75 over 100 epochs
# (Akrout et al.'s ImageNet runs: lr 0.1 × decay 1e-4, the same per step). λ = 0.1 aligned fast but shrank the weights:
# 4.6 % test error at epoch 40 on 2x800 tanh; 0.03 stalled near 2.3 % on 2x200 (scripts/kp_decay.py).
KP_DECAY = 0.01


def sign(n_hidden):
    """Sign symmetry (Liao, Leibo & Poggio 2016): δaⁱ = sign(Wⁱ⁺¹)ᵀ δaⁱ⁺¹ ⊙ f′(aⁱ): the feedback reads the forward
    weights' signs, not their values."""
    return Rule("sign", (("above:sign",),) * n_hidden)


def kp(n_hidden):
    """Kolen–Pollack (Akrout et al. 2019): FA whose B̃ⁱ learns with the same update as (Wⁱ⁺¹)ᵀ,
    B̃ⁱ ← (1 − lr·λ) B̃ⁱ − lr·(δWⁱ⁺¹)ᵀ, and the same decay λ on every W; then B̃ⁱ − (Wⁱ⁺¹)ᵀ decays to 0."""
    return Rule("kp", (("above:KP",),) * n_hidden, weight_decay=KP_DECAY)


def dkp(n_hidden):
    """Direct Kolen–Pollack: DFA whose Bⁱ learns as the readout from hⁱ that the layer's error trains,
    Bⁱ ← (1 − lr·λ) Bⁱ − lr·(hⁱ)ᵀ eⁱ, with the same decay λ on every W (in the spirit of Webster, Choi & Ahn,
    "Learning the connections in direct feedback alignment"). At the top hidden layer, with the output error,
    this is Kolen–Pollack's update of (Wˡ⁺¹)ᵀ exactly; with auxiliary errors (``aux=True``) Bⁱ is the layer's
    auxiliary classifier, trained on its own error, and δaⁱ is that classifier's gradient."""
    return Rule("dkp", (("direct:KP",),) * n_hidden, weight_decay=KP_DECAY)


PRESETS = {"bp": bp, "fa": fa, "dfa": dfa, "s1": s1, "s2": s2, "s3": s3, "sign": sign, "kp": kp, "dkp": dkp}
PAPER_PRESETS = ("bp", "fa", "dfa", "s1", "s2", "s3")  # the rules of the paper; the others go beyond it


def label(rule, family="uniform", aux=False) -> str:
    """The one label of a method, from its parts: 's1', 'dfa-B3', 's1 (aux)' (tables, legends, model names).
    ``rule`` is a rule's name; the paper's tables name a method without the aux mark (Table 3 implies it)."""
    name = rule if family == "uniform" else f"{rule}-{family}"
    return name + (" (aux)" if aux else "")


def get_rule(rule, n_hidden, aux=False) -> Rule:
    """A preset by name (``bp fa dfa s1 s2 s3``) or a :class:`Rule`, checked against depth; ``aux`` switches
    its direct terms to the auxiliary errors eⁱ."""
    if isinstance(rule, str):
        rule = PRESETS[choose("rule", rule, list(PRESETS))](n_hidden)
    elif not isinstance(rule, Rule):
        raise FaLabError(f"rule must be a preset name ({', '.join(PRESETS)}) or a fa_lab.Rule, got {type(rule).__name__}")
    if rule.n_hidden != n_hidden:
        raise FaLabError(f"rule {rule.name!r} describes {rule.n_hidden} hidden layers but the net has {n_hidden}")
    return rule.with_error("auxiliary") if aux else rule
