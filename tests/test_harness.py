"""The shared rollout harness and the model-free baseline agents."""

from __future__ import annotations

import json
import math

import pytest

from agents.base import Generation
from agents.rollout import read_sample_log, run_rollout
from agents.simple import OracleAgent, RandomAgent, random_choices
from rewards.metrics import exact_match
from shop_env import Action
from tests.fixtures import CountingOracle as CountingAgent
from tests.fixtures import fixture_corpus


def test_oracle_rollout_records_every_step(fixture_corpus):
    res = run_rollout(OracleAgent(), {"corpus": fixture_corpus}, batch_size=2, progress=False)
    assert len(res.records) == sum(len(s) for s in fixture_corpus)
    assert all(r["exact_match"] and r["parse_error"] is None for r in res.records)
    assert [r["step_index"] for r in res.records[:3]] == [0, 1, 2]
    assert sum(r["last_step"] for r in res.records) == len(fixture_corpus)
    json.dumps(res.records)  # records are JSON-able


def test_interrupted_rollout_resumes_from_its_sample_log(tmp_path):
    corpus = fixture_corpus()
    log = tmp_path / "samples.jsonl"
    with pytest.raises(KeyboardInterrupt):
        run_rollout(CountingAgent(fail_after=4), {"corpus": corpus}, batch_size=1, sample_log=log, progress=False)
    with log.open("a") as f:
        f.write('{"session_id": "trunc')  # a half-written line from the kill
    partial = read_sample_log(log)
    assert 0 < len(partial) < 8
    agent = CountingAgent()
    res = run_rollout(agent, {"corpus": corpus}, batch_size=1, sample_log=log, progress=False)
    assert res.resumed_sessions == 1  # the 3-step session finished before the kill
    assert agent.calls == 5  # only the unfinished 5-step session is redone
    final = read_sample_log(log)
    keys = [(r["session_id"], r["step_index"]) for r in final]
    assert len(keys) == len(set(keys)) == 8
    assert [(r["session_id"], r["step_index"]) for r in res.records] == keys


def test_agent_returning_wrong_count_is_an_error(fixture_corpus):
    class Bad:
        name = "bad"

        def act(self, observations, infos):
            return [Generation("x")] * (len(observations) + 1)

    with pytest.raises(RuntimeError, match="returned"):
        run_rollout(Bad(), {"corpus": fixture_corpus}, progress=False)


def test_answers_with_no_utf8_form_score_zero_and_are_logged(tmp_path, fixture_corpus):
    """Half a surrogate pair, escaped in the JSON or raw in the text, fails parsing with a
    reason and is written to the sample log losslessly: it never stops a rollout."""
    escaped = '{"rationale": "I like it \\ud83d", "action": {"type": "terminate"}}'
    raw = "I like it \ud83d"

    class Odd:
        name = "odd"

        def act(self, observations, infos):
            return [Generation(escaped if i % 2 else raw) for i in range(len(observations))]

    log = tmp_path / "samples.jsonl"
    res = run_rollout(Odd(), {"corpus": fixture_corpus}, batch_size=2, sample_log=log, progress=False)
    assert all(r["reward"]["total"] == 0.0 and r["parse_error"] for r in res.records)
    assert any("unpaired surrogate" in r["parse_error"] for r in res.records)
    logged = {(r["session_id"], r["step_index"]): r["response"] for r in read_sample_log(log)}
    assert logged == {(r["session_id"], r["step_index"]): r["response"] for r in res.records}


def test_the_fingerprint_names_how_the_page_budget_is_counted(tmp_path, fixture_corpus):
    """A log made with the estimate is not resumed by a run counting with a tokenizer: the
    prompts differ."""
    from agents.rollout import run_fingerprint
    from shop_env.env import ShopSessionEnv

    def words(text):
        return len(text.split())

    words.label = "whitespace words"
    estimate = ShopSessionEnv(corpus=fixture_corpus, token_budget=512)
    counted = ShopSessionEnv(corpus=fixture_corpus, token_budget=512, token_counter=words)
    assert run_fingerprint(OracleAgent(), estimate) != run_fingerprint(OracleAgent(), counted)
    import functools

    partial = functools.partial(words)  # no label, no qualname: named by its type, the same every run
    fingerprints = {run_fingerprint(OracleAgent(), ShopSessionEnv(corpus=fixture_corpus, token_counter=c))
                    for c in (partial, functools.partial(words))}
    assert len(fingerprints) == 1

    class Backend:
        stop_at_json = True

    agent = OracleAgent()
    agent.backend = Backend()
    stops = run_fingerprint(agent, estimate)
    agent.backend.stop_at_json = False  # decoding past the answer's object changes the parse-failure rate
    assert run_fingerprint(agent, estimate) != stops
    log = tmp_path / "samples.jsonl"
    run_rollout(OracleAgent(), {"corpus": fixture_corpus, "token_budget": 512}, sample_log=log, progress=False)
    with pytest.raises(ValueError, match="another configuration"):
        run_rollout(OracleAgent(), {"corpus": fixture_corpus, "token_budget": 512, "token_counter": words},
                    sample_log=log, progress=False)


def test_random_agent_matches_its_expected_exact_match():
    """Expected exact match of the random agent, computed from each page's candidates."""
    from shop_env import load_corpus
    from shop_env.html import candidates

    corpus = load_corpus("demo", split="test")
    sessions = list(range(40))
    expected = []
    for i in sessions:
        for step in corpus[i].steps:
            choices = random_choices(candidates(step.html))
            expected.append(sum(exact_match(c, step.action) for c in choices) / len(choices))
    res = run_rollout(RandomAgent(seed=1), {"corpus": corpus}, sessions=sessions, batch_size=8, progress=False)
    observed = [r["exact_match"] for r in res.records]
    assert len(observed) == len(expected)
    mean_e = sum(expected) / len(expected)
    var = sum(p * (1 - p) for p in expected) / len(expected) ** 2
    assert abs(sum(observed) / len(observed) - mean_e) < 4 * math.sqrt(var) + 1e-9


def test_heuristic_and_majority_agents_answer_valid_json(fixture_corpus):
    from agents.simple import HeuristicAgent, MajorityAgent

    for agent in (HeuristicAgent(), MajorityAgent(action=Action.terminate())):
        res = run_rollout(agent, {"corpus": fixture_corpus}, progress=False)
        assert all(r["parse_error"] is None for r in res.records)
