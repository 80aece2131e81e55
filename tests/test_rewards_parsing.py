"""Response parsing (strict and lenient) and ROUGE-L similarity."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewards.parsing import ParsedResponse, format_response, parse_response
from rewards.similarity import lcs_length, rouge_l_f1, thresholded, tokenize
from shop_env.types import Action

GOOD = '{"rationale": "I want cheaper ones.", "action": {"type": "click", "name": "refinements.price"}}'


def test_strict_accepts_one_object_with_whitespace():
    parsed = parse_response("\n  " + GOOD + "  \n")
    assert parsed == ParsedResponse(True, "I want cheaper ones.", Action.click("refinements.price"), None)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("Sure: " + GOOD, "one JSON object"),
        (GOOD + " done", "text after"),
        (GOOD + GOOD, "text after"),
        ("```json\n" + GOOD + "\n```", "one JSON object"),
        ("[1, 2]", "one JSON object"),
        ('{"rationale": "x"', "invalid JSON"),
        ('{"action": {"type": "terminate"}}', "missing field 'rationale'"),
        ('{"rationale": null, "action": {"type": "terminate"}}', "'rationale' must be a string, got null"),
        ('{"rationale": "x"}', "missing field 'action'"),
        ('{"rationale": "x", "action": "click"}', "'action' must be an object, got string"),
        ('{"rationale": "x", "action": {}}', "missing 'type'"),
        ('{"rationale": "x", "action": {"type": "scroll"}}', "action.type"),
        ('{"rationale": "x", "action": {"type": "click", "name": 5}}', "'action.name' must be a string, got number"),
        ('{"rationale": "x", "action": {"type": "type_and_submit", "text": ["a"]}}', "'action.text' must be a string"),
        # escapes of half a surrogate pair decode to text with no UTF-8 form: not an answer
        ('{"rationale": "I like it \\ud83d", "action": {"type": "terminate"}}', "'rationale' holds an unpaired"),
        ('{"rationale": "x", "action": {"type": "click", "name": "a\\udc00"}}', "'action.name' holds an unpaired"),
        ('{"rationale": "x", "action": {"type": "type_and_submit", "name": "q", "text": "\\ud800"}}',
         "'action.text' holds an unpaired"),
        # Python's decoder takes these; JSON does not
        ('{"rationale": "x", "action": {"type": "terminate"}, "p": NaN}', "NaN is not JSON"),
        ('{"rationale": "x", "action": {"type": "terminate"}, "p": -Infinity}', "-Infinity is not JSON"),
    ],
)
def test_strict_failures_give_reasons(text, reason):
    parsed = parse_response(text)
    assert not parsed.ok and parsed.action is None
    assert reason in parsed.error


def test_a_whole_surrogate_pair_is_text():
    parsed = parse_response('{"rationale": "I like it \\ud83d\\ude00", "action": {"type": "terminate"}}')
    assert parsed.ok and parsed.rationale == "I like it \U0001f600"


def test_missing_or_null_fields_and_extra_keys_are_accepted():
    parsed = parse_response('{"rationale": "", "action": {"type": "type_and_submit", "name": null}, "extra": 1}')
    assert parsed.ok and parsed.action == Action("type_and_submit") and parsed.rationale == ""


@pytest.mark.parametrize(
    "text",
    [
        "```json\n" + GOOD + "\n```",
        "```\n" + GOOD + "\n```\nHope this helps",
        "Here is my answer: " + GOOD + " Thanks!",
        'Thinking {"not": "it"} ... ' + GOOD,
    ],
)
def test_lenient_accepts_fences_and_surrounding_text(text):
    assert not parse_response(text, "strict").ok
    parsed = parse_response(text, "lenient")
    assert parsed.ok and parsed.action == Action.click("refinements.price")


def test_lenient_reports_the_first_schema_error():
    parsed = parse_response('x {"rationale": "r", "action": {"type": "fly"}} y', "lenient")
    assert not parsed.ok and "action.type" in parsed.error
    assert parse_response("no json here", "lenient").error == "no JSON object found in the response"
    nan = parse_response('{"rationale": "r", "action": {"type": "terminate"}, "p": NaN}', "lenient")
    assert nan.error == "invalid JSON: NaN is not JSON"


def test_unknown_mode_and_non_strings_do_not_raise():
    assert "unknown parse mode" in parse_response(GOOD, "loose").error
    assert not parse_response(None).ok  # type: ignore[arg-type]
    assert not parse_response(b"{}").ok  # type: ignore[arg-type]


def test_pathological_inputs_do_not_raise():
    for text in ["[" * 100_000, "{" * 10_000, '{"a":' * 50_000, "1" * 5000, '{"rationale": 1e999}']:
        for mode in ("strict", "lenient"):
            assert not parse_response(text, mode).ok


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300), mode=st.sampled_from(["strict", "lenient"]))
def test_never_raises_on_any_string(text, mode):
    parsed = parse_response(text, mode)
    assert parsed.ok == (parsed.error is None) == (parsed.action is not None)


@settings(max_examples=200, deadline=None)
@given(rationale=st.text(max_size=50), name=st.one_of(st.none(), st.text(max_size=20)),
       text=st.one_of(st.none(), st.text(max_size=20)), kind=st.sampled_from(["click", "type_and_submit", "terminate"]))
def test_format_response_round_trips(rationale, name, text, kind):
    action = Action(kind, name=name, text=text)
    out = format_response(rationale, action)
    assert json.loads(out) == {"rationale": rationale, "action": action.to_dict()}
    for mode in ("strict", "lenient"):
        parsed = parse_response(out, mode)
        assert parsed.ok and parsed.action == action and parsed.rationale == rationale


def test_format_response_checks_types():
    with pytest.raises(TypeError):
        format_response("x", {"type": "terminate"})  # type: ignore[arg-type]


# ------------------------------------------------------------------ similarity

def test_tokenize_names_and_texts():
    assert tokenize("Nav_Bar.search-input  x", "name") == ("nav", "bar", "search", "input", "x")
    assert tokenize("Nav_Bar.search-input  x", "name", "whitespace") == ("nav", "bar", "search", "input", "x")
    # the older whitespace rule keeps punctuation on words; the default words rule does not
    assert tokenize("Red  shoes_size.10", "text", "whitespace") == ("red", "shoes_size.10")
    assert tokenize("Red  shoes_size.10", "text") == ("red", "shoes", "size", "10")
    with pytest.raises(ValueError):
        tokenize("x", "other")  # type: ignore[arg-type]


def test_lcs_and_rouge_l_by_hand():
    assert lcs_length(("a", "b", "c", "d"), ("a", "c", "d", "e")) == 3
    # P = 3/4, R = 3/5 -> F1 = 2 * 0.75 * 0.6 / 1.35 = 2/3
    assert rouge_l_f1("a b c d", "a c x d e") == pytest.approx(2 / 3)
    assert rouge_l_f1("refinements.price_low", "refinements.price_high", kind="name") == pytest.approx(2 / 3)
    assert rouge_l_f1("Red Shoes", "red shoes") == 1.0
    assert rouge_l_f1("x", "y") == 0.0
    assert rouge_l_f1(None, "y") == 0.0 and rouge_l_f1("", "") == 1.0
    assert rouge_l_f1("...", "...", kind="name") == 1.0 and rouge_l_f1("...", "._", kind="name") == 0.0


@settings(max_examples=200, deadline=None)
@given(a=st.text(max_size=30), b=st.text(max_size=30), kind=st.sampled_from(["name", "text"]))
def test_rouge_l_is_symmetric_bounded_and_one_on_equal(a, b, kind):
    s = rouge_l_f1(a, b, kind=kind)
    assert 0.0 <= s <= 1.0
    assert s == pytest.approx(rouge_l_f1(b, a, kind=kind))
    assert rouge_l_f1(a, a, kind=kind) == 1.0


def test_thresholded():
    assert thresholded(0.75, 0.75) == 0.75
    assert thresholded(0.7499, 0.75) == 0.0
