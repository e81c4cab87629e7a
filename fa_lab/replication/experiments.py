"""The paper's four experiments (and the BP/FA/DFA baselines) as data: frozen run configs.

- ``exp1`` (Table 2) / ``exp2`` (Table 3): 784-n-n-10, n ∈ {200, 400, 800} × {tanh, relu, sigmoid} × s1, s2, s3,
  with the output error e / with auxiliary (LAFS) errors eⁱ. ``baselines`` (Figures 4, 5): BP, FA, DFA on them.
- ``exp3`` (§4.3, Figures 6, 7): auto-encoders 784-128-128-784 and 784-800-800-784 × bp, dfa, s1, s2, s3; sigmoid
  output; the hidden activation, not stated by the paper, is ``AE_ACTIVATION`` (a parameter).
- ``exp4`` (Table 4, Figure 8): 784-800-800-10 tanh × fa, dfa × feedback families B1..B7.

Beyond the paper (``BEYOND``): ``deep`` (BP, FA, DFA, s1–s3 on 4x400 and 7x240 tanh), ``relatives`` (sign, KP,
DKP on 2x800 tanh). ``VARIANTS``: named, documented changes of one paper experiment, shown beside the faithful runs.
Protocols (:func:`protocol_settings`): ``full`` is the paper's; ``quick`` (``QUICK``) a smoke run of the pipeline.
Each run has a stable id: a readable name and a hash of its config, ``exp4-784-800-800-10-tanh-dfa-B1-s0-1a2b3c4d``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace

from ..core import train as _train
from ..core.errors import FaLabError
from ..core.rules import get_rule, label

WIDTHS = (200, 400, 800)
ACTS = ("tanh", "relu", "sigmoid")
STRATEGIES = ("s1", "s2", "s3")
BASELINE_RULES = ("bp", "fa", "dfa")
AE_SIZES = ((784, 128, 128, 784), (784, 800, 800, 784))
AE_RULES = ("bp", "dfa", "s1", "s2", "s3")
AE_ACTIVATION = "sigmoid"  # paper silent (§4.3); documented choice, a parameter
FAMILY_NAMES = ("B1", "B2", "B3", "B4", "B5", "B6", "B7")
EXP4_RULES = ("fa", "dfa")
# the quick protocol: same nets, tiny data and 2 epochs (a smoke run of the whole pipeline, about a minute)
QUICK = {"epochs": 2, "n_train": 3000, "n_test": 1000}
PAPER_DEPTH = 2  # hidden layers of every net in the paper (Table 1 defines s1-s3 for two)
# the book's live runs (panels, quick cells): about 10 % test error in seconds on one core, not the protocol
LIVE = {"width": 200, "depth": PAPER_DEPTH, "epochs": 2, "n_train": 20000, "n_test": 2000}
# auto-encoders learn slowly at the protocol's lr: their live runs use 10x the lr, so 2 epochs give digits, not blobs
LIVE_AUTOENCODER = {"width": 128, "lr": 0.01}
ACT_LABELS = {"tanh": "Tanh", "relu": "Relu", "sigmoid": "Sigm"}  # as the paper's tables spell them


@dataclass(frozen=True)
class Experiment:
    """What one experiment is, for the runner, the report and the book: its title, the paper's table
    (None: figures only), the paper's figures, and the panel's live defaults (rules, aux, family)."""

    name: str
    title: str
    table: str | None
    figures: tuple
    rules: tuple
    aux: bool = False
    family: str = "uniform"
    variant_of: str | None = None  # a variant: a named, documented change of one of the paper's experiments,
    only: tuple = ()               # running those of its runs whose fields match ((field, values), ...),
    feedback_params: tuple = ()    # with these feedback parameters
    note: str = ""
    full_settings: tuple = ()      # (name, value) protocol settings the variant changes in the full protocol


EXPERIMENTS = {e.name: e for e in (
    Experiment("exp1", "Experiment 1: strategies s1–s3 with the output error", "2", (4,), STRATEGIES),
    Experiment("exp2", "Experiment 2: strategies s1–s3 with auxiliary (LAFS) errors", "3", (5,), STRATEGIES, aux=True),
    Experiment("exp3", "Experiment 3: auto-encoders", None, (6, 7), AE_RULES),
    Experiment("exp4", "Experiment 4: feedback matrix families B1–B7 with FA and DFA", "4", (8,), EXP4_RULES, family="B1"),
    Experiment("baselines", "Baselines: BP, FA, DFA on the same nets", None, (4, 5), BASELINE_RULES),
)}
TABLES = {e.table: e.name for e in EXPERIMENTS.values() if e.table}  # paper table -> experiment
NOISY_FAMILIES = ("B1", "B3", "B6", "B7")  # the families with N(0, 0.01) noise
RELU_NOTE = ("s2 and s3 feed the top hidden layer a term from the layer below through B̄² (Table 1's B̃²); at U(−½, ½) "
             "it is ~40x BP's own and the relu nets blow up (deviations). This variant multiplies B̄² and s3's B̃¹ by "
             "0.03, which brings that term to BP's size on 2x800; the Bⁱ of the direct errors stay U(−½, ½).")
VARIANTS = {e.name: e for e in (
    Experiment("exp4-sd0.1", "Experiment 4, variant: noise N(0, 0.01) read as variance 0.01 (sd 0.1)", None, (8,),
               EXP4_RULES, family="B1", variant_of="exp4", only=(("family", NOISY_FAMILIES),), feedback_params=(("sd", 0.1),),
               note="The paper's N(0, 0.01) is read as sd 0.01 in the faithful runs; this variant reads it as "
                    "N(μ, σ²) with σ² = 0.01, i.e. sd 0.1, for every family with noise (B1, B3, B6, B7)."),
    Experiment("exp4-b2-tiled", "Experiment 4, variant: B2 read as the identity tiled down the layer", None, (8,),
               EXP4_RULES, family="B2", variant_of="exp4", only=(("family", ("B2",)),), feedback_params=(("tiled", True),),
               note="The faithful B2 = eye(800, 10) gives an error to 10 of the 800 units of a layer (the other 790 "
                    "never learn); this variant repeats the 10x10 identity down the layer, so unit j gets class "
                    "j mod 10's error and every unit learns."),
    Experiment("exp4-d0.01", "Experiment 4, variant: the sparse families (B4, B6) at density 0.01", None, (8,), EXP4_RULES,
               family="B4", variant_of="exp4", only=(("family", ("B4", "B6")),), feedback_params=(("density", 0.01),),
               note="The paper does not give the density of B4 and B6 (\"the sparsity is randomly done using numpy\"); "
                    "the faithful runs take 0.1. This variant takes 0.01, the default density of scipy.sparse.random."),
    Experiment("exp3-300ep", "Experiment 3, variant: 300 epochs on 784-800-800-784", None, (6, 7), AE_RULES,
               variant_of="exp3", only=(("sizes", AE_SIZES[-1:]),), full_settings=(("epochs", 300),),
               note="BP was still improving at epoch 100; this variant trains every rule 3x longer. `python scripts/"
                    "ae_rate.py` predicts that BP ends near DFA's number at 100 epochs, not below (chapter 9)."),
    *(Experiment(f"{e}-relu-fb0.03", f"Experiment {e[-1]}, variant: relu s2, s3 with the feedback between hidden layers "
                 "x0.03", None, (), ("s2", "s3"), aux=e == "exp2", variant_of=e, feedback_params=(("hidden_scale", 0.03),),
                 only=(("activation", ("relu",)), ("rule", ("s2", "s3"))), note=RELU_NOTE) for e in ("exp1", "exp2")),
)}
DEEP_SIZES = ((784, 400, 400, 400, 400, 10), (784, *(240,) * 7, 10))
DEEP_RULES = ("bp", "fa", "dfa") + STRATEGIES
RELATIVES = ("sign", "kp", "dkp")  # FA's relatives (fa_lab.core.rules); dkp also with auxiliary errors
RELATIVES_SIZES = (784, 800, 800, 10)  # the paper's headline net, whose BP/FA/DFA runs are in ``baselines``
BEYOND = {e.name: e for e in (
    Experiment("deep", "Beyond the paper: the strategies on deep nets (4x400, 7x240 tanh)", None, (), DEEP_RULES,
               note="s1-s3 generalised to any depth (fa_lab.core.rules); each strategy with the output error and "
                    "with auxiliary errors, beside BP, FA and DFA."),
    Experiment("relatives", "Beyond the paper: FA's relatives (sign symmetry, Kolen–Pollack, direct KP) on 2x800 tanh",
               None, (), RELATIVES,
               note="Sign symmetry reads the signs of the forward weights; Kolen–Pollack (kp) and direct Kolen–Pollack "
                    "(dkp, also with auxiliary errors) learn their feedback matrices, with weight decay on every "
                    "matrix. BP, FA and DFA on the same net are the baselines' runs."),
)}
EVERYTHING = {**EXPERIMENTS, **VARIANTS, **BEYOND}
GROUPS = {"all": EXPERIMENTS, "variants": VARIANTS, "beyond": BEYOND}  # names that stand for several experiments
NAMES = ", ".join([*EVERYTHING, *GROUPS])  # what `replicate` accepts


def net_label(sizes, activation, head="softmax") -> str:
    """The paper's name of a net: '2x800 Tanh' (classifier) or '784-128-128-784' (auto-encoder)."""
    if head == "sigmoid":
        return "-".join(map(str, sizes))
    hidden = sizes[1:-1]
    act = ACT_LABELS[activation]
    return f"{len(hidden)}x{hidden[0]} {act}" if len(set(hidden)) == 1 else f"{'-'.join(map(str, hidden))} {act}"


