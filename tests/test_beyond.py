"""Beyond the paper (issue 14): sign symmetry and Kolen–Pollack on the same engine, checked against their
equations typed out by hand."""

import math

import pytest
import torch

import fa_lab
from fa_lab import Rule


def _angle(a, b):
    return math.degrees(math.acos(float((a * b).sum() / (a.norm() * b.norm()))))


def test_sign_symmetry_equals_its_equations(tiny):
    x, y = tiny([6, 5, 4, 3], 9)
    m = fa_lab.build([6, 5, 4, 3], "tanh", "sign", dtype="float64", seed=2)
    W = [m.weight(i) for i in (1, 2, 3)]
    h1 = torch.tanh(x @ W[0].T + m.bias(1))
    h2 = torch.tanh(h1 @ W[1].T + m.bias(2))
    e = torch.softmax(h2 @ W[2].T + m.bias(3), -1) - torch.nn.functional.one_hot(y, 3)
    d2 = (e @ torch.sign(W[2])) * (1 - h2 ** 2)        # δa² = sign(W³)ᵀ e ⊙ f′(a²)
    d1 = (d2 @ torch.sign(W[1])) * (1 - h1 ** 2)       # δa¹ = sign(W²)ᵀ δa² ⊙ f′(a¹)
    want = [d1.T @ x, d2.T @ h1, e.T @ h2]
    for (got, _), w in zip(m.updates(x, y), want):
        assert torch.allclose(got, w, atol=1e-12)
    assert dict(m.rule.describe())["δa¹"] == "sign(W²)ᵀδa² ⊙ f′(a¹)"


@pytest.mark.parametrize("k", [1, 3])  # one model, and a lockstep stack of three
def test_kolen_pollack_step_equals_its_equations(tiny, k):
    """One SGD step on one batch: W ← (1 − lr·λ)W − lr·δW and B̃ⁱ ← (1 − lr·λ)B̃ⁱ − lr·(δWⁱ⁺¹)ᵀ."""
    from fa_lab.core.data import MNIST

    x, y = tiny([6, 5, 4, 3], 8)
    lr, lam = 0.05, 0.5
    rule = Rule("kp", (("above:KP",),) * 2, weight_decay=lam)
    models = [fa_lab.build([6, 5, 4, 3], "tanh", rule, dtype="float64", seed=s) for s in range(k)]
    before = [([w.clone() for w in m.net.W], [m.feedback_matrix("B_tilde", i).clone() for i in (1, 2)],
               m.updates(x, y), m.net.forward(x)) for m in models]
    fa_lab.fit(models, MNIST(x, y, x, y), epochs=1, batch_size=8, lr=lr, progress=False, final_train_error=False,
               seed=0)
    for m, (W0, B0, upd, fw) in zip(models, before):
        for i in range(3):
            assert torch.allclose(m.net.W[i], (1 - lr * lam) * W0[i] - lr * upd[i][0], atol=1e-12)
        for i in (1, 2):  # B̃ⁱ learns like (Wⁱ⁺¹)ᵀ: the same update, transposed
            want = (1 - lr * lam) * B0[i - 1] - lr * upd[i][0].T
            assert torch.allclose(m.feedback_matrix("B_tilde", i), want, atol=1e-12)


def test_kolen_pollack_aligns_its_feedback_with_the_forward_weights():
    """On a small problem KP's B̃ⁱ turns towards (Wⁱ⁺¹)ᵀ (below 10°) while FA's stays far from it."""
    torch.set_num_threads(1)
    d = fa_lab.load_mnist().subset(2000, 500)
    kp = Rule("kp", (("above:KP",),) * 2, weight_decay=2.0)
    models = [fa_lab.build([784, 50, 50, 10], "tanh", r, seed=0) for r in ("fa", kp)]
    fa_lab.fit(models, d, epochs=4, lr=0.005, progress=False)
    fa_angles, kp_angles = ([_angle(m.feedback_matrix("B_tilde", i), m.weight(i + 1).T) for i in (1, 2)]
                            for m in models)
    assert max(kp_angles) < 10 and min(fa_angles) > 45, (kp_angles, fa_angles)


