"""Hostile and careless use (issue 20): each defect's rule, and property tests over answers,
token statistics and corpus lines. Timings live in ``benchmarks.perf``; these tests assert the
rules that bound the work."""

from __future__ import annotations

import json
import math
import random
from datetime import datetime, timedelta, timezone

import gymnasium as gym
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import shop_env  # noqa: F401  (registers the ids)
from rewards import TokenInfo, get_reward
from rewards.metrics import exact_match
from rewards.self_certainty import DEFAULT_CAP
from rewards.similarity import (
    MAX_SIM_CHARS,
    MAX_SIM_TOKENS,
    TOKEN_CACHE_BYTES,
    lcs_length,
    rouge_l_f1,
    token_cache_info,
    tokenize,
)
from shop_env.core.protocol import LENIENT_WINDOW_CHARS, MAX_RESPONSE_CHARS, format_response, parse_response
from shop_env.core.types import Action, Session, Step
from shop_env.corpus import CorpusError
from shop_env.sources.jsonl import load_jsonl, session_from_record, write_jsonl
from shop_env.sources.opera import load_opera, personas_from_rows
from tests.opera_fixture import action_schema, opera_rows, write_opera

CLICK = Action.click("refinements.price_low_to_high")
SEARCH = Action.type_and_submit("nav_bar.search_input", "blue linen shirt medium")
GOLDS = (CLICK, SEARCH, Action.terminate())
DEEP = "[" * 200_000 + "]" * 200_000


def _line(session_id: str = "s1", **step_extra) -> dict:
    step = {"html": "<p>x</p>", "action": {"type": "click", "name": "a.b"}, **step_extra}
    return {"session_id": session_id, "steps": [step]}


# --------------------------------------------------------------------- 1. deeply nested JSON


def test_deep_jsonl_line_is_a_corpus_error(tmp_path):
    path = tmp_path / "deep.jsonl"
    path.write_text(json.dumps(_line("ok")) + "\n" + '{"session_id": "deep", "steps": ' + DEEP + "}\n")
    with pytest.raises(CorpusError, match="nested too deeply") as err:
        load_jsonl(path, split="train", valid_fraction=0, test_fraction=0)
    assert err.value.row == 2 and err.value.file == str(path)
    corpus = load_jsonl(path, split="train", valid_fraction=0, test_fraction=0, skip_invalid=True)
    assert len(corpus) == 1 and "nested too deeply" in corpus.skipped[0]


def _opera_rows_with(mutate):
    rows = list(opera_rows(4, seed=1))
    mutate(rows)
    return rows


def test_deep_opera_page_meta_and_survey_are_corpus_errors(tmp_path):
    rows = _opera_rows_with(lambda rows: rows[2].update(page_meta='{"a": ' + DEEP + "}"))
    root = write_opera(tmp_path / "a", train=rows, test=rows[:1])
    with pytest.raises(CorpusError, match="nested too deeply") as err:
        load_opera(root, valid_fraction=0.0)
    assert err.value.field == "page_meta"
    assert len(load_opera(root, valid_fraction=0.0, skip_invalid=True).skipped) == 1
    with pytest.raises(CorpusError, match="nested too deeply") as err:
        personas_from_rows([{"user_id": "u1", "survey": '{"a": ' + DEEP + "}"}], file="users.parquet")
    assert err.value.field == "survey"
    skipped: list[str] = []
    assert personas_from_rows([{"user_id": "u1", "survey": "[" + DEEP + "]"}], skip_invalid=True,
                              skipped=skipped) == {} and len(skipped) == 1


# --------------------------------------------------------------------- 2. bounded scoring work


