"""Verdicts per cell and per claim of the paper (fa_lab.replication.verdicts), on synthetic statistics."""

import pytest

from fa_lab.replication import experiments as ex
from fa_lab.replication import grid
from fa_lab.replication.results import Stats, ours
from fa_lab.replication.verdicts import cell_verdict, claims

T800 = ex.net_label((784, 800, 800, 10), "tanh")


def st(mean, sd=None, n=1, diverged=0):
    return Stats(mean, sd, n, 0.0, [f"run-{k}" for k in range(diverged)], list(range(n)), [])


@pytest.mark.parametrize("stats, paper, want", [
    (st(2.00), 1.70, "yes"),          # 0.30 points
    (st(2.10), 1.70, "partial"),      # 0.40 points
    (st(2.50), 1.70, "no"),           # 0.80 points
    (st(2.50, sd=0.45, n=3), 1.70, "yes"),  # within two sds of our seeds
    (None, 1.70, ""),
    (st(None), 1.70, ""),
    (st(2.00, diverged=1), 1.70, "partial"),            # a diverged seed: at best partial, even within 0.35
    (st(2.50, sd=0.45, n=2, diverged=1), 1.70, "no"),   # and two sds of the seeds that trained do not rescue it
    (st(None, n=0, diverged=2), 1.70, "no"),            # every seed diverged
])
def test_cell_verdict(stats, paper, want):
    assert cell_verdict(stats, paper) == want


@pytest.mark.parametrize("stats, want", [
    (st(1.834, sd=0.041, n=3), "1.83 ± 0.04 (n=3)"),
    (st(2.27, n=1, diverged=2), "2.27 (n=1, 2 diverged)"),
    (st(None, n=0, diverged=1), "diverged (1 seed)"),
    (st(None, n=0, diverged=3), "diverged (3 seeds)"),
    (None, "—"),
])
def test_a_cell_as_text_counts_its_diverged_seeds(stats, want):
    assert ours(stats) == want


def _by_text(stats, records=()):
    return {c.text.split(" (")[0]: c for c in claims(stats, list(records))}


def test_claims_pending_without_runs():
    out = _by_text({})
    assert {c.verdict for c in out.values()} == {"pending"}


def test_claim_s1_aux_best_and_aux_beats_output():
    stats = {("exp2", T800, "s1"): st(1.66), ("exp1", T800, "s1"): st(1.90), ("baselines", T800, "bp"): st(1.75)}
    out = _by_text(stats)
    assert out["s1 with auxiliary errors is best on 2x800 tanh"].verdict == "yes"
    assert out["auxiliary errors beat the output error"].verdict == "yes"
    stats[("baselines", T800, "bp")] = st(1.20)
    out = _by_text(stats)
    assert out["s1 with auxiliary errors is best on 2x800 tanh"].verdict == "no"
    assert "ranks 2 of the 3" in out["s1 with auxiliary errors is best on 2x800 tanh"].evidence


def test_claim_s1_aux_best_is_partial_when_its_lead_is_within_the_seed_spread():
    best = "s1 with auxiliary errors is best on 2x800 tanh"
    stats = {("exp2", T800, "s1"): st(1.74, sd=0.01, n=3), ("baselines", T800, "fa"): st(1.76, sd=0.06, n=3)}
    claim = _by_text(stats)[best]  # the larger of the two sds counts, not only the leader's own
    assert claim.verdict == "partial"
    assert "ranks 1 of the 2 methods run so far, but only 0.020 ahead of fa (1.740 vs 1.760), less than one seed sd (0.06)" in claim.evidence
    stats[("baselines", T800, "fa")] = st(1.84, sd=0.03, n=3)  # a lead larger than either sd settles it
    assert _by_text(stats)[best].verdict == "yes" and "but only" not in _by_text(stats)[best].evidence


def test_claim_fa_far_worse_than_dfa_counts_families():
    stats = {("exp4", T800, f"{r}-{f}"): st(v) for f, (fa, dfa) in {"B1": (4.6, 2.2), "B2": (2.5, 2.3)}.items()
             for r, v in (("fa", fa), ("dfa", dfa))}
    claim = _by_text(stats)["FA is far worse than DFA for every family of Experiment 4"]
    assert claim.verdict == "partial" and claim.evidence.startswith("1 of 2")
    stats[("exp4", T800, "fa-B1")] = st(2.0)
    assert _by_text(stats)["FA is far worse than DFA for every family of Experiment 4"].verdict == "no"


