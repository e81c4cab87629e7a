"""The report trusts no result file: each record is validated against the schema (results.Record), bad files
are named and left out, and a report that cannot be written says so in one line (issue 13, items 2, 5, 6)."""

import json
import math

import pytest

from fa_lab.core.errors import FaLabError
from fa_lab.replication import grid
from fa_lab.replication import results as rs
from fa_lab.replication.report import report

CFG = next(c for c in grid.configs("exp1") if c.rule == "s1" and c.sizes[1] == 200 and c.activation == "tanh")


def _record(**changes):
    rec = {"run_id": CFG.run_id, "config": CFG.as_dict(), "model": CFG.net_name, "method": CFG.method,
           "test_error": [3.0, 2.5], "train_error": [1.0, 0.5], "final_test_error": 2.5, "final_train_error": 0.1}
    rec.update(changes)
    return rec


def _write(root, rec, experiment="exp1", name=None):
    path = root / "full" / experiment / f"{name or CFG.run_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rec, allow_nan=True))
    return path


def _seed_missing():
    rec = _record()
    del rec["config"]["seed"]
    return rec


@pytest.mark.parametrize("rec, message", [
    (_record(final_test_error=math.nan), "final_test_error is not a finite number: nan"),
    (_record(final_test_error=True), "final_test_error is not a finite number: True"),
    (_record(test_error=[3.0, "x"]), "test_error entry is not a finite number"),
    (_seed_missing(), "config is not a run config"),
    (_record(run_id="exp1-other"), "run_id 'exp1-other' does not match its config"),
    (_record(final_test_error=None), "final_test_error is missing but the run did not diverge"),
])
def test_bad_records_are_named_and_left_out(tmp_path, rec, message):
    path = _write(tmp_path, rec)
    warnings = []
    assert rs.load_results(tmp_path, warn=warnings.append) == []
    assert len(warnings) == 1 and str(path) in warnings[0] and message in warnings[0], warnings


def test_a_record_without_model_or_method_still_loads(tmp_path):
    rec = _record()
    del rec["model"], rec["method"]
    _write(tmp_path, rec)
    (r,) = rs.load_results(tmp_path)
    assert r.config.net_name == "2x200 Tanh" and r.final_test_error == 2.5


def test_a_record_copied_into_another_experiment_is_not_counted_twice(tmp_path):
    _write(tmp_path, _record())
    copy = _write(tmp_path, _record(), experiment="exp2")
    warnings = []
    assert len(rs.load_results(tmp_path, warn=warnings.append)) == 1
    assert any(str(copy) in w and "a full/exp1 run stored in full/exp2" in w for w in warnings)


def test_report_on_a_missing_results_folder_writes_nothing(tmp_path):
    with pytest.raises(FaLabError, match="no full-protocol runs in"):
        report(tmp_path / "typo", "full", markdown_path=tmp_path / "R.md")
    assert not (tmp_path / "typo").exists() and not (tmp_path / "R.md").exists()


def test_report_that_cannot_be_written_is_one_line(tmp_path, monkeypatch):
    _write(tmp_path, _record())

    def denied(path, data):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(rs, "atomic_write_bytes", denied)
    with pytest.raises(FaLabError, match=r"cannot write the report: Permission denied .* must be writable"):
        report(tmp_path, "full", markdown_path=tmp_path / "R.md")
