"""Evaluation metrics: exact match rule, type accuracy, macro-F1, per type, bootstrap CIs."""

from __future__ import annotations

import json

import pytest

from rewards.metrics import (
    compute_metrics,
    exact_match,
    macro_f1_from_confusion,
    outcome_f1,
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
    golds, preds, sessions = [], [], []
    for s in range(30):
        for k in range(5):
            gold = C(f"item{k}") if k < 4 else END
            hit = (s + k) % 3 != 0
            golds.append(gold)
            preds.append(gold if hit else C("wrong"))
            sessions.append(f"s{s}")
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