def test_claims_on_auto_encoders():
    stats = {}
    for sizes, values in zip(ex.AE_SIZES, ({"bp": 3.7, "dfa": 6.2, "s1": 5.4, "s2": 6.5, "s3": 5.6},
                                           {"bp": 1.8, "dfa": 1.0, "s1": 0.97, "s2": 1.04, "s3": 1.02})):
        net = ex.net_label(sizes, ex.AE_ACTIVATION, "sigmoid")
        stats.update({("exp3", net, r): st(v) for r, v in values.items()})
    out = _by_text(stats)
    assert out["BP gives the best auto-encoder"].verdict == "partial"
    assert out["s2 gives the worst auto-encoder"].evidence.startswith("1 of 2")
    assert "variant" not in out["BP gives the best auto-encoder"].evidence
    net = ex.net_label(ex.AE_SIZES[-1], ex.AE_ACTIVATION, "sigmoid")
    stats.update({("exp3-300ep", net, r): st(v) for r, v in {"bp": 0.9, "dfa": 0.95, "s1": 0.8, "s2": 1.0, "s3": 0.85}.items()})
    claim = _by_text(stats)["BP gives the best auto-encoder"]
    assert claim.verdict == "partial"  # a variant is shown beside the faithful runs, never counted
    assert claim.evidence.endswith("(variant exp3-300ep: s1 0.800, s3 0.850, bp 0.900, dfa 0.950, s2 1.000)")


def test_claims_by_experiment():
    """Each claim names the experiments whose runs are its evidence: the book shows it in their chapters."""
    from fa_lab.replication.verdicts import claims_markdown

    every = claims({}, [])
    assert all(set(c.experiments) <= set(ex.EXPERIMENTS) and c.experiments for c in every)
    rows = {e: claims_markdown({}, [], e).count("\n") - 2 for e in ("exp1", "exp2", "exp3", "exp4", "baselines")}
    assert rows == {"exp1": 4, "exp2": 3, "exp3": 2, "exp4": 2, "baselines": 3}
    assert claims_markdown({}, []).count("\n") - 2 == len(every) == 7


def test_variants_are_named_runs_beside_the_faithful_ones(tmp_path):
    from fa_lab.replication import results as rs
    from fa_lab.replication.report import report

    runs = grid.configs("variants")
    assert {r.experiment for r in runs} == set(ex.VARIANTS) and len(runs) == 8 + 2 + 4 + 5 + 6 + 6
    sd = [r for r in runs if r.experiment == "exp4-sd0.1"]
    assert {r.family for r in sd} == {"B1", "B3", "B6", "B7"} and all(dict(r.feedback_params) == {"sd": 0.1} for r in sd)
    assert {r.epochs for r in runs if r.experiment == "exp3-300ep"} == {300}
    tiled = [r for r in runs if r.experiment == "exp4-b2-tiled"]
    assert {(r.rule, r.family) for r in tiled} == {("fa", "B2"), ("dfa", "B2")}
    assert all(dict(r.feedback_params) == {"tiled": True} for r in tiled)
    sparse = [r for r in runs if r.experiment == "exp4-d0.01"]
    assert {(r.rule, r.family) for r in sparse} == {(r, f) for r in ("fa", "dfa") for f in ("B4", "B6")}
    assert all(r.build().feedback["B", 1].ne(0).double().mean() < 0.03 for r in sparse if r.rule == "dfa" and r.family == "B4")
    relu = [r for r in runs if r.experiment.endswith("-relu-fb0.03")]
    assert {(r.experiment, r.sizes[1], r.rule, r.aux) for r in relu} == {
        (f"{e}-relu-fb0.03", n, rule, e == "exp2") for e in ("exp1", "exp2") for n in ex.WIDTHS for rule in ("s2", "s3")}
    assert all(r.activation == "relu" and dict(r.feedback_params) == {"hidden_scale": 0.03} for r in relu)
    assert relu[0].cell[2] == "s2" and ex.VARIANTS["exp2-relu-fb0.03"].aux  # Table 3 implies the aux errors
    assert not {r.run_id for r in runs} & {r.run_id for r in grid.configs("all")}
    assert grid.expand(["all"]) == list(ex.EXPERIMENTS)  # 'all' is the paper's grid, variants are asked for by name
    faithful = next(c for c in grid.configs("exp4") if c.rule == "dfa" and c.family == "B1")
    variant = next(c for c in sd if c.rule == "dfa" and c.family == "B1")
    long = next(c for c in runs if c.experiment == "exp3-300ep")
    relu_s3 = next(c for c in relu if c.experiment == "exp2-relu-fb0.03" and c.rule == "s3" and c.sizes[1] == 800)
    for cfg, err in ((faithful, 2.97), (variant, 2.10), (long, 0.8), (relu_s3, 1.9)):
        rs.atomic_write_json(rs.run_path(tmp_path, "full", cfg.experiment, cfg.run_id),
                             {"run_id": cfg.run_id, "config": cfg.as_dict(), "test_error": [err], "train_error": [0.0],
                              "final_test_error": err})
    current, stale = rs.current(rs.load_results(tmp_path), "full")
    assert len(current) == 4 and not stale  # 300 epochs is the variant's protocol, not a stale run
    report(tmp_path, "full", markdown_path=tmp_path / "R.md")
    md = (tmp_path / "R.md").read_text()
    assert "### Experiment 4, variant: noise" in md and "| 2x800 Tanh | dfa-B1 | 2.19 | 2.97 (n=1) | 2.10 (n=1) |" in md
    assert "| 784-800-800-784 | bp | — | — | 0.800 (n=1) |" in md
    assert "| 2x800 Relu | s3 | 2.13 | — | 1.90 (n=1) |" in md  # the faithful runs diverged (none here)
    assert "*Not yet run* (`python -m fa_lab replicate exp4-b2-tiled`)" in md  # a variant without runs says so
    rows = (tmp_path / "replication.csv").read_text()
    assert "2.1000" not in rows  # the variant never fills a paper cell


