"""benchmarks.simulate and rewards.realism: the distances, the noise floor and the calibration."""

from __future__ import annotations

import json

import pytest

from benchmarks.simulate import main, verdict
from rewards.realism import features, js_distance, noise_floor, realism_report, wasserstein1
from shop_env import Action, Session, Step, load_corpus


def _session(actions, urls, outcome="terminate", goal="red running shoes"):
    steps = tuple(Step(html="<html><body></body></html>", action=a, url=u) for a, u in zip(actions, urls, strict=True))
    return Session("s", steps, outcome=outcome, metadata={"goal": goal})


def test_distances_on_known_values():
    assert wasserstein1([0, 1], [1, 2]) == pytest.approx(1.0)
    assert wasserstein1([0, 0, 0, 4], [1]) == pytest.approx(1.5)
    assert js_distance({"a": 3, "b": 1}, {"a": 6, "b": 2}) == pytest.approx(0.0)
    assert js_distance({"a": 1}, {"b": 5}) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        wasserstein1([], [1])


def test_features_of_a_session():
    s = _session([Action.type_and_submit("nav_bar.search_input", "red shoes cheap"),
                  Action.click("search_results.x.product_title"), Action.click("breadcrumb.back_to_results"),
                  Action.click("refinements.color.red"), Action.click("add_to_cart.add_to_cart"),
                  Action.click("checkout.place_order")],
                 ["/", "/s?k=red+shoes+cheap", "/dp/B1?ref=x", "/s?k=red+shoes+cheap", "/dp/B1", "/checkout/spc"],
                 outcome="purchase")
    f = features(s)
    assert f.length == 6 and f.searches == 1 and f.query_overlaps == pytest.approx((2 / 3,))
    assert f.click_kinds == ("product", "other", "filter", "cart", "purchase")
    assert f.funnel == "purchase" and f.revisits == 2  # the results page and the product page again
    assert f.type_by_position[0] == "0:type_and_submit"


def test_a_sample_against_itself_is_at_distance_zero_and_the_floor_is_not():
    corpus = load_corpus("demo", split="test")
    feats = [features(s) for s in corpus]
    same = realism_report(feats[:50], feats[:50], n_bootstrap=20)
    assert same["distance"] == pytest.approx(0.0) and set(same["components"]) >= {"length", "funnel", "revisits"}
    floor, a, b = noise_floor(feats, 50, seed=3, n_bootstrap=20)
    assert not set(a) & set(b) and len(a) == len(b) == 50
    assert 0 < floor["distance"] < 0.4 and floor["ci"][0] <= floor["distance"] <= floor["ci"][1]
    with pytest.raises(ValueError, match="needs 202"):
        noise_floor(feats, 101)
    assert verdict({"distance": 0.1, "ci": [0.05, 0.2]}, floor | {"ci": [0.05, 0.15]}) == "at_floor"
    assert verdict({"distance": 0.5, "ci": [0.4, 0.6]}, {"ci": [0.05, 0.15]}) == "above_floor"
    assert verdict({"distance": 0.2, "ci": [0.1, 0.3]}, {"ci": [0.05, 0.15]}) == "inconclusive"


def test_calibration_replay_at_the_floor_baselines_above(tmp_path, capsys):
    out = tmp_path / "sim"
    rc = main(["--agent", "replay", "--agent", "heuristic", "--agent", "random", "--sessions", "30",
               "--max-steps", "15", "--bootstrap", "60", "--seed", "2", "--output-path", str(out)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "GENERATED" in printed and "not people" in printed
    results = {a: json.loads((out / a / "results.json").read_text()) for a in ("replay", "heuristic", "random")}
    m = {a: r["metrics"] for a, r in results.items()}
    assert m["replay"]["vs_floor"] == "at_floor", m["replay"]["realism_distance"]
    for agent in ("heuristic", "random"):
        assert m[agent]["vs_floor"] == "above_floor"
        assert m[agent]["realism_ci"][0] > m["replay"]["realism_ci"][1]
    assert m["heuristic"]["purchase_rate"] == 1.0  # the rule-based shopper always buys the first product
    assert results["replay"]["generated_data"] and "GENERATED" in results["replay"]["data"]["note"]
    sessions = load_corpus(f"jsonl:{out / 'replay' / 'sessions.jsonl'}", split="valid")
    assert len(sessions) == 30 and all(s.metadata["simulated"] for s in sessions)
    goals = results["replay"]["data"]["goal_session_ids"]
    valid = load_corpus("demo", split="valid")
    same = sum(s.outcome == valid[valid.index_of(g)].outcome for s, g in zip(sessions, goals, strict=True))
    assert same >= 28
    assert (out / "summary.md").read_text().count("|") > 30 and (out / "heuristic" / "lengths.png").exists()


def test_bad_arguments(capsys):
    assert main(["--agent", "nobody"]) == 2
    assert main(["--reference-split", "valid", "--goal-split", "valid"]) == 2
    assert "must differ" in capsys.readouterr().err
