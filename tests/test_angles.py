"""Alignment tables (fa_lab.replication.angles): per cell, the mean over seeds at the chosen epochs."""

from types import SimpleNamespace

from fa_lab.replication import angles


def _record(seed, angle, feedback, epochs=101, head="softmax", diverged=None, method="fa"):
    rows = [[{"angle": angle + e, "feedback_angle": feedback}, {"angle": 2 * angle, "feedback_angle": None}]
            for e in range(epochs)]
    config = SimpleNamespace(head=head, cell=("baselines", "2x10 Tanh", method), sizes=(4, 10, 10, 3), seed=seed)
    return SimpleNamespace(alignment=rows, config=config, diverged=diverged)


def test_rows_average_seeds_at_the_chosen_epochs():
    data = angles.rows([_record(0, 40.0, 80.0), _record(1, 50.0, 70.0)])
    row = data["baselines", "2x10 Tanh", "fa"]
    assert row["n"] == 2
    assert row["angle", 0, 1] == 46.0 and row["angle", 0, 100] == 145.0 and row["angle", 1, 10] == 90.0
    assert row["feedback_angle", 0, 10] == 75.0 and row["feedback_angle", 1, 10] is None


def test_short_diverged_and_autoencoder_runs():
    short = angles.rows([_record(0, 40.0, 80.0, epochs=5)])["baselines", "2x10 Tanh", "fa"]
    assert short["angle", 0, 1] == 41.0 and short["angle", 0, 10] is None
    assert angles.rows([_record(0, 1, 1, head="sigmoid"), _record(0, 1, 1, diverged="x"), _record(0, 1, 1)][:2]) == {}
    assert angles.markdown([]) == ""


def test_table_marks_missing_values():
    text = angles.table([_record(0, 40.0, 80.0, epochs=5)])
    assert "| baselines | 2x10 Tanh | fa | 1 | 41° / — / — | 80° / — / — | 80° / — / — | — / — / — |" in text


def test_one_table_per_depth():
    deep = _record(0, 10.0, 20.0, epochs=2)
    deep.alignment = [[{"angle": 10.0, "feedback_angle": 20.0}] * 4 for _ in range(2)]
    deep.config = SimpleNamespace(head="softmax", cell=("deep", "4x10 Tanh", "fa"), sizes=(4, 10, 10, 10, 10, 3), seed=0)
    tables = angles.table([_record(0, 40.0, 80.0, epochs=5), deep]).split("\n\n")
    assert len(tables) == 2 and "∠(δW3, BP)" not in tables[0] and "4x10" not in tables[0]
    assert tables[1].count("∠(δW") == 4 and "| deep | 4x10 Tanh | fa | 1 | 10° / — / — |" in tables[1]


def test_alignment_figures_draw_every_measure():
    import matplotlib

    matplotlib.use("Agg")
    from fa_lab.core.alignment import MEASURES
    from fa_lab.teaching import plots

    def rec(rule, seed):
        rows = [[{"angle": 40.0 + e, "feedback_angle": None if rule == "bp" else 80.0, "norm_ratio": 2.0,
                  "feedback_norm": None if rule == "bp" or seed else 3.0 + e,  # seed 1: recorded before the measure
                  "example_angle_mean": 45.0, "example_angle_sd": 5.0 + seed}] * 2 + [{"angle": 0.0}]
                for e in range(4)]
        cfg = SimpleNamespace(rule=rule, aux=False, family="uniform", label=rule)
        return SimpleNamespace(alignment=rows, config=cfg)

    records = [rec("bp", 0), rec("fa", 0), rec("fa", 1)]
    for measure in MEASURES:
        axes = plots.alignment_curves(records, measure=measure).axes
        assert len(axes) == 2  # the hidden layers, not the output layer
        assert (axes[0].get_yscale() == "log") == (measure in ("norm_ratio", "feedback_norm"))
        assert bool(axes[0].collections) == (measure == "example_angle")  # the ± sd band over examples
    fa_feedback = plots.alignment_curves(records, measure="feedback_angle").axes[0].lines
    assert [x.get_label() for x in fa_feedback if not x.get_label().startswith("_")] == ["fa"]  # bp: no feedback, no line
    assert list(fa_feedback[0].get_ydata()) == [80.0] * 4
    norms = plots.alignment_curves(records, measure="feedback_norm").axes[0].lines
    assert list(norms[0].get_ydata()) == [3.0, 4.0, 5.0, 6.0]  # the seed that lacks the measure is left out
    empty = plots.alignment_curves(records[:1], measure="feedback_norm").axes[0]
    assert "no run recorded feedback_norm" in empty.texts[0].get_text() and not empty.axison


def test_alignment_figure_names_the_valid_measures():
    import pytest

    from fa_lab.core.errors import FaLabError
    from fa_lab.teaching import book

    with pytest.raises(FaLabError, match="unknown measure 'angles'; valid choices: angle, feedback_angle"):
        book.alignment_figure("angles")


def test_book_alignment_table_keeps_the_chosen_nets_and_experiments(monkeypatch):
    import pytest

    from fa_lab.core.errors import FaLabError
    from fa_lab.teaching import book

    def rec(experiment, net, method):
        r = _record(0, 40.0, 80.0, epochs=5, method=method)
        r.config.cell, r.config.experiment, r.config.net_name = (experiment, net, method), experiment, net
        return r

    records = [rec("baselines", "2x10 Tanh", "fa"), rec("exp4", "2x10 Tanh", "fa-B1"), rec("baselines", "2x20 Tanh", "dfa")]
    monkeypatch.setattr(book, "load_records", lambda *a, **k: records)
    html = book.alignment_table(nets=["2x10 Tanh"], experiments=["baselines"]).data
    assert "| fa |" not in html and ">fa<" in html and "fa-B1" not in html and "2x20" not in html
    assert "fa-B1" in book.alignment_table(nets=["2x10 Tanh"]).data
    with pytest.raises(FaLabError, match="unknown net '2x10 tanh'; valid choices: 2x10 Tanh, 2x20 Tanh"):
        book.alignment_table(nets=["2x10 tanh"])
    with pytest.raises(FaLabError, match="unknown experiment 'exp9'; valid choices: baselines, exp4"):
        book.alignment_table(experiments=["exp9"])
