"""Evaluation metrics: exact match rule, type accuracy, macro-F1, per type, bootstrap CIs."""

from __future__ import annotations

import json

import pytest

from rewards.metrics import (
    compute_metrics,
    exact_match,
    macro_f1_from_confusion,
    outcome_f1,
    paired_difference,
    type_match,
    weighted_f1,
)
from shop_env.types import Action

C = Action.click
T = Action.type_and_submit
END = Action.terminate()


def test_exact_match_rule():
    assert exact_match(C("a.b"), C("a.b"))
    assert not exact_match(C("a.b_2"), C("a.b"))  # names must be identical, not similar
    assert not exact_match(None, C("a.b"))
    assert exact_match(END, END)
    assert not exact_match(END, C("a.b"))
    gold = T("search", "red running shoes size ten")
    assert exact_match(T("search", "red running shoes"), gold)  # ROUGE-L 0.75
    assert not exact_match(T("search", "red shoes"), gold)  # 4/7 < 0.75
    assert exact_match(T("search", "red shoes"), gold, text_threshold=0.5)
    assert not exact_match(T("other", gold.text), gold)
    assert type_match(C("x"), C("y")) and not type_match(None, END) and not type_match(END, C("y"))


def test_metrics_by_hand():
    golds = [C("a"), C("b"), C("c"), T("s", "red shoes"), END, END]
    preds = [C("a"), C("x"), END, T("s", "red shoes"), END, None]
    m = compute_metrics(preds, golds, n_bootstrap=0)
    assert m["n"] == 6
    assert m["exact_match"] == pytest.approx(3 / 6)
    assert m["type_accuracy"] == pytest.approx(4 / 6)
    assert m["invalid"] == pytest.approx(1 / 6)
    assert m["per_type"]["click"] == {"support": 3, "exact_match": pytest.approx(1 / 3), "type_accuracy": pytest.approx(2 / 3)}
    assert m["per_type"]["type_and_submit"] == {"support": 1, "exact_match": 1.0, "type_accuracy": 1.0}
    assert m["per_type"]["terminate"]["type_accuracy"] == pytest.approx(0.5)
    assert m["confusion"]["labels"] == ["click", "type_and_submit", "terminate"]
    assert m["confusion"]["matrix"] == [[2, 0, 1], [0, 1, 0], [0, 0, 1]]
    assert m["confusion"]["unparsed_by_gold"] == [0, 0, 1]
    # F1: click 2*2/(3+2) = 0.8; type 1.0; terminate 2*1/(2+2) = 0.5
    assert m["type_macro_f1"] == pytest.approx((0.8 + 1.0 + 0.5) / 3)
    assert m["ci"] == {}
    json.dumps(m)


def test_macro_f1_absent_class_handling():
    # No type_and_submit in golds or predictions: left out of the average.
    m = compute_metrics([C("a"), END], [C("a"), END], n_bootstrap=0)
    assert m["type_macro_f1"] == 1.0
    assert m["per_type"]["type_and_submit"] == {"support": 0, "exact_match": None, "type_accuracy": None}
    # Predicted but never gold: counts, with F1 0.
    m = compute_metrics([C("a"), T("s", "x")], [C("a"), END], n_bootstrap=0)
    assert m["type_macro_f1"] == pytest.approx((1.0 + 0.0 + 0.0) / 3)
    assert macro_f1_from_confusion([[0, 0, 0], [0, 0, 0], [0, 0, 0]]) == 0.0


def test_bootstrap_ci_over_sessions_is_deterministic_and_brackets_the_estimate():
    golds, preds, _, sessions = _paired_corpus()  # system A's answers: the same corpus as before
    a = compute_metrics(preds, golds, sessions, n_bootstrap=300, seed=1)
    b = compute_metrics(preds, golds, sessions, n_bootstrap=300, seed=1)
    assert a == b
    assert a["ci_unit"] == "session"
    for name in ("exact_match", "type_accuracy", "type_macro_f1"):
        lo, hi = a["ci"][name]
        assert lo <= a[name] <= hi
    lo, hi = a["ci"]["exact_match"]
    assert 0 < hi - lo < 0.3
    steps = compute_metrics(preds, golds, n_bootstrap=300, seed=1)
    assert steps["ci_unit"] == "step"
    assert compute_metrics(preds, golds, sessions, n_bootstrap=300, seed=2)["ci"] != a["ci"]


