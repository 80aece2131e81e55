"""Grounded decoding (``--constrain``): schemas, the xgrammar processor, the agent and the result files."""

from __future__ import annotations

import json

import pytest

from agents.constraints import CONSTRAIN_MODES, MAX_RATIONALE_CHARS, check_constrain, schema_for
from shop_env.core.protocol import ANSWER_SCHEMA, answer_schema, format_response, parse_response
from shop_env.core.types import Action


class _Candidate:
    def __init__(self, name: str, kind: str) -> None:
        self.name, self.kind = name, kind


PAGE = [_Candidate("nav_bar.search_input", "input"), _Candidate("search_results.red_mug.product_title", "clickable"),
        _Candidate("refinements.price_low", "clickable")]


def test_modes_are_checked():
    assert CONSTRAIN_MODES == ("none", "json", "candidates", "shown")
    with pytest.raises(ValueError, match="none"):
        check_constrain("grammar")
    assert schema_for("none") is None
    with pytest.raises(KeyError, match="with_candidates"):
        schema_for("candidates", {})


def test_candidates_schema_lists_the_names_that_fit_each_type():
    schema = schema_for("candidates", {"candidates": PAGE})
    variants = {v["properties"]["type"]["const"]: v for v in schema["properties"]["action"]["anyOf"]}
    # a click may name an input (shoppers click the search box before typing); typing only an input
    assert variants["click"]["properties"]["name"]["enum"] == [c.name for c in PAGE]
    assert variants["type_and_submit"]["properties"]["name"]["enum"] == [PAGE[0].name]
    assert set(variants) == {"click", "type_and_submit", "terminate"}
    only_terminate = schema_for("candidates", {"candidates": []})
    assert [v["properties"]["type"]["const"] for v in only_terminate["properties"]["action"]["anyOf"]] == ["terminate"]
    assert schema["properties"]["rationale"]["pattern"].endswith(f"{{0,{MAX_RATIONALE_CHARS}}}$")


def test_shown_schema_keeps_the_candidates_the_observation_names():
    """A page cut by the token budget: only what the model saw may be named."""
    shown = ('[Page 1]\n<html><body><input name="nav_bar.search_input"/>'
             '<a name="search_results.red_mug.product_title">Red mug</a><div>price_low is cut he')
    schema = schema_for("shown", {"candidates": PAGE}, shown)
    variants = {v["properties"]["type"]["const"]: v for v in schema["properties"]["action"]["anyOf"]}
    assert variants["click"]["properties"]["name"]["enum"] == [PAGE[0].name, PAGE[1].name]
    assert variants["type_and_submit"]["properties"]["name"]["enum"] == [PAGE[0].name]
    # a page shown without any of its candidates leaves terminate only
    nothing = schema_for("shown", {"candidates": PAGE}, "[Page 1]\n<html><body><p>Loading")
    assert [v["properties"]["type"]["const"] for v in nothing["properties"]["action"]["anyOf"]] == ["terminate"]
    with pytest.raises(ValueError, match="observation"):
        schema_for("shown", {"candidates": PAGE})
    with pytest.raises(KeyError, match="with_candidates"):
        schema_for("shown", {}, shown)


@pytest.fixture(scope="module")
def compiler(tiny_model_dir):
    pytest.importorskip("xgrammar", reason="the train extra is not installed")
    from transformers import AutoTokenizer

    from agents.backends.grammar import SchemaCompiler

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    return SchemaCompiler(tokenizer, len(tokenizer))


def _accepts(compiler, schema, text: str) -> bool:
    import xgrammar as xgr

    return xgr.GrammarMatcher(compiler.compile(schema)).accept_string(text)


@pytest.mark.parametrize("action", [Action.click("refinements.price_low"), Action.terminate(),
                                    Action.click("nav_bar.search_input"),  # a shopper focusing the search box
                                    Action.type_and_submit("nav_bar.search_input", "blue linen shirt")])
