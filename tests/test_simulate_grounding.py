"""Grounding in benchmarks.run: metrics.name_on_page and metrics.name_in_context."""

from __future__ import annotations

import json

from benchmarks.grounding import page_names
from rewards.metrics import grounding_metrics
from shop_env import load_corpus


def _record(sid, k, action):
    return {"session_id": sid, "step_index": k, "predicted_action": action}


def test_shares_of_named_answers_on_the_page_and_in_the_shown_part():
    pages = {("a", 0): ({"x", "y"}, {"x"}), ("a", 1): ({"z"}, {"z"})}
    records = [_record("a", 0, {"type": "click", "name": "x"}), _record("a", 0, {"type": "click", "name": "y"}),
               _record("a", 1, {"type": "type_and_submit", "name": "nope", "text": "t"}),
               _record("a", 1, {"type": "terminate"}), _record("a", 1, None)]
    g = grounding_metrics(records, lambda s, k: pages[(s, k)])
    assert g["grounding"]["named_answers"] == 3
    assert g["name_on_page"] == 2 / 3 and g["name_in_context"] == 1 / 3
    assert g["grounding"]["by_type"]["type_and_submit"]["name_on_page"] == 0.0
    assert grounding_metrics(records[3:], lambda s, k: pages[(s, k)])["name_on_page"] is None


def test_the_shown_part_is_the_page_cut_to_the_budget():
    corpus = load_corpus("demo", split="test")
    full = page_names(corpus, {"history": "latest", "token_budget": None})
    cut = page_names(corpus, {"history": "latest", "token_budget": 300})
    sid = corpus.session_ids()[0]
    on_page, shown = full(sid, 2)
    assert shown == on_page and len(on_page) > 20
    on_page_cut, shown_cut = cut(sid, 2)
    assert on_page_cut == on_page and shown_cut < on_page


def test_benchmarks_run_writes_them(tmp_path):
    from benchmarks.run import main

    assert main(["--agent", "heuristic", "--limit", "3", "--bootstrap", "0", "--no-progress",
                 "--token-budget", "400", "--output-path", str(tmp_path)]) == 0
    m = json.loads((tmp_path / "heuristic" / "results.json").read_text())["metrics"]
    assert m["name_on_page"] == 1.0  # the heuristic only names elements it read on the page
    assert m["name_in_context"] is not None and m["name_in_context"] <= 1.0
    assert m["grounding"]["named_answers"] > 0