def test_similarity_reads_a_bounded_prefix():
    huge = "blue " * 3_000_000  # 15 MB, three million tokens
    assert len(tokenize(huge)) == MAX_SIM_TOKENS
    assert tokenize(huge) == tokenize(huge[:MAX_SIM_CHARS])
    # strings that differ only after the prefix similarity reads score as their prefix
    same_prefix = "x " * (MAX_SIM_CHARS // 2)
    assert rouge_l_f1(same_prefix + "tail one", same_prefix + "other tail") == 1.0
    assert rouge_l_f1("n" * 10_000_000, CLICK.name, kind="name") == 0.0


def test_parser_work_is_bounded():
    too_long = format_response("r" * MAX_RESPONSE_CHARS, CLICK)
    for mode in ("strict", "lenient"):
        parsed = parse_response(too_long, mode)
        assert not parsed.ok and "longer than" in parsed.error
    good = format_response("fine", CLICK)
    assert parse_response("noise " + good, "lenient").ok
    # lenient mode looks only at its window: an answer after it is not searched for
    late = "x" * LENIENT_WINDOW_CHARS + good
    assert not parse_response(late, "lenient").ok
    # nested candidate objects: at most 64 decodes inside the window
    nested = "text " + '{"a": ' * 64 + '"' + "p" * 900_000 + '"' + "}" * 64
    assert not parse_response(nested, "lenient").ok


# --------------------------------------------------------------------- 3. cache bounded by bytes


def test_token_cache_is_bounded_by_bytes():
    tokenize.cache_clear()
    tail = "word " * 180_000  # 0.9 MB answers: the cache keeps at most their prefix, within its byte budget
    for i in range(300):
        tokenize(f"answer {i} " + tail)
    info = token_cache_info()
    assert info["bytes"] <= TOKEN_CACHE_BYTES == info["max_bytes"]
    assert 0 < info["entries"] < 300


# --------------------------------------------------------------------- 4. rationale term validated


def _tokens(lse, mean, vocab=49152):
    return TokenInfo(logsumexp=lse, mean_logit=mean, vocab_size=vocab)


@pytest.mark.parametrize("lse, mean, reason", [
    ([float("nan"), 12.0], [0.0, 0.0], "not finite"),
    ([float("inf")], [0.0], "not finite"),
    ([12.0], [float("-inf")], "not finite"),
    ([5.0], [0.0], "impossible"),  # 5 < 0 + log(49152) = 10.8
])
def test_non_finite_or_impossible_statistics_pay_zero_with_a_reason(lse, mean, reason):
    reward = get_reward("shop_r1")
    result = reward(format_response("r", CLICK), CLICK, tokens=_tokens(lse, mean))
    assert result.components["rationale"] == 0.0 and math.isfinite(result.total)
    assert result.total == pytest.approx(1001.0)
    assert reason in result.notes["rationale"]
    assert "notes" in result.to_dict()


def test_forged_statistics_cannot_buy_past_a_right_answer():
    reward = get_reward("shop_r1")
    forged = _tokens([1e6] * 5, [0.0] * 5)
    wrong = reward(format_response("r", Action.click("other.element")), CLICK, tokens=forged)
    assert wrong.components["rationale"] == pytest.approx(reward.rationale_alpha * DEFAULT_CAP)
    right = reward(format_response("r", CLICK), CLICK)
    assert wrong.total < right.total
    # the smallest gap: a right terminate (0.8) against a wrong type with the most certain rationale
    wrong_type = reward(format_response("r", CLICK), Action.terminate(), tokens=forged)
    assert wrong_type.total < reward(format_response("r", Action.terminate()), Action.terminate()).total
    normalized = get_reward("normalized")
    for gold in GOLDS:
        for answer in (format_response("r", gold), format_response("r", Action.click("x.y"))):
            score = normalized(answer, gold, tokens=forged).total
            assert 0.0 <= score <= 1.0
    assert normalized(format_response("r", CLICK), CLICK, tokens=forged).total == pytest.approx(1.0)


def test_cap_is_a_hashed_field():
    base, capped = get_reward("shop_r1"), get_reward("shop_r1", rationale_cap=10.0)
    assert base.config()["rationale_cap"] == DEFAULT_CAP and base.config() != capped.config()
    with pytest.raises(ValueError, match="rationale_cap"):
        get_reward("shop_r1", rationale_cap=-1.0)


# --------------------------------------------------------------------- 6. lone surrogates


def test_lone_surrogate_round_trips_through_write_jsonl_and_convert(tmp_path, capsys):
    from shop_env.data import main

    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({**_line("s\ud800"), "split": "train"}).replace("<p>x</p>", "<p>\\ud800 x</p>") + "\n")
    corpus = load_jsonl(src, split="train")
    session = corpus[0]
    assert "\ud800" in session.steps[0].html and session.session_id == "s\ud800"
    out = tmp_path / "out.jsonl"
    assert write_jsonl(corpus, out, split="train") == 1
    assert load_jsonl(out, split="train")[0] == session
    converted = tmp_path / "converted.jsonl.gz"
    assert main(["convert", "--source", f"jsonl:{src}", "--out", str(converted)]) == 0
    assert load_jsonl(converted, split="train")[0] == session