def test_the_schema_admits_every_canonical_answer_and_the_parser_takes_them(compiler, action):
    text = format_response("I want the cheaper ones.", action)
    assert parse_response(text).ok
    assert _accepts(compiler, ANSWER_SCHEMA, text)
    assert _accepts(compiler, schema_for("json"), text)
    assert _accepts(compiler, schema_for("candidates", {"candidates": PAGE}), text)


def test_the_candidates_schema_admits_every_gold_answer_of_the_demo_test_split(compiler):
    """Constraining must never rule out what the shopper did (a click on the search box included)."""
    from shop_env.env import ShopSessionEnv

    env = ShopSessionEnv(corpus="demo", split="test", with_candidates=True, order="sequential")
    kinds = set()
    for _ in range(5):  # the first sessions hold clicks on inputs, clicks, typing and terminate
        _, info = env.reset()
        done = False
        while not done:
            gold = info["gold_action"]
            kinds.add((gold.type, next((c.kind for c in info["candidates"] if c.name == gold.name), None)))
            text = format_response("what the shopper did", gold)
            assert _accepts(compiler, schema_for("candidates", info), text), text
            _, _, terminated, truncated, info = env.step(text)
            done = terminated or truncated
    assert {("click", "input"), ("click", "clickable"), ("type_and_submit", "input")} <= kinds


@pytest.mark.parametrize("text", [
    '{"rationale": "x", "action": {"type": "click", "name": "not.on.page"}}',   # a name off the page
    '{"rationale": "x", "action": {"type": "type_and_submit", "name": "refinements.price_low", "text": "a"}}',
    '{"rationale": "x",  "action": {"type": "terminate"}}',                       # free whitespace
    '{"rationale": "x", "action": {"type": "terminate", "name": "x"}}',            # a field terminate lacks
    '{"rationale": "' + "a" * (MAX_RATIONALE_CHARS + 1) + '", "action": {"type": "terminate"}}',
])
def test_the_candidates_schema_refuses_what_the_page_does_not_allow(compiler, text):
    assert not _accepts(compiler, schema_for("candidates", {"candidates": PAGE}), text)


def test_the_token_bound_covers_the_longest_answer_the_schema_admits():
    from agents.constraints import MAX_NAME_CHARS, MAX_TEXT_CHARS, answer_token_bound

    longest = format_response("r" * MAX_RATIONALE_CHARS, Action.type_and_submit("n" * MAX_NAME_CHARS,
                                                                                  "t" * MAX_TEXT_CHARS))
    assert answer_token_bound(schema_for("json")) == len(longest.encode()) + 1  # + the end-of-sequence token
    page = [_Candidate("x" * 200, "clickable")]  # a listed name longer than a free one may be
    assert answer_token_bound(schema_for("candidates", {"candidates": page})) > len(longest.encode()) - MAX_TEXT_CHARS


def test_schema_bounds_are_respected_by_the_plain_schema(compiler):
    bounded = answer_schema(max_rationale_chars=5)
    assert _accepts(compiler, bounded, format_response("12345", Action.terminate()))
    assert not _accepts(compiler, bounded, format_response("123456", Action.terminate()))


@pytest.fixture(scope="module")
def backend(tiny_model_dir):
    pytest.importorskip("xgrammar", reason="the train extra is not installed")
    from agents.backends.transformers_backend import TransformersBackend

    return TransformersBackend(str(tiny_model_dir), max_batch_size=8)


def _rollout(backend, constrain, *, sessions=1, max_new_tokens=16):
    """The random tiny model sampled at temperature 1 writes anything it may: a hard case."""
    from agents.base import GenerationConfig
    from agents.prompted import PromptedAgent
    from agents.rollout import run_rollout

    agent = PromptedAgent(backend, GenerationConfig(temperature=1.0, max_new_tokens=max_new_tokens, seed=3),
                          constrain=constrain)
    env = {"corpus": "demo", "split": "test", "token_budget": 600, "token_counter": backend.count_tokens}
    return agent, run_rollout(agent, env, limit=sessions, batch_size=4, progress=False).records