@pytest.mark.parametrize("aux", [False, True])
@pytest.mark.parametrize("k", [1, 3])  # one model, and a lockstep stack of three
def test_direct_kolen_pollack_step_equals_its_equations(tiny, k, aux):
    """One SGD step: W ← (1 − lr·λ)W − lr·δW (δaⁱ = Bⁱeⁱ ⊙ f′, DFA) and Bⁱ ← (1 − lr·λ)Bⁱ − lr·(hⁱ)ᵀeⁱ, with eⁱ the
    output error e, or the auxiliary error softmax(hⁱBⁱ) − y, computed with the Bⁱ before the step."""
    from fa_lab.core.data import MNIST

    x, y = tiny([6, 5, 4, 3], 8)
    lr, lam = 0.05, 0.5
    rule = Rule("dkp", (("direct:KP",),) * 2, weight_decay=lam)
    models = [fa_lab.build([6, 5, 4, 3], "tanh", rule, aux=aux, dtype="float64", seed=s) for s in range(k)]
    t = torch.nn.functional.one_hot(y, 3).double()
    before = []
    for m in models:
        W, b, B = [w.clone() for w in m.net.W], [c.clone() for c in m.net.b], [m.feedback_matrix("B", i).clone() for i in (1, 2)]
        h1 = torch.tanh(x @ W[0].T + b[0])
        h2 = torch.tanh(h1 @ W[1].T + b[1])
        e = torch.softmax(h2 @ W[2].T + b[2], -1) - t
        errs = [torch.softmax(h @ Bi, -1) - t if aux else e for h, Bi in zip((h1, h2), B)]
        d = [(errs[0] @ B[0].T) * (1 - h1 ** 2), (errs[1] @ B[1].T) * (1 - h2 ** 2)]
        before.append((W, B, [d[0].T @ x, d[1].T @ h1, e.T @ h2], [h1.T @ errs[0], h2.T @ errs[1]]))
    fa_lab.fit(models, MNIST(x, y, x, y), epochs=1, batch_size=8, lr=lr, progress=False, final_train_error=False,
               seed=0)
    for m, (W0, B0, dW, dB) in zip(models, before):
        for i in range(3):
            assert torch.allclose(m.net.W[i], (1 - lr * lam) * W0[i] - lr * dW[i], atol=1e-12)
        for i in (1, 2):
            assert torch.allclose(m.feedback_matrix("B", i), (1 - lr * lam) * B0[i - 1] - lr * dB[i - 1], atol=1e-12)


def test_direct_kolen_pollack_is_kolen_pollack_at_the_top_layer():
    """With the output error, the top hidden layer's Bˡ gets (Wˡ⁺¹)ᵀ's update: Bˡ turns towards (Wˡ⁺¹)ᵀ (below
    10°) as KP's B̃ˡ does, while DFA's fixed Bˡ stays far from it."""
    torch.set_num_threads(1)
    d = fa_lab.load_mnist().subset(2000, 500)
    dkp = Rule("dkp", (("direct:KP",),) * 2, weight_decay=2.0)
    models = [fa_lab.build([784, 50, 50, 10], "tanh", r, seed=0) for r in ("dfa", dkp)]
    fa_lab.fit(models, d, epochs=4, lr=0.005, progress=False)
    dfa_angle, dkp_angle = (_angle(m.feedback_matrix("B", 2), m.weight(3).T) for m in models)
    assert dkp_angle < 10 and dfa_angle > 45, (dkp_angle, dfa_angle)
    assert fa_lab.get_rule("dkp", 2).learned == (("B", 1), ("B", 2))
    assert dict(fa_lab.get_rule("dkp", 2, aux=True).describe())["δa¹"] == "B¹e¹ (B¹ learned) ⊙ f′(a¹)"