def test_deep_experiment_keeps_aux_and_output_error_apart(tmp_path):
    from fa_lab.replication import results as rs
    from fa_lab.replication.report import report

    runs = grid.configs("deep")
    assert len(runs) == 2 * (3 + 3 + 3) and {r.sizes[1:-1] for r in runs} == {(400,) * 4, (240,) * 7}
    s1 = [r for r in runs if r.rule == "s1" and r.sizes[1] == 400]
    assert len({r.cell for r in s1}) == 2 and grid.configs("exp2")[0].cell[2] == "s1"
    for cfg, err in zip(s1, (2.5, 2.1)):
        rs.atomic_write_json(rs.run_path(tmp_path, "full", "deep", cfg.run_id),
                             {"run_id": cfg.run_id, "config": cfg.as_dict(), "test_error": [err], "train_error": [0.0],
                              "final_test_error": err})
    report(tmp_path, "full", markdown_path=tmp_path / "R.md")
    md = (tmp_path / "R.md").read_text()
    assert "## Beyond the paper" in md and "| 4x400 Tanh | — | — | — | 2.50 (n=1) | — | — | 2.10 (n=1) |" in md


def test_training_error_claim_counts_the_papers_runs_only():
    from types import SimpleNamespace as NS

    def rec(experiment, train):
        cfg = NS(head="softmax", experiment=experiment, net_name="2x800 Tanh", label="dfa-B1")
        return NS(config=cfg, diverged=None, final_train_error=train)

    records = [rec("exp4", 0.0), rec("exp4-sd0.1", 5.0), rec("deep", 4.0)]
    claim = _by_text({}, records)["training error < 0.01 % after 100 epochs"]
    assert claim.verdict == "yes" and claim.evidence.startswith("1 of 1")


def test_relatives_experiment_runs_sign_kp_and_dkp_on_the_headline_net():
    runs = grid.configs("relatives", seeds=(0, 1))
    assert [(r.rule, r.aux) for r in runs[:4]] == [("sign", False), ("kp", False), ("dkp", False), ("dkp", True)]
    assert len(runs) == 8 and {r.sizes for r in runs} == {(784, 800, 800, 10)}
    assert grid.expand("beyond") == ["deep", "relatives"]


def test_relatives_table_sits_beside_the_baselines_of_the_same_net(tmp_path):
    from fa_lab.replication import results as rs
    from fa_lab.replication.report import report

    base = next(c for c in grid.configs("baselines") if c.sizes == (784, 800, 800, 10) and c.activation == "tanh"
                and c.rule == "fa")
    kp = next(c for c in grid.configs("relatives") if c.rule == "kp")
    for cfg, err in ((base, 1.9), (kp, 1.8)):
        rs.atomic_write_json(rs.run_path(tmp_path, "full", cfg.experiment, cfg.run_id),
                             {"run_id": cfg.run_id, "config": cfg.as_dict(), "test_error": [err], "train_error": [0.0],
                              "final_test_error": err})
    report(tmp_path, "full", markdown_path=tmp_path / "R.md")
    md = (tmp_path / "R.md").read_text()
    assert "## Beyond the paper: FA's relatives" in md and "Beyond the paper: Beyond" not in md
    assert "| 2x800 Tanh | — | 1.90 (n=1) | — | — | 1.80 (n=1) | — | — |" in md