# --------------------------------------------------------------------- 7. OPeRA timestamps


def test_int64_timestamp_names_the_type_and_empty_after_skip_is_an_error(tmp_path):
    rows = list(opera_rows(3, seed=2))
    base = int(datetime(2024, 1, 1, tzinfo=timezone.utc).timestamp())
    for i, row in enumerate(rows):
        row["timestamp"] = base + i
    schema = pa.schema([pa.field(f.name, pa.int64() if f.name == "timestamp" else f.type) for f in action_schema()])
    from tests.opera_fixture import write_action_file

    root = write_opera(tmp_path, train=[], test=[])
    action = root / "OPeRA_filtered" / "action"
    for split in ("train", "test"):
        write_action_file(action / f"{split}-00000-of-00001.parquet", rows, schema=schema)
    (root / "OPeRA_filtered" / "session").rename(root / "no_session")
    with pytest.raises(CorpusError, match="got int64") as err:
        load_opera(root, valid_fraction=0.0)
    assert err.value.field == "timestamp"
    with pytest.raises(CorpusError, match="none left"):
        load_opera(root, valid_fraction=0.0, skip_invalid=True)


def test_timestamp_column_of_datetimes_loads(tmp_path):
    rows = list(opera_rows(3, seed=2))
    for i, row in enumerate(rows):
        row["timestamp"] = datetime(2024, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=i)
    schema = pa.schema([pa.field(f.name, pa.timestamp("us", tz="UTC") if f.name == "timestamp" else f.type)
                        for f in action_schema()])
    from tests.opera_fixture import write_action_file

    root = write_opera(tmp_path, train=[], test=[])
    action = root / "OPeRA_filtered" / "action"
    for split in ("train", "test"):
        write_action_file(action / f"{split}-00000-of-00001.parquet", rows, schema=schema)
    (root / "OPeRA_filtered" / "session").rename(root / "no_session")
    corpus = load_opera(root, valid_fraction=0.0)
    assert len(corpus) > 0 and corpus[0].steps[0].timestamp.startswith("2024-01-01T00:00")


def test_jsonl_with_only_invalid_lines_is_an_error_after_skipping(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"session_id": 5}\n[1]\n')
    with pytest.raises(CorpusError, match="none left"):
        load_jsonl(path, split="train", skip_invalid=True)


# --------------------------------------------------------------------- 8. similarity as people compare


def test_punctuation_and_case_do_not_split_words():
    assert rouge_l_f1("Linen Shirt!", "linen shirt") == 1.0
    assert rouge_l_f1("blue linen shirt, medium", "blue linen shirt medium") == 1.0
    assert rouge_l_f1("Linen Shirt!", "linen shirt", tokenization="whitespace") == 0.5
    assert rouge_l_f1("blue linen shirt, medium", "blue linen shirt medium", tokenization="whitespace") == 0.75
    # every script's letters and digits are kept (rouge-score drops non-ASCII letters)
    assert tokenize("Größe 42, Ärmel; café! 東京タワー. हिन्दी") == ("größe", "42", "ärmel", "café", "東京タワー", "हिन्दी")
    assert rouge_l_f1("grüne Hose", "rote Hose") == 0.5
    # composed and decomposed accents compare equal
    assert rouge_l_f1("cafe\u0301", "caf\u00e9") == 1.0
    reward = get_reward("shop_r1")
    typed = Action.type_and_submit(SEARCH.name, "Blue linen shirt, MEDIUM!")
    assert reward(format_response("r", typed), SEARCH).total == pytest.approx(1001.1)
    assert exact_match(typed, SEARCH)
    assert not exact_match(typed, SEARCH, tokenization="whitespace")