def test_unconstrained_random_model_fails_to_parse(backend):
    _, records = _rollout(backend, "none", max_new_tokens=24)
    assert all(r["parse_error"] for r in records)  # what the constraint is for


def test_json_constraint_makes_every_answer_parse(backend):
    """Even asked for 16 new tokens: the agent decodes up to the schema's bound, so answers close."""
    agent, records = _rollout(backend, "json")
    assert records and all(r["parse_error"] is None for r in records), [r["response"] for r in records][:3]
    assert agent.name.endswith("+constrain=json")


def test_candidates_constraint_names_only_elements_of_the_page(backend):
    from shop_env import load_corpus
    from shop_env.html import element_names

    corpus = load_corpus("demo", split="test")
    _, records = _rollout(backend, "candidates")
    assert records and all(r["parse_error"] is None for r in records)
    for r in records:
        pred = r["predicted_action"]
        if pred["type"] != "terminate":
            page = corpus[corpus.index_of(r["session_id"])].steps[r["step_index"]].html
            assert pred["name"] in element_names(page)


def test_shown_constraint_names_only_elements_the_prompt_showed(backend):
    """A 600-token budget cuts the demo pages: every name is one the model was shown."""
    from shop_env.html import element_names

    _, records = _rollout(backend, "shown", sessions=2)
    assert records and all(r["parse_error"] is None for r in records)
    named = [r for r in records if r["predicted_action"]["type"] != "terminate"]
    assert named  # the random model does click
    for r in named:
        assert r["predicted_action"]["name"] in element_names(r["prompt"])


def test_the_raw_logits_are_still_the_models(backend):
    """Self-certainty and log-probs describe the policy's distribution, not the mask's."""
    import math

    from agents.base import GenerationConfig
    from shop_env.prompt import to_messages

    chat = [to_messages("[Page 1]\n<button name='a'>A</button>\n")]
    for temperature in (0, 0.6):
        config = GenerationConfig(temperature=temperature, max_new_tokens=40, seed=1)
        constrained, free = backend.generate(chat * 2, config, [schema_for("json"), None])
        assert constrained.text.startswith('{"rationale": "') and constrained.token_info is not None
        assert all(lp <= 0 for lp in constrained.logprobs) and len(constrained.logprobs) == len(constrained.token_ids)
        # the mask is applied to a copy: the statistics the self-certainty reward reads stay finite
        # (masked in place, every mean logit was -inf and the rationale term paid 0)
        info = constrained.token_info
        assert all(math.isfinite(v) for v in [*info.logsumexp, *info.mean_logit]), info.mean_logit[:4]
        assert free.token_info is not None and all(math.isfinite(v) for v in free.token_info.mean_logit)


def test_none_leaves_config_hashes_unchanged_and_other_modes_change_them():
    from benchmarks.run import config_hash

    env = {"reward": {"reward": "shop_r1"}, "context": {"history": "full"}, "system_prompt_sha": "abc"}
    generation = {"temperature": 0.6, "top_p": 1.0, "max_new_tokens": 128, "seed": 0}
    assert config_hash(env, generation) == config_hash(env, generation, "none")
    assert len({config_hash(env, generation, mode) for mode in CONSTRAIN_MODES}) == len(CONSTRAIN_MODES)