def test_term_spellings_round_trip():
    for name, term in fa_lab.core.rules.TERMS.items():
        assert str(term) == name and fa_lab.Term.parse(name) == term
    assert fa_lab.get_rule("kp", 3).learned == (("B_tilde", 1), ("B_tilde", 2), ("B_tilde", 3)) and fa_lab.get_rule("sign", 2).learned == ()
    assert fa_lab.build([6, 5, 4, 3], rule="sign").feedback == {}  # sign symmetry needs no feedback matrix


def test_alignment_diagnostics_per_layer(tiny):
    x, y = tiny([6, 5, 4, 3], 20)
    bp_rows = fa_lab.build([6, 5, 4, 3], "tanh", "bp", dtype="float64").alignment(x, y)
    assert all(r["angle"] < 1e-5 and abs(r["norm_ratio"] - 1) < 1e-9 and r["example_angle_mean"] < 1e-5
               for r in bp_rows)
    assert [r["feedback_angle"] for r in bp_rows] == [None] * 3
    dfa = fa_lab.build([6, 5, 4, 3], "tanh", "dfa", dtype="float64")
    rows = dfa.alignment(x, y)
    W = dfa.net.W
    assert abs(rows[0]["feedback_angle"] - _angle(dfa.feedback_matrix("B", 1), W[1].T @ W[2].T)) < 1e-9
    assert abs(rows[1]["feedback_angle"] - _angle(dfa.feedback_matrix("B", 2), W[2].T)) < 1e-9
    assert rows[2]["feedback_angle"] is None and rows[0]["example_angle_sd"] > 0
    sign_rows = fa_lab.build([6, 5, 4, 3], "tanh", "sign", dtype="float64").alignment(x, y)
    assert 0 < sign_rows[0]["feedback_angle"] < 90
    # the feedback matrix's own size: ‖Bⁱ‖, ‖B̃ⁱ‖, ‖sign(Wⁱ⁺¹)‖ (√ of its nonzero entries); none for BP or the output
    assert [r["feedback_norm"] for r in bp_rows] == [None] * 3 and rows[2]["feedback_norm"] is None
    assert rows[0]["feedback_norm"] == float(dfa.feedback_matrix("B", 1).norm())
    kp = fa_lab.build([6, 5, 4, 3], "tanh", "kp", dtype="float64")
    assert kp.alignment(x, y)[1]["feedback_norm"] == float(kp.feedback_matrix("B_tilde", 2).norm())
    assert abs(sign_rows[0]["feedback_norm"] - 20 ** 0.5) < 1e-12  # W² is 4×5


def test_alignment_probe_records_every_epoch():
    from fa_lab.core.alignment import AlignmentProbe

    d = fa_lab.load_mnist().subset(320, 100)
    models = [fa_lab.build([784, 20, 20, 10], "tanh", r) for r in ("fa", "kp")]
    hs = fa_lab.fit(models, d, epochs=2, progress=False, callbacks=AlignmentProbe(models, d, n=64))
    for h in hs:
        assert len(h.alignment) == 3 and len(h.alignment[0]) == 3  # epochs 0, 1, 2 × weight layers
        assert h.alignment[0][0]["angle"] > 0


def test_strategies_generalise_to_any_depth_and_reduce_to_table1():
    R = fa_lab.core.rules
    assert R.s1(2) == Rule("s1", (("direct", "above"), ("direct",)))   # Table 1
    assert R.s2(2) == Rule("s2", (("direct",), ("direct", "below")))
    assert R.s3(2) == Rule("s3", (("direct", "above~"), ("direct", "below~")))
    assert R.s1(4).order == (3, 2, 1, 0) and R.s2(4).order == (0, 1, 2, 3)
    assert [len(ts) for ts in R.s3(4).layers] == [2, 3, 3, 2]
    assert all(f(1) == Rule(f(1).name, (("direct",),)) for f in (R.s1, R.s2, R.s3))  # one hidden layer: DFA


