"""Golden test: numbers that must not move.

Pins, bit for bit, the final weights, biases and history of a short seeded run of every preset (with and
without auxiliary errors), of the feedback families, of the auto-encoder and of a lockstep group, on the
first MNIST examples. A refactor that changes what training computes fails here.

Pin new cases with ``python tests/test_golden.py --add`` (it refuses when a pinned case moved). Regenerate
everything only when a change of numbers is intended (and say why in the commit)::

    python tests/test_golden.py --update
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest
import torch

import fa_lab

GOLDEN = Path(__file__).with_name("golden.json")
N_TRAIN, N_TEST, EPOCHS, BATCH = 320, 100, 2, 16
CLASSIFIER = [784, 24, 16, 10]
AUTOENCODER = [784, 20, 20, 784]
AUX_RULES = ("dfa", "s1", "s2", "s3")
PAPER_PRESETS = ("bp", "fa", "dfa", "s1", "s2", "s3")
BEYOND = ("sign", "kp")  # bp and fa use no direct errors, so aux does not apply


def cases():
    """name -> list of build() keyword sets trained together (one = a single model)."""
    out = {}
    for k, rule in enumerate(PAPER_PRESETS):
        act = ("tanh", "relu", "sigmoid")[k % 3]
        out[f"{rule}-{act}"] = [dict(sizes=CLASSIFIER, activation=act, rule=rule)]
        if rule in AUX_RULES:
            out[f"{rule}+aux-{act}"] = [dict(sizes=CLASSIFIER, activation=act, rule=rule, aux=True)]
    for fam in ("B1", "B2", "B3", "B4", "B5", "B6", "B7"):
        for rule in ("fa", "dfa"):
            out[f"{rule}-{fam}"] = [dict(sizes=CLASSIFIER, activation="tanh", rule=rule, family=fam)]
    for rule in ("bp", "dfa", "s1", "s2", "s3"):
        out[f"ae-{rule}"] = [dict(sizes=AUTOENCODER, activation="sigmoid", rule=rule, head="sigmoid")]
    out["lockstep"] = [dict(sizes=CLASSIFIER, activation="tanh", rule=r, aux=a)
                       for r in PAPER_PRESETS for a in ((False, True) if r in AUX_RULES else (False,))]
    for rule in BEYOND:  # beyond the paper: sign symmetry, Kolen–Pollack (learned feedback, weight decay)
        out[f"{rule}-tanh"] = [dict(sizes=CLASSIFIER, activation="tanh", rule=rule)]
    out["lockstep-beyond"] = [dict(sizes=CLASSIFIER, activation="tanh", rule=r) for r in ("fa",) + BEYOND]
    for aux in (False, True):  # direct Kolen–Pollack: learned Bⁱ, from the output error or the auxiliary ones
        out["dkp" + "+aux" * aux + "-tanh"] = [dict(sizes=CLASSIFIER, activation="tanh", rule="dkp", aux=aux)]
    return out


def _digest(t):
    return hashlib.sha256(t.detach().contiguous().cpu().numpy().tobytes()).hexdigest()[:16]


def run_case(kwargs_list, data):
    models = [fa_lab.build(seed=3, **kw) for kw in kwargs_list]
    hists = fa_lab.fit(models, data, epochs=EPOCHS, batch_size=BATCH, lr=fa_lab.LR, seed=5, progress=False)
    out = []
    for m, h in zip(models, hists):
        out.append({"W": [_digest(w) for w in m.net.W], "b": [_digest(b) for b in m.net.b],
                    "W_sum": [float(w.double().sum()) for w in m.net.W],
                    "train_error": h.train_error, "test_error": h.test_error, "train_loss": h.train_loss,
                    "final_train_error": h.final_train_error, "diverged": h.diverged})
    return out


def compute():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # results differ bitwise between thread counts
    try:
        data = fa_lab.load_mnist().subset(N_TRAIN, N_TEST)
        return {name: run_case(kws, data) for name, kws in cases().items()}
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def now():
    return compute()


@pytest.mark.parametrize("name", list(cases()))
def test_training_is_unchanged(name, now):
    want = json.loads(GOLDEN.read_text())[name]
    got = now[name]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        for key in ("train_error", "test_error", "train_loss", "final_train_error", "diverged"):
            assert g[key] == w[key], f"{name}: {key} moved: {g[key]} != {w[key]}"
        assert g["W"] == w["W"] and g["b"] == w["b"], f"{name}: final weights moved (sums {g['W_sum']} vs {w['W_sum']})"


def test_committed_results_keep_loading_under_their_ids():
    """Every committed result reads back, and its config still hashes to its run id (so it is not rerun)."""
    from fa_lab.replication.grid import RunConfig
    from fa_lab.replication.results import load_results

    root = Path(__file__).resolve().parent.parent / "results"
    warnings = []
    records = load_results(root, protocol=None, warn=warnings.append)
    assert not warnings
    for rec in records:
        assert RunConfig.from_dict(rec.config.as_dict()).run_id == rec.run_id == rec.path.stem, rec.path


def test_every_case_is_pinned():
    assert set(json.loads(GOLDEN.read_text())) == set(cases())


if __name__ == "__main__":
    if "--update" not in sys.argv and "--add" not in sys.argv:
        sys.exit("usage: python tests/test_golden.py --add      (pins new cases; refuses if a pinned one moved)\n"
                 "       python tests/test_golden.py --update   (rewrites tests/golden.json)")
    old = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
    new = compute()
    if "--add" in sys.argv:  # pin new cases only; every pinned case must still match
        moved = [k for k in old if new.get(k) != old[k]]
        if moved:
            sys.exit(f"pinned cases moved: {moved}; not writing")
    GOLDEN.write_text(json.dumps(new, indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}: {sorted(set(new) - set(old))} added")