def config_hash(config: dict, n=8) -> str:
    """Short SHA-256 of the canonical JSON of a full run config (stable across runs and machines)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:n]


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines one training run (and nothing else)."""

    experiment: str
    sizes: tuple
    activation: str
    head: str
    rule: str
    aux: bool
    family: str
    feedback_params: tuple  # sorted (name, value) pairs; () = the family's defaults
    seed: int
    epochs: int
    batch_size: int
    lr: float
    n_train: int | None  # None = all 60 000
    n_test: int | None   # None = all 10 000
    protocol: str
    reduction: str = "sum"
    dtype: str = "float32"
    weight_decay: float = 0.0  # the rule's λ (Kolen–Pollack), read from its preset by configs()

    def as_dict(self) -> dict:
        d = {**asdict(self), "sizes": list(self.sizes), "feedback_params": dict(self.feedback_params)}
        if not self.weight_decay:  # no decay (every rule of the paper): the ids from before this field stay valid
            del d["weight_decay"]
        return d

    @classmethod
    def from_dict(cls, d) -> "RunConfig":
        return cls(**{**d, "sizes": tuple(d["sizes"]),
                      "feedback_params": tuple(sorted(dict(d.get("feedback_params") or {}).items()))})

    @property
    def net_name(self) -> str:
        """The paper's name of the net: '2x800 Tanh' or '784-128-128-784'."""
        return net_label(self.sizes, self.activation, self.head)

    @property
    def method(self) -> str:
        """The method as the paper's tables name it: s1, bp, dfa-B3 (Table 3 implies the aux errors)."""
        return label(self.rule, self.family)

    @property
    def label(self) -> str:
        """The method for legends: 's1 (aux)', 'dfa-B3', ..."""
        return label(self.rule, self.family, self.aux)

    @property
    def cell(self) -> tuple:
        """(experiment, net, method): the cell of a table this run is one seed of. The method is marked
        '(aux)' unless the experiment implies auxiliary errors (Experiment 2, as in the paper's Table 3)."""
        implied = EVERYTHING[self.experiment].aux if self.experiment in EVERYTHING else False
        return (self.experiment, self.net_name, label(self.rule, self.family, self.aux and not implied))

    @property
    def run_id(self) -> str:
        fam = "" if self.family == "uniform" else f"-{self.family}"
        aux = "-aux" if self.aux else ""
        name = f"{self.experiment}-{'-'.join(map(str, self.sizes))}-{self.activation}-{self.rule}{aux}{fam}-s{self.seed}"
        return f"{name}-{config_hash(self.as_dict())}"

    @property
    def group_key(self) -> tuple:
        """Runs with equal keys share one lockstep ``fit`` pass (same net shape, data, batch order)."""
        return (self.sizes, self.activation, self.head, self.seed, self.epochs, self.batch_size, self.lr,
                self.n_train, self.n_test, self.protocol, self.reduction, self.dtype)

    def build(self, device="cpu"):
        """The untrained :class:`~fa_lab.model.Model` of this run."""
        from ..core.model import build

        rule = replace(get_rule(self.rule, len(self.sizes) - 2), weight_decay=self.weight_decay)  # λ as recorded
        return build(list(self.sizes), self.activation, rule, aux=self.aux, family=self.family, seed=self.seed,
                     head=self.head, dtype=self.dtype, device=device, feedback_params=dict(self.feedback_params),
                     name=self.run_id)