def test_s3_middle_layer_of_a_deep_net_equals_its_equation(tiny):
    x, y = tiny([6, 5, 5, 5, 3], 9)
    m = fa_lab.build([6, 5, 5, 5, 3], "tanh", "s3", dtype="float64", seed=1)
    fw = m.net.forward(x)
    e = torch.softmax(fw.a[-1], -1) - torch.nn.functional.one_hot(y, 3)
    fp = [1 - h ** 2 for h in fw.h[1:]]
    tilde = [(e @ m.feedback_matrix("B", i).T) * fp[i - 1] for i in (1, 2, 3)]  # δãⁱ = Bⁱe ⊙ f′(aⁱ)
    want = (e @ m.feedback_matrix("B", 2).T + tilde[2] @ m.feedback_matrix("B_tilde", 2).T
            + tilde[0] @ m.feedback_matrix("B_bar", 2).T) / 3 * fp[1]
    assert torch.allclose(m.deltas(x, y)[1], want, atol=1e-12)


def test_sign_delta_checker_accepts_the_rule_and_names_slips():
    from fa_lab.teaching.beyond_exercises import check_sign_delta

    assert check_sign_delta(lambda W, d, f: (torch.sign(W).T @ d) * f)
    bp_answer = check_sign_delta(lambda W, d, f: (W.T @ d) * f)
    assert not bp_answer and "that is back-propagation" in bp_answer.message
    assert not check_sign_delta(lambda W, d, f: torch.sign(W.T @ d) * f)


def test_panel_offers_the_new_rules():
    pytest.importorskip("ipywidgets")
    from fa_lab.teaching.panel import Panel

    p = Panel("exp1", rules=("fa", "sign", "kp"))
    assert {"sign", "kp"} <= set(p.rules.options) and p.rules.value == ("fa", "sign", "kp")


def test_dkp_step_checker_accepts_the_rule_and_names_slips():
    from fa_lab.teaching.beyond_exercises import check_dkp_step

    assert check_dkp_step(lambda B, h, e, lr, lam: (1 - lr * lam) * B - lr * torch.outer(h, e))
    slips = {"no decay": lambda B, h, e, lr, lam: B - lr * torch.outer(h, e),
             "decay after the update": lambda B, h, e, lr, lam: (1 - lr * lam) * (B - lr * torch.outer(h, e)),
             "the update's sign": lambda B, h, e, lr, lam: (1 - lr * lam) * B + lr * torch.outer(h, e)}
    for name, fn in slips.items():
        verdict = check_dkp_step(fn)
        assert not verdict and name in verdict.message, verdict.message
    assert check_dkp_step(lambda B, h, e, lr, lam: ...).todo


def test_deep_strategy_checker_accepts_the_presets_and_names_slips():
    from fa_lab.core.rules import s1, s2, s3
    from fa_lab.teaching.beyond_exercises import check_deep_strategy

    for name, preset in (("s1", s1), ("s2", s2), ("s3", s3)):
        assert check_deep_strategy(preset, name)
    assert check_deep_strategy(lambda n: ...).todo

    def s3_no_single_layer(n):  # right from two hidden layers on, but one layer needs its own case
        return Rule("s3", (("direct", "above~"),) + (("direct", "above~", "below~"),) * (n - 2) + (("direct", "below~"),))

    verdict = check_deep_strategy(s3_no_single_layer)
    assert not verdict and verdict.message.startswith("with 1 hidden layer: your rule describes 2")
    verdict = check_deep_strategy(lambda n: Rule("s3", (("direct", "above~", "below~"),) * n))
    assert not verdict and "no hidden layer below it" in verdict.message and "(arguments: [1])" in verdict.message
    verdict = check_deep_strategy(s1, "s3")  # s1's terms are not s3's: the first layer that differs is named
    assert not verdict and "hidden layer 1" in verdict.message.split(":", 1)[1]
    assert not check_deep_strategy(lambda n: s2(n), "s1")


