"""The investigation scripts under scripts/ (REPLICATION.md cites their output): the pieces they share."""

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from relu_feedback_scale import scale_hidden_feedback, scaled  # noqa: E402

import fa_lab  # noqa: E402


def test_only_the_feedback_between_hidden_layers_is_scaled():
    before = fa_lab.build([20, 8, 6, 5, 3], "relu", "s3", aux=True).feedback
    after = scale_hidden_feedback(fa_lab.build([20, 8, 6, 5, 3], "relu", "s3", aux=True), 0.5).feedback
    assert set(before) == set(after) and any(k == "B_bar" for k, _ in after)
    for (kind, i), b in after.items():
        between = kind == "B_bar" or (kind == "B_tilde" and i < 3)
        assert torch.equal(b, before[kind, i] * (0.5 if between else 1.0)), (kind, i)


def test_scaled_builds_the_papers_relu_s3_with_auxiliary_errors():
    m = scaled(200, 0.0)
    assert list(m.net.sizes) == [784, 200, 200, 10] and m.rule.aux and m.name == "relu s3 (aux) x0"
    assert float(m.feedback["B_bar", 2].abs().sum()) == 0 and float(m.feedback["B", 2].abs().sum()) > 0
