"""Deviations (fa_lab.replication.deviations): every off cell gets a cause or 'unexplained', never silence."""

import pytest

from fa_lab.replication import deviations as dv
from fa_lab.replication import paper
from fa_lab.replication.results import Stats
from fa_lab.replication.verdicts import TOLERANCE


def _stats(mean, train=0.0, sd=None, diverged=()):
    return Stats(mean, sd, 0 if mean is None else 1, train, list(diverged), [0], [])


def _cell(experiment, net, method):
    return next(c for c in paper.cells() if c.key == (experiment, net, method))


@pytest.mark.parametrize("cause", dv.CAUSES, ids=lambda c: c.key)
def test_every_cause_names_real_cells_of_the_paper(cause):
    keys = {c.key for c in paper.cells()}
    assert cause.cells <= keys, sorted(cause.cells - keys)
    assert cause.status in ("explained", "partly explained", "open") and cause.text and cause.title
    assert cause.cells or cause.when is not None


def test_keys_are_unique():
    assert len({c.key for c in dv.CAUSES}) == len(dv.CAUSES)


def test_a_cell_within_tolerance_needs_no_cause():
    cell = _cell("exp4", dv.TANH_800, "dfa-B2")
    assert dv.cause_of(cell, _stats(cell.test_error + TOLERANCE / 2)) == ""
    assert dv.cause_of(cell, None) == ""


def test_an_off_cell_gets_its_cause_and_a_diverged_one_too():
    cell = _cell("exp4", dv.TANH_800, "dfa-B2")
    assert dv.cause_of(cell, _stats(cell.test_error + 2)) == "b2-ten-units"
    relu_s3 = _cell("exp2", dv.RELU_800, "s3")
    assert dv.cause_of(relu_s3, _stats(None, None, diverged=["x"])) == "relu-below"


def test_an_off_cell_no_cause_covers_is_unexplained_unless_it_did_not_converge():
    cell = _cell("exp1", dv.TANH_800, "s1")
    assert dv.cause_of(cell, _stats(cell.test_error + 1, train=0.0)) == dv.UNEXPLAINED
    assert dv.cause_of(cell, _stats(cell.test_error + 1, train=1.0)) == "not-converged"


def test_markdown_groups_off_cells_under_their_cause():
    b2 = _cell("exp4", dv.TANH_800, "dfa-B2")
    s1 = _cell("exp1", dv.TANH_800, "s1")
    text = dv.markdown({b2.key: _stats(4.15, 2.7), s1.key: _stats(s1.test_error + 1)})
    assert text.index("### B2") < text.index("dfa-B2: paper 2.32, ours 4.15") < text.index("### Unexplained")
    assert "2x800 Tanh s1: paper" in text.split("### Unexplained")[1]
    assert dv.markdown({s1.key: _stats(s1.test_error)}) == ""


def test_markdown_for_one_experiment_and_the_book_views(tmp_path):
    b2 = _cell("exp4", dv.TANH_800, "dfa-B2")
    stats = {b2.key: _stats(4.15, 2.7)}
    assert "dfa-B2" in dv.markdown(stats, "exp4") and dv.markdown(stats, "exp1") == ""
    assert dv.markdown(stats, "exp4", level=4).startswith("#### Deviations") and "\n##### B2" in dv.markdown(stats, level=4)
    pytest.importorskip("IPython")
    from fa_lab import FaLabError
    from fa_lab.teaching import book

    assert "Not yet run</em> (<code>python -m fa_lab replicate exp4-b2-tiled</code>)" in book.variant_table("exp4-b2-tiled", results_dir=tmp_path).data
    assert "No cell of this experiment" in book.deviations("exp4", results_dir=tmp_path).data
    with pytest.raises(FaLabError, match="unknown variant 'exp9'; valid choices: exp4-sd0.1"):
        book.variant_table("exp9")


