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
