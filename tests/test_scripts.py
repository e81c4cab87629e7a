"""The investigation scripts under scripts/ (REPLICATION.md cites their output): what they build."""

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from relu_feedback_scale import scaled  # noqa: E402

import fa_lab  # noqa: E402


def test_relu_feedback_scale_builds_the_papers_relu_net_with_the_hidden_feedback_scaled():
    m, plain = scaled(200, 0.03), fa_lab.build([784, 200, 200, 10], "relu", "s3", aux=True)
    assert list(m.net.sizes) == [784, 200, 200, 10] and m.rule.aux and m.name == "relu s3 (aux) x0.03"
    assert torch.equal(m.feedback["B_bar", 2], plain.feedback["B_bar", 2] * 0.03)
    assert torch.equal(m.feedback["B", 2], plain.feedback["B", 2])  # the auxiliary readout is not scaled