def test_panel_trains_deep_nets():
    pytest.importorskip("ipywidgets")
    from fa_lab.core.errors import FaLabError
    from fa_lab.teaching import live
    from fa_lab.teaching.panel import Panel

    p = Panel("deep", rules=("dfa", "s3"))
    assert p.depth.value == 4 and 240 in p.width.options
    p.depth.value, p.width.value, p.epochs.value, p.n_train.value, p.n_test.value = 3, 200, 1, 1000, 1000
    hist = p.run()
    assert [h.name for h in hist] == ["dfa", "s3"] and hist[0].epochs == 1
    assert [m.sizes for m in live._models(["s3"], 200, "tanh", False, "uniform", 0, False, 3)] == [
        [784, 200, 200, 200, 10]]
    assert p.papers(p.config(), ["dfa", "s3"]) == {}  # the paper has no deep nets: no dashed line, no number
    with pytest.raises(FaLabError, match="depth must be a positive integer, got 0"):
        live.validate(dict(p.config(), depth=0))
    with pytest.raises(FaLabError, match="valid choices: exp1, .*deep"):
        Panel("nope")


def test_panel_plots_alignment_diagnostics():
    """The panel's plot choice records the alignment diagnostics on a live run and draws each measure, hidden
    layers only; switching the plot redraws the same run; a run without them says so instead of failing."""
    pytest.importorskip("ipywidgets")
    from fa_lab.core.alignment import MEASURES
    from fa_lab.core.errors import FaLabError
    from fa_lab.teaching import live
    from fa_lab.teaching.panel import ERROR, Panel

    assert Panel("exp1").plot.index == 0 and Panel("exp1").config()["measure"] is None  # shown, not blank
    p = Panel("exp1", rules=("fa", "kp"), measure="feedback_angle")
    assert p.plot.value == "feedback_angle" and set(MEASURES) <= set(p.plot.options[i][1] for i in range(len(p.plot.options)))
    p.width.value, p.epochs.value, p.n_train.value, p.n_test.value = min(p.width.options), 2, 1000, 1000
    hist = p.run()
    assert [len(h.alignment) for h in hist] == [3, 3]  # before training and after each epoch
    assert len(hist[0].alignment[0]) == 3  # two hidden layers and the output: the plot draws the hidden two
    drawn = {}
    for measure in MEASURES:
        p.plot.value = measure
        drawn[measure] = p.image.value
    assert len(set(drawn.values())) == len(MEASURES)  # each measure is its own figure
    p.plot.value = ERROR  # back to the error curve
    assert p.image.value not in drawn.values()
    p.show(hist, dict(p.config(), measure="angle"))
    plain = Panel("exp1", rules=("fa",))
    plain.width.value, plain.epochs.value, plain.n_train.value, plain.n_test.value = min(p.width.options), 1, 1000, 1000
    assert not plain.run()[0].alignment
    plain.plot.value = "angle"  # recorded nothing: drawn as the error curve, with a note, not an exception
    assert plain.image.value
    with pytest.raises(FaLabError, match="unknown measure 'angles'; valid choices: angle, feedback_angle"):
        Panel("exp1", measure="angles")
    with pytest.raises(FaLabError, match="unknown measure"):
        live.run(["fa"], epochs=1, n_train=100, n_test=100, measure="nope")