def test_fa_in_experiment_4_is_measured_against_the_papers_numbers_epoch_by_epoch():
    from types import SimpleNamespace

    def runs(fam, *curves):
        p = paper.number("exp4", dv.TANH_800, f"fa-{fam}")
        recs = [SimpleNamespace(test_error=[p + d for d in c]) for c in curves]
        return Stats(p + curves[0][-1], None, len(recs), 0.0, [], list(range(len(recs))), recs)

    stats = {("exp4", dv.TANH_800, "fa-B1"): runs("B1", [2, 1, -0.5, -1], [0.5, -0.1, -1, -2]),
             ("exp4", dv.TANH_800, "fa-B4"): runs("B4", [3, 2, 1, 0.5]),
             ("exp4", dv.TANH_800, "fa-B6"): runs("B6", [1, 0.5, 0.2, -0.2])}
    text = dv.evidence("exp4-fa-better", stats)
    assert "epoch B1 3, 2; B4 never; B6 4 (one number per seed)" in text
    assert "so a shorter run could explain the paper's FA" in text  # epochs 2 to 4: one shorter run would do
    assert "paper's FA orders the families B6, B1, B4; ours B1, B6, B4" in text
    assert "agree on the order of B6, B4 (all but B1)" in text
    stats[("exp4", dv.TANH_800, "fa-B6")] = runs("B6", [-0.1, -0.5, -0.6, -0.9])  # epoch 1 against 2 and 3
    assert "so no single shorter run explains the paper's FA" in dv.evidence("exp4-fa-better", stats)
    assert dv.evidence("exp4-fa-better", {}) == ""
    md = dv.markdown(stats)  # the report prints the measurement under the cause's text
    assert "### Our FA beats the paper's FA in Experiment 4 (open)" in md and dv.evidence("exp4-fa-better", stats) in md


def test_runs_not_converged_are_measured_still_learning():
    from types import SimpleNamespace

    cell = _cell("exp1", "2x200 Sigm", "s3")
    falling = SimpleNamespace(train_error=[3.0 - 0.01 * e for e in range(100)], test_error=[4.0 - 0.02 * e for e in range(100)])
    stats = {cell.key: Stats(cell.test_error + 0.5, None, 1, 2.0, [], [0], [falling])}
    assert dv.cause_of(cell, stats[cell.key]) == "not-converged"
    text = dv.evidence("not-converged", stats)
    assert "their 1 run: from epoch 90 to 100 the training error still fell by 0.10 to 0.10 points" in text
    assert "from epoch 50 to 100 the test error by 1.00 to 1.00: none has levelled off" in text
    falling.train_error = [1.0] * 100  # flat: no claim that it still learns
    assert "none has levelled off" not in dv.evidence("not-converged", stats) and dv.evidence("not-converged", {}) == ""
    assert dv.evidence("not-converged", stats) in dv.markdown(stats)


def test_a_converged_cell_below_the_paper_is_measured_against_the_width_trend():
    narrow, wide = _cell("exp1", "2x200 Relu", "s1"), _cell("exp1", dv.RELU_800, "s1")
    stats = {narrow.key: Stats(narrow.test_error - 0.5, 0.1, 2, 0.0, [], [0, 1], []),
             wide.key: Stats(wide.test_error + 0.2, None, 1, 0.0, [], [0], [])}
    assert dv.cause_of(narrow, stats[narrow.key]) == "paper-worse-narrow"
    assert dv.cause_of(narrow, _stats(narrow.test_error - 0.5, train=1.0)) == "not-converged"  # first cause wins
    assert dv.cause_of(narrow, _stats(narrow.test_error + 0.5)) == dv.UNEXPLAINED  # worse than the paper: not this cause
    text = dv.evidence("paper-worse-narrow", stats)
    paper_fall = narrow.test_error - wide.test_error
    assert f"Table 2 2x200 Relu s1: paper {paper_fall:+.2f}, ours {paper_fall - 0.7:+.2f}" in text
    assert "Over all 1 narrower cells" in text and "the paper's 0.70 more" in text and "enough to explain it" in text
    assert "1 of the 1 cells has more than one seed (sd 0.10); the smallest gap, 0.50 points, is 5 times" in text
    stats[wide.key] = Stats(wide.test_error - 0.3, None, 1, 0.0, [], [0], [])  # ours falls more than the paper's
    assert "so the hypothesis explains at most part of it" in dv.evidence("paper-worse-narrow", stats)
    assert dv.evidence("paper-worse-narrow", stats) in dv.markdown(stats) and dv.evidence("paper-worse-narrow", {}) == ""