def test_openai_backend_sends_the_schema_as_response_format():
    pytest.importorskip("openai", reason="the openai extra is not installed")
    from agents.base import GenerationConfig
    from shop_env.prompt import to_messages
    from tests.test_backends import _FakeOpenAI, _openai_backend

    schema = schema_for("json")
    with _FakeOpenAI() as server:
        backend, _ = _openai_backend(server, max_concurrency=1)
        backend.generate([to_messages("a"), to_messages("b")], GenerationConfig(), [schema, None])
    sent = sorted(server.requests, key=lambda r: r["seed"])
    assert sent[0]["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "shop_r1_answer", "schema": json.loads(json.dumps(schema)), "strict": True}}
    assert "response_format" not in sent[1]


def test_benchmark_run_records_the_constraint(tmp_path, tiny_model_dir):
    pytest.importorskip("xgrammar", reason="the train extra is not installed")
    from benchmarks.run import main

    out = tmp_path / "bench"
    assert main(["--agent", "prompted", "--agent", "heuristic", "--model", str(tiny_model_dir), "--limit", "1",
                 "--constrain", "json", "--token-budget", "600", "--max-new-tokens", "16", "--bootstrap", "0",
                 "--temperature", "1.0", "--output-path", str(out), "--no-progress"]) == 0
    prompted = json.loads(next(out.glob("prompted-*-json/results.json")).read_text())
    heuristic = json.loads((out / "heuristic" / "results.json").read_text())
    assert prompted["config"]["constrain"] == "json" and heuristic["config"]["constrain"] == "none"
    assert prompted["metrics"]["parse_failure_rate"] == 0.0
    assert prompted["model_weights"] and heuristic["model_weights"] is None  # a local model's digest
    # rescoring under the same rule keeps the row's hash, constraint included (a resume then matches it)
    from benchmarks.rescore import rescore_folder

    folder = next(out.glob("prompted-*-json"))
    assert rescore_folder(folder)["config_hash"] == prompted["config_hash"]


def test_the_answer_regex_matches_json_mode_answers_only():
    import re

    from agents.constraints import MAX_TEXT_CHARS, answer_regex

    pattern = re.compile(answer_regex())
    for action in (Action.click("refinements.price_low"), Action.terminate(),
                   Action.type_and_submit("nav_bar.search_input", "blue linen shirt")):
        assert pattern.fullmatch(format_response("I want the cheaper ones.", action))
    for bad in (format_response('a "quote"', Action.terminate()), format_response("café", Action.terminate()),
                format_response("x" * (MAX_RATIONALE_CHARS + 1), Action.terminate()),
                format_response("ok", Action.type_and_submit("s", "t" * (MAX_TEXT_CHARS + 1))),
                '{"rationale": "ok",  "action": {"type": "terminate"}}'):
        assert not pattern.fullmatch(bad)


def test_grpo_constrains_sampling_only_through_vllm_and_only_in_json_mode():
    from agents.train.grpo import GRPORunConfig, _structured_sampling

    with pytest.raises(ValueError, match="use_vllm"):
        GRPORunConfig(constrain="json")
    with pytest.raises(ValueError, match="candidates"):
        GRPORunConfig(constrain="candidates", use_vllm=True)
    assert _structured_sampling("none") == {}
    assert set(_structured_sampling("json")) == {"vllm_structured_outputs_regex"}
    from trl import GRPOConfig

    assert "vllm_structured_outputs_regex" in GRPOConfig.__dataclass_fields__  # the TRL flag it sets


def test_the_perf_mask_clock_times_the_processor_and_removes_itself(backend):
    """benchmarks.perf_constraints' mask row: one timed call a decoding step, none without a schema."""
    from agents.backends.grammar import SchemaLogitsProcessor
    from agents.constraints import schema_for
    from benchmarks.perf_constraints import _decode
    from shop_env.prompt import to_messages

    original = SchemaLogitsProcessor.__call__
    batch = [to_messages("<html><body><button name=\"buy\">Buy</button></body></html>")] * 2
    wall, tokens, clock = _decode(backend, batch, [schema_for("json")] * 2, 8)
    assert SchemaLogitsProcessor.__call__ is original
    assert tokens > 0 and clock.calls >= 1 and 0 < clock.seconds < wall
    _, _, free = _decode(backend, batch, None, 4)
    assert free.calls == 0 and free.seconds == 0.0