def _paired_corpus():
    """30 sessions of 5 steps; system A hits 2 of 3 steps, system B also hits A's misses in even sessions."""
    golds, preds_a, preds_b, sessions = [], [], [], []
    for s in range(30):
        for k in range(5):
            gold = C(f"item{k}") if k < 4 else END
            hit_a = (s + k) % 3 != 0
            golds.append(gold)
            preds_a.append(gold if hit_a else C("wrong"))
            preds_b.append(gold if hit_a or s % 2 == 0 else C("wrong"))
            sessions.append(f"s{s}")
    return golds, preds_a, preds_b, sessions


def test_paired_difference_by_hand():
    golds, preds_a, preds_b, sessions = _paired_corpus()
    d = paired_difference(preds_a, preds_b, golds, sessions, n_bootstrap=400, seed=3)
    a = compute_metrics(preds_a, golds, n_bootstrap=0)
    b = compute_metrics(preds_b, golds, n_bootstrap=0)
    for name in ("exact_match", "type_accuracy", "type_macro_f1"):
        assert d[name]["a"] == a[name] and d[name]["b"] == b[name]
        assert d[name]["difference"] == pytest.approx(b[name] - a[name])
    exact = d["exact_match"]
    assert exact["difference"] == pytest.approx(25 / 150)  # A's 50 misses, half of them in even sessions
    assert (exact["only_a"], exact["only_b"]) == (0, 25)
    lo, hi = exact["ci"]
    assert 0 < lo < exact["difference"] < hi
    assert exact["p_value"] < 0.001  # B gains in all 15 even sessions and loses in none
    assert d["ci_unit"] == "session" and d["n"] == 150
    # a system against itself: difference 0 in every resample, and every swap is as extreme
    same = paired_difference(preds_a, preds_a, golds, sessions, n_bootstrap=50, n_permutations=50)
    assert same["exact_match"]["ci"] == [0.0, 0.0] and same["exact_match"]["p_value"] == 1.0
    # swapping the systems flips the sign and keeps the test
    flipped = paired_difference(preds_b, preds_a, golds, sessions, n_bootstrap=400, seed=3)["exact_match"]
    assert flipped["difference"] == pytest.approx(-exact["difference"])
    assert flipped["ci"] == pytest.approx([-hi, -lo]) and flipped["p_value"] == exact["p_value"]


def test_paired_bootstrap_equals_recomputing_every_resample():
    """The CI is the quantile of compute_metrics(B) - compute_metrics(A) over explicit session resamples."""
    import numpy as np

    golds, preds_a, preds_b, sessions = _paired_corpus()
    preds_b = [C("wrong") if i % 7 == 0 else p for i, p in enumerate(preds_b)]  # B also loses some steps
    preds_b = [END if i % 11 == 0 else p for i, p in enumerate(preds_b)]  # and mispredicts types: F1 moves
    d = paired_difference(preds_a, preds_b, golds, sessions, n_bootstrap=60, seed=5)
    order = list(dict.fromkeys(sessions))
    weights = np.random.default_rng(5).multinomial(len(order), np.full(len(order), 1 / len(order)), size=60)
    by_session = {s: [i for i, x in enumerate(sessions) if x == s] for s in order}
    for name in ("exact_match", "type_accuracy", "type_macro_f1"):
        diffs = []
        for w in weights:
            idx = [i for s, k in zip(order, w, strict=True) for _ in range(k) for i in by_session[s]]
            resampled_golds = [golds[i] for i in idx]
            ga, gb = (compute_metrics([p[i] for i in idx], resampled_golds, n_bootstrap=0)[name]
                      for p in (preds_a, preds_b))
            diffs.append(gb - ga)
        assert d[name]["ci"] == pytest.approx([np.quantile(diffs, 0.025), np.quantile(diffs, 0.975)])