def test_threshold_comparison_is_a_hashed_field():
    gold = Action.type_and_submit("q.input", "a b c d")
    pred = Action.type_and_submit("q.input", "a b c e f g")  # F1 = 2*3/(4+6) = 0.6
    answer = format_response("r", pred)
    reaches = get_reward("shop_r1", sim_threshold=0.6)
    exceeds = get_reward("shop_r1", sim_threshold=0.6, sim_comparison=">")
    # the name (identical, sim 1) pays 0.1 either way; the text at exactly the threshold only with >=
    assert reaches(answer, gold).components["value"] == pytest.approx(0.1 + 1000 * 0.6)
    assert exceeds(answer, gold).components["value"] == pytest.approx(0.1)
    assert reaches.config()["sim_comparison"] == ">=" and reaches.config() != exceeds.config()
    assert get_reward("shop_r1").config()["sim_tokenization"] == "words"
    with pytest.raises(ValueError, match="comparison"):
        get_reward("shop_r1", sim_comparison="~")
    with pytest.raises(ValueError, match="tokenization"):
        get_reward("shop_r1", sim_tokenization="bpe")


# --------------------------------------------------------------------- 9. vector envs


def test_async_vector_env_with_defaults_samples_each_page_and_wastes_no_step(fixture_env_kwargs):
    envs = gym.make_vec("ShopR1-Step-v0", 2, vectorization_mode="async", **fixture_env_kwargs)
    try:
        assert envs.metadata["autoreset_mode"] == gym.vector.AutoresetMode.SAME_STEP
        envs.reset(seed=0)
        kinds = set()
        for _ in range(12):
            pages = envs.get_attr("action_space")
            answers = envs.action_space.sample()
            for answer, space in zip(answers, pages, strict=True):
                parsed = parse_response(answer)
                assert parsed.ok
                kinds.add(parsed.action.type)
                if parsed.action.type == "click":
                    assert f'name="{parsed.action.name}"' in space.page
            _, reward, terminated, _, _ = envs.step(answers)
            assert terminated.all() and (reward >= 0.5).all()  # a real step each time, never a reset
        assert kinds >= {"click", "terminate"}
    finally:
        envs.close()


def test_step_mode_counts_steps_without_rendering_pages(monkeypatch):
    from shop_env.demo import DemoCorpus

    def no_render(self, index):
        raise AssertionError("rendered a page to count steps")

    env = gym.make("ShopR1-Step-v0", corpus="demo", split="valid").unwrapped
    monkeypatch.setattr(DemoCorpus, "_load", no_render)
    assert env.num_episodes == sum(len(a) for a in env.corpus.session_actions())


@pytest.fixture
def fixture_env_kwargs(tmp_path):
    from tests.fixtures import fixture_sessions

    path = tmp_path / "sessions.jsonl"
    write_jsonl(fixture_sessions(), path, split="train")
    return {"corpus": f"jsonl:{path}", "split": "train"}


# --------------------------------------------------------------------- 10. empty train split


def test_empty_train_split_says_which_split_and_what_to_do(tmp_path, capsys):
    from shop_env.data import main
    from shop_env.predictors import majority_action

    path = tmp_path / "only_test.jsonl"
    write_jsonl([session_from_record(_line("t1"))], path, split="test")
    assert main(["stats", "--source", f"jsonl:{path}", "--split", "test"]) == 2
    err = capsys.readouterr().err
    assert "train split" in err and "--no-predictability" in err
    assert main(["stats", "--source", f"jsonl:{path}", "--split", "test", "--no-predictability"]) == 0
    with pytest.raises(ValueError, match="split 'train' of .* has no sessions.*leave the majority agent out"):
        majority_action(load_jsonl(path, split="train"))


# --------------------------------------------------------------------- property tests

_text = st.text(st.characters(codec="utf-8"), max_size=40) | st.sampled_from(
    ["", " ", "Linen Shirt!", "refinements.price_low_to_high", "größe, 42", "\u0301", "..."])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a=st.lists(st.sampled_from("abcde"), max_size=40), b=st.lists(st.sampled_from("abcde"), max_size=40))
def test_bit_parallel_lcs_equals_dynamic_programming(a, b):
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(cur[j], prev[j + 1]))
        prev = cur
    assert lcs_length(tuple(a), tuple(b)) == prev[-1]