def protocol_settings(protocol: str, experiment=None) -> dict:
    """epochs, batch_size, lr, n_train, n_test: ``full`` all 60 000 / 10 000 examples, 100 epochs, lr 0.001 on the
    summed batch (a variant ``experiment``'s changes applied); ``quick`` the first 3 000 / 1 000 for 2 epochs."""
    t = _train
    if protocol == "full":
        changes = dict(EVERYTHING[experiment].full_settings) if experiment in EVERYTHING else {}
        return {"epochs": t.EPOCHS, "batch_size": t.BATCH_SIZE, "lr": t.LR, "n_train": None, "n_test": None, **changes}
    if protocol == "quick":
        return {"batch_size": t.BATCH_SIZE, "lr": t.LR, **QUICK}
    raise FaLabError(f"unknown protocol {protocol!r}; valid choices: full, quick")


def classifiers() -> list:
    """The paper's nine nets in its order: [(sizes, activation)]."""
    return [((784, n, n, 10), act) for act in ACTS for n in WIDTHS]


RUN_FIELDS = ("sizes", "activation", "head", "rule", "aux", "family")


def _runs(experiment, ae_activation):
    """(sizes, activation, head, rule, aux, family[, feedback_params]) of every run of one experiment."""
    v = VARIANTS.get(experiment)
    if v is not None:
        keep = lambda run: all(dict(zip(RUN_FIELDS, run))[k] in values for k, values in v.only)  # noqa: E731
        return [(*run, v.feedback_params) for run in _runs(v.variant_of, ae_activation) if keep(run)]
    if experiment == "deep":
        return [(s, "tanh", "softmax", r, aux, "uniform") for s in DEEP_SIZES for r in DEEP_RULES
                for aux in ((False, True) if r in STRATEGIES else (False,))]
    if experiment == "relatives":
        return [(RELATIVES_SIZES, "tanh", "softmax", r, aux, "uniform") for r in RELATIVES
                for aux in ((False, True) if r == "dkp" else (False,))]
    if experiment in ("exp1", "exp2"):
        return [(s, a, "softmax", r, experiment == "exp2", "uniform") for s, a in classifiers() for r in STRATEGIES]
    if experiment == "baselines":
        return [(s, a, "softmax", r, False, "uniform") for s, a in classifiers() for r in BASELINE_RULES]
    if experiment == "exp3":
        return [(s, ae_activation, "sigmoid", r, False, "uniform") for s in AE_SIZES for r in AE_RULES]
    if experiment == "exp4":
        return [((784, 800, 800, 10), "tanh", "softmax", r, False, f) for r in EXP4_RULES for f in FAMILY_NAMES]
    raise FaLabError(f"unknown experiment {experiment!r}; valid choices: {NAMES}")