def test_a_rules_weight_decay_is_part_of_its_run_id():
    from dataclasses import replace

    kp = next(c for c in grid.configs("relatives") if c.rule == "kp")
    from fa_lab.core.rules import KP_DECAY
    assert kp.weight_decay == KP_DECAY and kp.as_dict()["weight_decay"] == KP_DECAY
    assert replace(kp, weight_decay=0.1).run_id != kp.run_id  # a changed λ is a new run, never "already done"
    assert kp.build().rule.weight_decay == KP_DECAY and replace(kp, weight_decay=0.5).build().rule.weight_decay == 0.5
    paper_run = grid.configs("exp1")[0]  # no decay: the field stays out of the dict, so older ids stay valid
    assert "weight_decay" not in paper_run.as_dict() and grid.RunConfig.from_dict(paper_run.as_dict()) == paper_run


def test_the_papers_claims_are_tested_on_the_deep_nets(tmp_path):
    from fa_lab.replication import results as rs
    from fa_lab.replication.beyond import depth_claims
    from fa_lab.replication.report import report

    runs = {(c.cell[1], c.rule, c.aux): c for c in grid.configs("deep")}
    net = grid.configs("deep")[0].cell[1]
    # on one net: s1 (aux) best but for BP; aux helps s1, s2, hurts s3; worst strategy 0.5 points off DFA
    means = {("bp", False): 1.5, ("fa", False): 2.6, ("dfa", False): 2.2, ("s1", False): 2.3, ("s2", False): 2.7,
             ("s3", False): 2.4, ("s1", True): 1.9, ("s2", True): 2.0, ("s3", True): 2.5}
    stats = {runs[(net,) + k].cell: st(v) for k, v in means.items()}
    by_text = {c.text: c for c in depth_claims(stats)}
    best = by_text["s1 with auxiliary errors is the best rule (BP aside)"]
    assert best.verdict == "yes" and "(BP 1.50)" in best.evidence and best.evidence.index("s1 (aux) 1.90") < best.evidence.index("s2 (aux)")
    aux = by_text["auxiliary errors beat the output error"]
    assert aux.verdict == "partial" and aux.evidence.startswith("2 of 3:") and f"{net} s3: aux 2.50 vs 2.40" in aux.evidence
    near = by_text["the strategies are almost as good as DFA and FA (within 0.35 points)"]
    assert near.verdict == "no" and "worst strategy 2.70 vs best of FA/DFA 2.20" in near.evidence
    assert {c.verdict for c in depth_claims({})} == {"pending"}

    for (n, rule, aux), cfg in runs.items():  # the report shows them under the deep table
        if n == net and cfg.seed == 0:
            err = means[(rule, aux)]
            rs.atomic_write_json(rs.run_path(tmp_path, "full", cfg.experiment, cfg.run_id),
                                 {"run_id": cfg.run_id, "config": cfg.as_dict(), "test_error": [err],
                                  "train_error": [0.0], "final_test_error": err})
    report(tmp_path, "full", markdown_path=tmp_path / "R.md")
    md = (tmp_path / "R.md").read_text()
    assert "| claim of the paper, at depth | verdict |" in md
    assert "| auxiliary errors beat the output error | **partial** | 2 of 3:" in md


def test_claims_count_a_cell_whose_every_seed_diverged_as_the_worst():
    T200R = ex.net_label((784, 200, 200, 10), "relu")
    stats = {("exp2", T800, "s1"): st(1.70, n=2, diverged=1), ("baselines", T800, "bp"): st(1.80)}
    best = _by_text(stats)["s1 with auxiliary errors is best on 2x800 tanh"]
    assert best.verdict == "partial" and "but 1 of its seeds diverged" in best.evidence
    near = {("baselines", T200R, "fa"): st(2.2), ("baselines", T200R, "dfa"): st(2.3),
            ("exp1", T200R, "s1"): st(2.0), ("exp1", T200R, "s2"): st(2.1), ("exp1", T200R, "s3"): st(None, n=0, diverged=2)}
    claim = _by_text(near)["the strategies are almost as good as DFA and FA"]
    assert claim.verdict == "no" and "2x200 Relu: worst strategy diverged vs best of FA/DFA 2.20" in claim.evidence
    pairs = {("exp1", T200R, "s1"): st(2.0), ("exp2", T200R, "s1"): st(None, n=0, diverged=1),   # aux diverged: a loss
             ("exp1", T200R, "s3"): st(None, n=0, diverged=1), ("exp2", T200R, "s3"): st(None, n=0, diverged=1)}  # no evidence
    aux = _by_text(pairs)["auxiliary errors beat the output error"]
    assert aux.verdict == "no" and aux.evidence == "0 of 1: 2x200 Relu s1: aux diverged vs 2.00"