def test_kp_gap_checker_accepts_the_decay_and_names_slips():
    """The checker's 'want' is the gap the engine leaves, so a right formula passing proves W − B̃ᵀ shrinks by
    exactly (1 − lr·λ) per step whatever the data (KP's argument, chapter 14)."""
    from fa_lab.teaching.beyond_exercises import check_kp_gap

    assert check_kp_gap(lambda g, lr, lam, n: g * (1 - lr * lam) ** n)
    slips = {"one step's factor": lambda g, lr, lam, n: g * (1 - lr * lam),
             "the decay per step is lr·λ": lambda g, lr, lam, n: g * (1 - lam) ** n,
             "continuous-time approximation": lambda g, lr, lam, n: g * math.exp(-lr * lam * n),
             "not linearly": lambda g, lr, lam, n: g * (1 - lr * lam * n),
             "the factor alone": lambda g, lr, lam, n: (1 - lr * lam) ** n}
    for name, fn in slips.items():
        verdict = check_kp_gap(fn)
        assert not verdict and name in verdict.message, verdict.message
    assert not check_kp_gap(lambda g, lr, lam, n: g)  # no decay at all: the gap does shrink
    assert check_kp_gap(lambda g, lr, lam, n: ...).todo


def test_bp_path_checker_accepts_the_product_and_names_slips():
    from functools import reduce

    from fa_lab.core.alignment import bp_path
    from fa_lab.teaching.beyond_exercises import check_bp_path

    assert check_bp_path(bp_path)
    assert check_bp_path(lambda W: reduce(lambda a, b: a @ b, W[::-1]).T)  # (Wˡ⋯Wⁱ⁺¹)ᵀ is the same matrix

    def wrong_order(W):
        p = W[-1].T
        for w in W[:-1]:
            p = w.T @ p
        return p

    verdict = check_bp_path(wrong_order)
    assert not verdict and "wrong order" in verdict.message, verdict.message
    verdict = check_bp_path(lambda W: W[0].T)
    assert not verdict and "alone" in verdict.message and "expected (5, 3)" in verdict.message
    verdict = check_bp_path(lambda W: W[0].T @ W[-1])  # Wˡ without its transpose: the shapes do not fit
    assert not verdict and "raised" in verdict.message and "W_above[-1].T" in verdict.message, verdict.message
    assert check_bp_path(lambda W: ...).todo


def test_panel_shows_a_stored_run_with_its_settings():
    """A run made outside the panel and shown in it sets the controls, so that Run repeats what is drawn."""
    pytest.importorskip("ipywidgets")
    from fa_lab.teaching.panel import Panel

    fast = fa_lab.Rule("kp, λ = 2", (("above:KP",),) * 2, weight_decay=2.0)
    p = Panel("exp1", rules=("fa",), extra_rules={"kp, λ = 2": fast})
    assert p.rules.rows == len(p.rules.options)  # every rule visible, the extra one included
    p.show([], dict(p.config(), width=50, epochs=4, lr=0.005, n_train=5000, n_test=1000, rules=["fa", fast],
                    measure="feedback_angle"))
    cfg = p.config()
    assert (cfg["width"], cfg["epochs"], cfg["lr"], cfg["n_train"], cfg["n_test"]) == (50, 4, 0.005, 5000, 1000)
    assert p.rules.value == ("fa", "kp, λ = 2") and cfg["rules"] == ["fa", fast] and cfg["measure"] == "feedback_angle"


def test_panel_pairs_paper_numbers_only_with_the_runs_of_its_config():
    """Histories that were not made from the panel's rules (more or fewer models) get no paper number by position;
    a paper number from another net (Table 4 has 2x800 tanh only) is named in the title."""
    pytest.importorskip("ipywidgets")
    from fa_lab.core.train import History
    from fa_lab.teaching.panel import Panel

    p = Panel("exp2")
    hist = [History(name, test_error=[10.0, 9.0]) for name in ("s1", "s1 (aux)", "s3 (aux)")]
    assert p.papers(dict(p.config(), rules=["s1", "s2"]), [h.name for h in hist]) == {}
    q = Panel("exp4")
    q.show([History("fa-B1", test_error=[30.0])], dict(q.config(), rules=["fa"], family="B1", epochs=1))
    assert "paper (full protocol)" in q.result.value and ">4.64<" in q.result.value  # Table 4's fa-B1, 2x800 tanh
    assert q.config()["epochs"] == 1