def test_paired_permutation_p_value_matches_an_exact_enumeration():
    """Four sessions: all 16 swap patterns can be listed, and the sampled p-value converges to their share."""
    import itertools

    golds = [C(f"i{k}") for _ in range(4) for k in range(3)]
    sessions = [f"s{s}" for s in range(4) for _ in range(3)]
    hits_a = [0, 1, 1, 2]  # exact steps per session
    hits_b = [2, 1, 3, 2]
    preds_a = [g if i % 3 < hits_a[i // 3] else C("x") for i, g in enumerate(golds)]
    preds_b = [g if i % 3 < hits_b[i // 3] else C("x") for i, g in enumerate(golds)]
    observed = (sum(hits_b) - sum(hits_a)) / 12
    extreme = 0
    for swap in itertools.product([0, 1], repeat=4):
        a = sum(hb if s else ha for ha, hb, s in zip(hits_a, hits_b, swap, strict=True))
        b = sum(ha if s else hb for ha, hb, s in zip(hits_a, hits_b, swap, strict=True))
        extreme += abs(b - a) / 12 >= observed - 1e-12
    d = paired_difference(preds_a, preds_b, golds, sessions, n_bootstrap=10, n_permutations=20000, seed=1)
    assert d["exact_match"]["p_value"] == pytest.approx(extreme / 16, abs=0.01)
    assert extreme / 16 == 0.5  # session differences +2, 0, +2, 0: |sum| is 4 when s0 and s2 swap alike, 8 of 16


def test_paired_permutation_p_value_equals_swapping_the_answers_and_recomputing():
    """Every metric's p-value, macro-F1 included, from explicit swaps of the two systems' answers per session."""
    import numpy as np

    golds, preds_a, preds_b, sessions = _paired_corpus()
    preds_b = [END if i % 11 == 0 else p for i, p in enumerate(preds_b)]  # type errors: macro-F1 moves
    d = paired_difference(preds_a, preds_b, golds, sessions, n_bootstrap=7, n_permutations=40, seed=2)
    order = list(dict.fromkeys(sessions))
    swaps = np.random.default_rng([2, 1]).integers(0, 2, size=(40, len(order)))
    for name in ("exact_match", "type_accuracy", "type_macro_f1"):
        observed = compute_metrics(preds_b, golds, n_bootstrap=0)[name] - compute_metrics(preds_a, golds,
                                                                                          n_bootstrap=0)[name]
        extreme = 0
        for swap in swaps:
            swapped = {s for s, flag in zip(order, swap, strict=True) if flag}
            new_a = [b if s in swapped else a for a, b, s in zip(preds_a, preds_b, sessions, strict=True)]
            new_b = [a if s in swapped else b for a, b, s in zip(preds_a, preds_b, sessions, strict=True)]
            diff = compute_metrics(new_b, golds, n_bootstrap=0)[name] - compute_metrics(new_a, golds,
                                                                                      n_bootstrap=0)[name]
            extreme += abs(diff) >= abs(observed) - 1e-12
        assert d[name]["p_value"] == (1 + extreme) / 41
    # p does not depend on how many bootstrap resamples were drawn
    assert paired_difference(preds_a, preds_b, golds, sessions, n_bootstrap=90, n_permutations=40,
                             seed=2)["type_macro_f1"]["p_value"] == d["type_macro_f1"]["p_value"]
    # with 30 sessions all moving one way, no random swap is as extreme: p is exactly 1 / (1 + P)
    always = paired_difference(preds_a, golds, golds, sessions, n_bootstrap=5, n_permutations=9)
    assert always["exact_match"]["p_value"] == pytest.approx(0.1)


def test_paired_difference_rejects_bad_input():
    with pytest.raises(ValueError, match="differ in length"):
        paired_difference([END], [END, END], [END, END])
    with pytest.raises(ValueError, match="at least one"):
        paired_difference([], [], [])
    with pytest.raises(ValueError, match="n_bootstrap"):
        paired_difference([END], [END], [END], n_bootstrap=0)
    with pytest.raises(ValueError, match="n_permutations"):
        paired_difference([END], [END], [END], n_permutations=0)
    with pytest.raises(ValueError, match="session_ids"):
        paired_difference([END], [END], [END], ["a", "b"])


def test_bad_inputs_raise_clearly():
    with pytest.raises(ValueError, match="differ in length"):
        compute_metrics([END], [END, END])
    with pytest.raises(ValueError, match="at least one"):
        compute_metrics([], [])
    with pytest.raises(ValueError, match="session_ids"):
        compute_metrics([END], [END], ["a", "b"])
    with pytest.raises(TypeError, match=r"preds\[0\]"):
        compute_metrics([{"type": "terminate"}], [END])  # type: ignore[list-item]


def test_weighted_and_outcome_f1_by_hand():
    golds = ["purchase", "terminate", "terminate", "terminate"]
    preds = ["purchase", "terminate", None, "purchase"]
    m = outcome_f1(preds, golds)
    # purchase: tp 1, predicted 2, support 1 -> F1 2/3; terminate: tp 1, predicted 1, support 3 -> F1 1/2
    assert m["per_class"]["purchase"]["f1"] == pytest.approx(2 / 3)
    assert m["per_class"]["terminate"]["f1"] == pytest.approx(0.5)
    assert m["weighted_f1"] == pytest.approx((1 * 2 / 3 + 3 * 0.5) / 4)
    assert m["macro_f1"] == pytest.approx((2 / 3 + 0.5) / 2)
    assert m["accuracy"] == 0.5 and m["n"] == 4
    clicks = weighted_f1(["search", "filter", "other"], ["search", "filter", "review"])
    assert set(clicks["per_class"]) == {"filter", "review", "search"}
    assert clicks["weighted_f1"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        weighted_f1([], [])
