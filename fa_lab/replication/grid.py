"""The run grid: every training run of the experiments (:mod:`.experiments`) as a frozen :class:`RunConfig`.

A run's id is stable across machines: a readable name and a hash of its whole config,
``exp4-784-800-800-10-tanh-dfa-B1-s0-1a2b3c4d``. :func:`configs` lists the runs of named experiments × seeds
under a protocol (:func:`protocol_settings`: ``full`` is the paper's, ``quick`` a smoke run); :func:`group` puts
runs that can share one lockstep ``fit`` pass (same net shape, data and batch order) together.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace

from ..core import train as _train
from ..core.errors import FaLabError
from ..core.rules import get_rule, label
from . import experiments as ex


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
        return ex.net_label(self.sizes, self.activation, self.head)

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
        implied = ex.EVERYTHING[self.experiment].aux if self.experiment in ex.EVERYTHING else False
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
        changes = dict(ex.EVERYTHING[experiment].full_settings) if experiment in ex.EVERYTHING else {}
        return {"epochs": t.EPOCHS, "batch_size": t.BATCH_SIZE, "lr": t.LR, "n_train": None, "n_test": None, **changes}
    if protocol == "quick":
        return {"batch_size": t.BATCH_SIZE, "lr": t.LR, **ex.QUICK}
    raise FaLabError(f"unknown protocol {protocol!r}; valid choices: full, quick")


RUN_FIELDS = ("sizes", "activation", "head", "rule", "aux", "family")


def _runs(experiment, ae_activation):
    """(sizes, activation, head, rule, aux, family[, feedback_params]) of every run of one experiment."""
    v = ex.VARIANTS.get(experiment)
    if v is not None:
        keep = lambda run: all(dict(zip(RUN_FIELDS, run))[k] in values for k, values in v.only)  # noqa: E731
        return [(*run, v.feedback_params) for run in _runs(v.variant_of, ae_activation) if keep(run)]
    if experiment == "deep":
        return [(s, "tanh", "softmax", r, aux, "uniform") for s in ex.DEEP_SIZES for r in ex.DEEP_RULES
                for aux in ((False, True) if r in ex.STRATEGIES else (False,))]
    if experiment == "relatives":
        return [(ex.RELATIVES_SIZES, "tanh", "softmax", r, aux, "uniform") for r in ex.RELATIVES
                for aux in ((False, True) if r == "dkp" else (False,))]
    if experiment in ("exp1", "exp2"):
        return [(s, a, "softmax", r, experiment == "exp2", "uniform") for s, a in ex.classifiers()
                for r in ex.STRATEGIES]
    if experiment == "baselines":
        return [(s, a, "softmax", r, False, "uniform") for s, a in ex.classifiers() for r in ex.BASELINE_RULES]
    if experiment == "exp3":
        return [(s, ae_activation, "sigmoid", r, False, "uniform") for s in ex.AE_SIZES for r in ex.AE_RULES]
    if experiment == "exp4":
        return [((784, 800, 800, 10), "tanh", "softmax", r, False, f) for r in ex.EXP4_RULES for f in ex.FAMILY_NAMES]
    raise FaLabError(f"unknown experiment {experiment!r}; valid choices: {ex.NAMES}")


def expand(names) -> list[str]:
    """Experiment names with 'all' (the paper's experiments), 'variants' and 'beyond' expanded, each once."""
    names = [names] if isinstance(names, str) else list(names)
    out = []
    for n in names:
        for e in ex.GROUPS.get(n, [n]):
            if e not in ex.EVERYTHING:
                raise FaLabError(f"unknown experiment {e!r}; valid choices: {ex.NAMES}")
            if e not in out:
                out.append(e)
    return out


def configs(names="all", protocol="full", seeds=(0,), ae_activation=ex.AE_ACTIVATION,
            **overrides) -> list[RunConfig]:
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


__all__ = ["RunConfig", "configs", "group", "expand", "protocol_settings", "config_hash"]