def expand(names) -> list[str]:
    """Experiment names with 'all' (the paper's experiments), 'variants' and 'beyond' expanded, each once."""
    names = [names] if isinstance(names, str) else list(names)
    out = []
    for n in names:
        for e in GROUPS.get(n, [n]):
            if e not in EVERYTHING:
                raise FaLabError(f"unknown experiment {e!r}; valid choices: {NAMES}")
            if e not in out:
                out.append(e)
    return out


def configs(names="all", protocol="full", seeds=(0,), ae_activation=AE_ACTIVATION, **overrides) -> list[RunConfig]:
    """Every run config of the named experiments × seeds. ``overrides`` replace protocol settings
    (epochs, batch_size, lr, n_train, n_test) — e.g. for tests."""
    from ..core.nets import ACTIVATIONS

    if ae_activation not in ACTIVATIONS:
        raise FaLabError(f"unknown auto-encoder activation {ae_activation!r}; valid choices: {', '.join(ACTIVATIONS)}")
    bad = set(overrides) - set(protocol_settings(protocol))
    if bad:
        raise FaLabError(f"unknown protocol settings {sorted(bad)}; valid choices: "
                         f"{', '.join(protocol_settings(protocol))}")
    out = []
    for exp in expand(names):
        settings = {**protocol_settings(protocol, exp), **overrides}
        for seed in seeds:
            for sizes, act, head, rule, aux, fam, *fp in _runs(exp, ae_activation):
                out.append(RunConfig(exp, sizes, act, head, rule, aux, fam, fp[0] if fp else (), seed,
                                     protocol=protocol, weight_decay=get_rule(rule, len(sizes) - 2).weight_decay,
                                     **settings))
    return out


def group(runs, max_size=None) -> list[list[RunConfig]]:
    """Partition runs into lockstep groups (first-seen order), each at most ``max_size`` runs."""
    groups = {}
    for r in runs:
        groups.setdefault(r.group_key, []).append(r)
    out = list(groups.values())
    if max_size:
        out = [g[i:i + max_size] for g in out for i in range(0, len(g), max_size)]
    return out


__all__ = ["RunConfig", "Experiment", "configs", "group", "expand", "protocol_settings", "net_label", "config_hash",
           "EXPERIMENTS", "VARIANTS", "BEYOND", "EVERYTHING", "TABLES", "QUICK", "LIVE", "LIVE_AUTOENCODER", "AE_ACTIVATION"]