def _answers():
    action = st.fixed_dictionaries({"type": st.sampled_from(["click", "type_and_submit", "terminate", "scroll"])},
                                   optional={"name": _text | st.none() | st.integers(), "text": _text | st.none()})
    obj = st.fixed_dictionaries({"rationale": _text, "action": action})
    return obj.map(json.dumps) | st.builds(lambda o, pre, post: pre + json.dumps(o) + post, obj, _text, _text) | _text


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answer=_answers(), gold=st.sampled_from(GOLDS), mode=st.sampled_from(["strict", "lenient"]),
       tokenization=st.sampled_from(["words", "whitespace"]))
def test_any_answer_scores_finite_in_range_and_never_beats_gold(answer, gold, mode, tokenization):
    for name in ("shop_r1", "normalized", "binary", "customer_r1"):
        settings_ = {"parse_mode": mode}
        if name in ("shop_r1", "normalized"):
            settings_["sim_tokenization"] = tokenization
        reward = get_reward(name, **settings_)
        total = reward(answer, gold).total
        best = reward(format_response("r", gold), gold).total
        assert math.isfinite(total) and reward.min_total() <= total <= best + 1e-9


_stat = st.floats(allow_nan=True, allow_infinity=True, width=64) | st.integers(-10**30, 10**30)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.lists(st.tuples(_stat, _stat), min_size=1, max_size=12), vocab=st.integers(1, 300_000),
       gold=st.sampled_from(GOLDS), correct=st.booleans())
def test_any_token_statistics_keep_the_reward_bounded(data, vocab, gold, correct):
    tokens = TokenInfo(logsumexp=[d[0] for d in data], mean_logit=[d[1] for d in data], vocab_size=vocab)
    answer = format_response("r", gold if correct else Action.click("wrong.one"))
    shop, norm = get_reward("shop_r1"), get_reward("normalized")
    result = shop(answer, gold, tokens=tokens)
    assert 0.0 <= result.components["rationale"] <= shop.rationale_alpha * shop.rationale_cap
    assert math.isfinite(result.total)
    if not correct:
        assert result.total < shop(format_response("r", gold), gold).total
    assert 0.0 <= norm(answer, gold, tokens=tokens).total <= 1.0


_json_values = st.recursive(st.none() | st.booleans() | st.integers() | _text,
                            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
                            max_leaves=8)


def _corpus_lines():
    step = st.fixed_dictionaries({"html": _text | _json_values, "action": st.fixed_dictionaries(
        {"type": st.sampled_from(["click", "type_and_submit", "terminate", "hover"])},
        optional={"name": _text | _json_values, "text": _text | _json_values})},
        optional={"rationale": _text | _json_values, "page_meta": _json_values, "timestamp": _json_values})
    record = st.fixed_dictionaries({"session_id": _text | _json_values, "steps": st.lists(step, max_size=3)},
                                   optional={"outcome": _json_values, "persona": _json_values, "split": _json_values})
    return record | _json_values


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                    HealthCheck.function_scoped_fixture])
@given(records=st.lists(_corpus_lines(), min_size=1, max_size=4), tail=st.binary(max_size=12))
def test_any_corpus_lines_load_or_fail_with_a_corpus_error(tmp_path, records, tail):
    path = tmp_path / f"c{random.random()}.jsonl"
    raw = b"".join(json.dumps(r).encode() + b"\n" for r in records) + tail
    path.write_bytes(raw)
    for skip in (False, True):
        try:
            corpus = load_jsonl(path, split="train", valid_fraction=0, test_fraction=0, skip_invalid=skip)
        except CorpusError:
            continue
        for session in corpus:
            assert isinstance(session, Session) and all(isinstance(s, Step) for s in session.steps)
        write_jsonl(corpus, tmp_path / "back.jsonl")
        assert list(load_jsonl(tmp_path / "back.jsonl", split="train", valid_fraction=0, test_fraction=0)) == list(corpus)


@pytest.mark.slow
@settings(max_examples=4000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answer=_answers(), gold=st.sampled_from(GOLDS), mode=st.sampled_from(["strict", "lenient"]))
def test_many_answers_large_budget(answer, gold, mode):
    test_any_answer_scores_finite_in_range_and_never_beats_gold.hypothesis.inner_test(
        answer=answer, gold=gold, mode=mode, tokenization="words")