def test_relu_cells_are_measured_against_their_variant_with_scaled_feedback():
    s3 = _cell("exp2", dv.RELU_800, "s3")
    variant = ("exp2-relu-fb0.03", dv.RELU_800, "s3")
    stats = {s3.key: _stats(None, None, diverged=["x"]), variant: Stats(s3.test_error - 0.2, 0.05, 2, 0.0, [], [0, 1], [])}
    assert dv.ev.RELU_SCALED == {"exp1": "exp1-relu-fb0.03", "exp2": "exp2-relu-fb0.03"}
    text = dv.evidence("relu-below", stats)
    assert f"Table 3 2x800 Relu s3 {s3.test_error - 0.2:.2f} ± 0.05 (paper {s3.test_error:.2f})" in text
    assert "1 of 1 reproduce the paper (verdict yes)" in text and text in dv.markdown(stats)
    assert dv.evidence("relu-below", {s3.key: stats[s3.key]}) == ""  # no variant runs yet: nothing to say


def test_relu_variant_runs_that_still_diverge_are_reported():
    s3 = _cell("exp2", dv.RELU_800, "s3")
    stats = {s3.key: _stats(None, None, diverged=["x"]), ("exp2-relu-fb0.03", dv.RELU_800, "s3"): _stats(None, None, diverged=["y"])}
    assert dv.evidence("relu-below", stats).endswith(": 1 run still diverged.")
    stats[("exp2-relu-fb0.03", dv.RELU_800, "s3")] = _stats(s3.test_error - 1.0, diverged=["y"])  # off for diverging
    assert "1 run still diverged" in dv.evidence("relu-below", stats) and "below it" not in dv.evidence("relu-below", stats)
    stats[("exp2-relu-fb0.03", dv.RELU_800, "s3")] = _stats(s3.test_error - 1.0)
    assert "every run trains" in dv.evidence("relu-below", stats) and "1 ends below it, by 1.00 points." in dv.evidence("relu-below", stats)


def test_the_faithful_relu_runs_that_diverged_are_listed_with_seed_and_epoch():
    from types import SimpleNamespace as NS

    s3 = _cell("exp1", dv.RELU_800, "s3")
    runs = [NS(diverged="", config=NS(seed=0), test_error=[2.0] * 100),
            NS(diverged="training diverged", config=NS(seed=2), test_error=[2.0] * 66)]  # stopped in epoch 67
    stats = {s3.key: Stats(2.9, None, 1, 1.6, ["b"], [0], runs)}
    text = dv.evidence("relu-below", stats)
    assert text == "Measured on the faithful runs: 1 of their 2 diverged (Table 2 2x800 Relu s3: seed 2 in epoch 67)."
    runs[1].diverged = ""
    assert dv.evidence("relu-below", stats) == ""


def test_the_300_epoch_auto_encoders_are_measured_from_their_curves():
    from types import SimpleNamespace as NS

    from fa_lab.replication import evidence as ev
    from fa_lab.replication import experiments as ex

    net = ex.net_label(ex.AE_SIZES[-1], ex.AE_ACTIVATION, "sigmoid")
    run = lambda curve: NS(diverged="", config=NS(seed=0), test_error=curve)  # noqa: E731
    bp = [2.0 - 0.003 * e for e in range(300)]   # 1.703 at epoch 100, 1.103 at 300
    dfa = [1.2 - 0.001 * e for e in range(300)]  # 1.101 at epoch 100, 0.901 at 300
    stats = {("exp3-300ep", net, r): Stats(c[-1], None, 1, None, [], [0], [run(c)]) for r, c in (("bp", bp), ("dfa", dfa))}
    text = ev.FINDINGS["exp3-300ep"](stats)
    assert "BP is at 1.703 after epoch 100, 1.403 after 200 and 1.103 after 300, near DFA's 1.101 after 100" in text
    assert "ends at 0.901, so BP still ends behind it: 1.2 times DFA's error after 300 epochs, against 1.5" in text
    assert "BP still falls by 0.15, DFA by 0.05" in text and text.endswith("(s1, s2, s3 are still to run.)")
    stats[("exp3-300ep", net, "bp")].records[0].test_error = [c - 0.5 for c in bp]  # BP overtakes DFA
    assert "BP ends below DFA (0.901)" in ev.FINDINGS["exp3-300ep"](stats)
    stats[("exp3-300ep", net, "bp")].records[0].test_error = bp[:200]  # not yet 300 epochs: nothing to say
    assert ev.FINDINGS["exp3-300ep"](stats) == ""
