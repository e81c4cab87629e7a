"""The paper's four experiments (and the BP/FA/DFA baselines) as data: what each runs, and its defaults.

- ``exp1`` (Table 2) / ``exp2`` (Table 3): 784-n-n-10, n ∈ {200, 400, 800} × {tanh, relu, sigmoid} × s1, s2, s3,
  with the output error e / with auxiliary (LAFS) errors eⁱ. ``baselines`` (Figures 4, 5): BP, FA, DFA on them.
- ``exp3`` (§4.3, Figures 6, 7): auto-encoders 784-128-128-784 and 784-800-800-784 × bp, dfa, s1, s2, s3; sigmoid
  output; the hidden activation, not stated by the paper, is ``AE_ACTIVATION`` (a parameter).
- ``exp4`` (Table 4, Figure 8): 784-800-800-10 tanh × fa, dfa × feedback families B1..B7.

Beyond the paper (``BEYOND``): ``deep`` (BP, FA, DFA, s1–s3 on 4x400 and 7x240 tanh), ``relatives`` (sign, KP,
DKP on 2x800 tanh). ``VARIANTS``: named, documented changes of one paper experiment, shown beside the faithful runs.
Protocols (:func:`.grid.protocol_settings`): ``full`` is the paper's; ``quick`` (``QUICK``) a smoke run.
The runs these experiments are made of (one frozen config per run, with a stable id) are in :mod:`.grid`.
"""

from __future__ import annotations

from dataclasses import dataclass

WIDTHS = (200, 400, 800)
ACTS = ("tanh", "relu", "sigmoid")
STRATEGIES = ("s1", "s2", "s3")
BASELINE_RULES = ("bp", "fa", "dfa")
AE_SIZES = ((784, 128, 128, 784), (784, 800, 800, 784))
AE_RULES = ("bp", "dfa", "s1", "s2", "s3")
AE_ACTIVATION = "sigmoid"  # paper silent (§4.3); documented choice, a parameter
FAMILY_NAMES = ("B1", "B2", "B3", "B4", "B5", "B6", "B7")
EXP4_RULES = ("fa", "dfa")
QUICK = {"epochs": 2, "n_train": 3000, "n_test": 1000}  # same nets, tiny data: a smoke run of the pipeline (~1 min)
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
RELU_SCALE = 0.03  # the relu variants' scale of the feedback between hidden layers (B̃, B̄)
RELU_NOTE = ("s2 and s3 feed the top hidden layer a term from the layer below through B̄² (Table 1's B̃²); at U(−½, ½) "
             "it is ~40x BP's own and the relu nets blow up (deviations). This variant multiplies B̄² and s3's B̃¹ by "
             f"{RELU_SCALE}, which brings that term to BP's size on 2x800; the Bⁱ of the direct errors stay U(−½, ½).")
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
    *(Experiment(f"{e}-relu-fb{RELU_SCALE}", f"Experiment {e[-1]}, variant: relu s2, s3 with the feedback between hidden "
                 f"layers x{RELU_SCALE}", None, (), ("s2", "s3"), aux=e == "exp2", variant_of=e, note=RELU_NOTE,
                 feedback_params=(("hidden_scale", RELU_SCALE),), only=(("activation", ("relu",)), ("rule", ("s2", "s3"))))
      for e in ("exp1", "exp2")),
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


def classifiers() -> list:
    """The paper's nine nets in its order: [(sizes, activation)]."""
    return [((784, n, n, 10), act) for act in ACTS for n in WIDTHS]


__all__ = ["Experiment", "net_label", "classifiers", "EXPERIMENTS", "VARIANTS", "BEYOND", "EVERYTHING", "GROUPS",
           "TABLES", "QUICK", "LIVE", "LIVE_AUTOENCODER", "AE_ACTIVATION", "RELU_SCALE"]
