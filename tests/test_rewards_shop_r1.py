"""The Shop-R1 reward pinned to the paper's Table 1, the presets, and their bounds."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rewards
from rewards import format_response, get_reward
from rewards.shop_r1 import BinaryReward, NormalizedReward, ShopR1Reward
from shop_env.types import Action, Step

CLICK = Action.click("refinements.price_low_to_high")
SEARCH = Action.type_and_submit("nav_bar.search_input", "wireless noise cancelling headphones for travel")
TERMINATE = Action.terminate()


def answer(action: Action, rationale: str = "I want the cheaper options first.") -> str:
    return format_response(rationale, action)


@pytest.fixture(scope="module")
def shop_r1() -> ShopR1Reward:
    return get_reward("shop_r1")


# ------------------------------------------------------------------ paper table, to the number

def test_correct_click_scores_1001(shop_r1):
    result = shop_r1(answer(CLICK), CLICK)
    assert result.total == pytest.approx(1001.0)
    assert result.components == pytest.approx({"format": 0.5, "type": 0.3, "attribute": 0.2, "value": 1000.0})
    assert "rationale" not in result.components
    assert result.parse_error is None


def test_right_type_wrong_name_scores_1(shop_r1):
    assert shop_r1(answer(Action.click("nav_bar.cart")), CLICK).total == pytest.approx(1.0)


def test_wrong_type_scores_format_only(shop_r1):
    assert shop_r1(answer(TERMINATE), CLICK).total == pytest.approx(0.5)
    assert shop_r1(answer(Action.type_and_submit("refinements.price_low_to_high", "x")), CLICK).total == pytest.approx(0.5)


def test_correct_terminate_scores_08(shop_r1):
    assert shop_r1(answer(TERMINATE), TERMINATE).total == pytest.approx(0.8)


@pytest.mark.parametrize("response", ["", "garbage", "{", '{"rationale": 3, "action": {"type": "click"}}',
                                      '{"rationale": "x", "action": {"type": "scroll"}}',
                                      '```json\n{"rationale": "x", "action": {"type": "terminate"}}\n```'])
def test_unparseable_scores_0(shop_r1, response):
    result = shop_r1(response, CLICK)
    assert result.total == 0.0
    assert set(result.components.values()) == {0.0}
    assert result.parse_error


def test_missing_name_is_not_a_format_failure(shop_r1):
    # SPEC 2.1: {"rationale": "x", "action": {"type": "click"}} against a gold click scores 0.8.
    assert shop_r1('{"rationale": "x", "action": {"type": "click"}}', CLICK).total == pytest.approx(0.8)
    assert shop_r1('{"rationale": "x", "action": {"type": "click", "name": "  "}}', CLICK).total == pytest.approx(0.8)


def test_correct_type_and_submit(shop_r1):
    result = shop_r1(answer(SEARCH), SEARCH)
    assert result.total == pytest.approx(0.5 + 0.3 + 0.1 + 0.1 + 0.1 + 1000.0)
    assert result.total == pytest.approx(shop_r1.max_total(SEARCH))


def _text_with_f1(gold_text: str, keep: int, extra: int) -> str:
    """A text sharing the gold's first ``keep`` words plus ``extra`` unrelated words."""
    words = gold_text.split()
    return " ".join(words[:keep] + [f"zz{i}" for i in range(extra)])


def test_type_and_submit_text_just_under_and_over_threshold(shop_r1):
    gold_words = SEARCH.text.split()  # 6 words
    assert len(gold_words) == 6
    # 4 of 6 words: F1 = 2*4/(4+6) = 0.8 >= 0.75 -> DARS * 0.8
    over = _text_with_f1(SEARCH.text, 4, 0)
    assert rewards.rouge_l_f1(over, SEARCH.text, kind="text") == pytest.approx(0.8)
    result = shop_r1(answer(Action.type_and_submit(SEARCH.name, over)), SEARCH)
    assert result.components["value"] == pytest.approx(0.1 * 1.0 + 1000 * 0.8)
    assert result.total == pytest.approx(0.5 + 0.3 + 0.2 + 0.1 + 800.0)
    # 4 of 6 words plus one extra: F1 = 2*4/(5+6) = 0.727 < 0.75 -> no DARS
    under = _text_with_f1(SEARCH.text, 4, 1)
    assert rewards.rouge_l_f1(under, SEARCH.text, kind="text") == pytest.approx(8 / 11)
    result = shop_r1(answer(Action.type_and_submit(SEARCH.name, under)), SEARCH)
    assert result.components["value"] == pytest.approx(0.1)
    assert result.total == pytest.approx(1.1)
    # Exactly at the threshold counts: 3 of 3 shared words over 5 words -> 2*3/(3+5) = 0.75.
    gold = Action.type_and_submit("nav_bar.search_input", "red running shoes size ten")
    at = shop_r1(answer(Action.type_and_submit(gold.name, "red running shoes")), gold)
    assert at.components["value"] == pytest.approx(0.1 + 750.0)


def test_sibling_name_above_threshold_earns_most_of_dars(shop_r1):
    gold = Action.click("results.product_3.add_to_cart")
    sibling = Action.click("results.product_3.add_to_cart_2")  # 6 vs 7 tokens: F1 = 12/13
    assert shop_r1(answer(sibling), gold).components["value"] == pytest.approx(1000 * 12 / 13)
    assert not rewards.exact_match(sibling, gold)


def test_rationale_term_present_only_with_tokens(shop_r1):
    info = rewards.TokenInfo(logsumexp=[3.0, 5.0], mean_logit=[1.0, 1.0], vocab_size=4)
    result = shop_r1(answer(CLICK), CLICK, tokens=info)
    expected = 0.005 * (((3 - 1) + (5 - 1)) / 2 - math.log(4))
    assert result.components["rationale"] == pytest.approx(expected)
    assert result.total == pytest.approx(1001.0 + expected)
    assert "rationale" not in get_reward("no_rationale")(answer(CLICK), CLICK, tokens=info).components
    # Format failure zeroes the rationale term too (it is known, not guessed).
    assert shop_r1("nope", CLICK, tokens=info).components["rationale"] == 0.0


def test_rationale_span_from_offsets(shop_r1):
    response = '{"rationale": "ab cd", "action": {"type": "terminate"}}'
    start = response.index("ab")
    offsets = [(0, start), (start, start + 2), (start + 2, start + 5), (start + 5, len(response))]
    info = rewards.TokenInfo(logsumexp=[10.0, 2.0, 4.0, 10.0], mean_logit=[0.0] * 4, vocab_size=1, offsets=offsets)
    # Only tokens 1 and 2 (the rationale's) count: mean of 2 and 4.
    assert shop_r1(response, TERMINATE, tokens=info).components["rationale"] == pytest.approx(0.005 * 3.0)


def test_ungated_and_threshold_scope_choices():
    ungated = ShopR1Reward(gate_on_type=False)
    wrong_type_right_name = answer(Action.type_and_submit(CLICK.name, "x"))
    assert ungated(wrong_type_right_name, CLICK).total == pytest.approx(0.5 + 0.2 + 1000.0)
    gold = Action.type_and_submit("nav_bar.search_input", "shoes")
    pred = answer(Action.type_and_submit("nav_bar.search_box_main", "shoes"))  # name tokens 4 vs 5, LCS 3: F1 = 2/3
    assert ShopR1Reward(threshold_scope="dars")(pred, gold).components["value"] == pytest.approx(0.1 * 2 / 3 + 1000)
    assert ShopR1Reward(threshold_scope="all")(pred, gold).components["value"] == pytest.approx(1000)


def test_lenient_parse_mode_override():
    fenced = "Sure!\n```json\n" + answer(CLICK) + "\n```"
    assert get_reward("shop_r1")(fenced, CLICK).total == 0.0
    assert get_reward("shop_r1", parse_mode="lenient")(fenced, CLICK).total == pytest.approx(1001.0)


def test_bad_settings_and_gold_raise_clearly():
    with pytest.raises(ValueError, match="dars_factor"):
        ShopR1Reward(dars_factor=-1)
    with pytest.raises(ValueError, match="sim_threshold"):
        ShopR1Reward(sim_threshold=1.5)
    with pytest.raises(ValueError, match=r"ShopR1Reward\.parse_mode must be one of"):
        ShopR1Reward(parse_mode="loose")
    with pytest.raises(TypeError, match="no setting"):
        get_reward("shop_r1", dars=3)
    with pytest.raises(ValueError, match="non-empty 'name'"):
        get_reward("shop_r1")(answer(CLICK), Action("click"))
    with pytest.raises(TypeError, match="gold must be an Action"):
        get_reward("shop_r1")(answer(CLICK), CLICK.to_dict())


# ------------------------------------------------------------------ presets

def test_presets_available():
    assert {"shop_r1", "binary", "no_format", "no_rationale", "no_dars", "customer_r1", "normalized"} <= set(
        rewards.available_rewards()
    )


def test_ablation_presets():
    assert get_reward("no_format")(answer(CLICK), CLICK).total == pytest.approx(1000.5)
    assert get_reward("no_format")(answer(TERMINATE), CLICK).total == 0.0
    assert get_reward("no_dars")(answer(CLICK), CLICK).total == pytest.approx(2.0)
    assert get_reward("no_dars").config()["dars_factor"] == 1.0
    assert get_reward("no_rationale").rationale_alpha == 0.0
    assert get_reward("shop_r1", dars_factor=10).dars_factor == 10


def test_binary_preset():
    binary = get_reward("binary")
    assert isinstance(binary, BinaryReward)
    assert binary(answer(CLICK), CLICK).total == 1.0
    assert binary(answer(Action.click("results.other")), CLICK).total == 0.0
    assert binary(answer(Action.type_and_submit(SEARCH.name, SEARCH.text.upper())), SEARCH).total == 1.0
    assert binary("nonsense", TERMINATE).total == 0.0


@pytest.mark.parametrize(
    ("gold", "click_type", "expected"),
    [
        (CLICK, None, 1001.0),
        (CLICK, "product_link", 1001.0),
        (CLICK, "product_option", 11.0),
        (CLICK, "review", 2.0),
        (CLICK, "search", 2.0),
        (SEARCH, None, 2001.0),
        (TERMINATE, None, 2.0),
    ],
)
def test_customer_r1_difficulty_weights(gold, click_type, expected):
    reward = get_reward("customer_r1")
    step = Step(html="", action=gold, click_type=click_type)
    assert reward(answer(gold), gold, step=step).total == pytest.approx(expected)
    assert reward.max_total(gold, step) == pytest.approx(expected)


def test_customer_r1_wrong_answers():
    reward = get_reward("customer_r1")
    assert reward(answer(Action.click("results.other")), CLICK).components == {"format": 1.0, "action": -1.0}
    assert reward(answer(Action.click("results.other")), TERMINATE).total == pytest.approx(0.0)
    assert reward(answer(TERMINATE), CLICK).total == pytest.approx(1.0)
    assert reward("{}", CLICK).total == 0.0
    assert reward.min_total() == 0.0


def test_normalized_preset_lies_in_unit_interval():
    normalized = get_reward("normalized")
    assert isinstance(normalized, NormalizedReward)
    assert normalized(answer(CLICK), CLICK).total == pytest.approx(1.0)
    assert normalized(answer(TERMINATE), TERMINATE).total == pytest.approx(1.0)
    assert normalized(answer(TERMINATE), CLICK).total == pytest.approx(0.5 / 1001.0)
    result = normalized(answer(Action.click("nav_bar.cart")), CLICK)
    assert sum(result.components.values()) == pytest.approx(result.total)
    assert get_reward("normalized", dars_factor=1.0)(answer(Action.click("nav_bar.cart")), CLICK).total == pytest.approx(0.5)


def test_config_is_json_and_distinguishes_presets():
    configs = {name: json.dumps(get_reward(name).config(), sort_keys=True) for name in rewards.available_rewards()
               if name in {"shop_r1", "binary", "no_format", "no_rationale", "no_dars", "customer_r1", "normalized"}}
    assert len(set(configs.values())) == len(configs)


def test_breakdown_to_dict_is_json():
    data = get_reward("shop_r1")(answer(CLICK), CLICK).to_dict()
    assert json.loads(json.dumps(data))["parsed"]["action"] == CLICK.to_dict()


# ------------------------------------------------------------------ properties (hypothesis)

PRESET_NAMES = ["shop_r1", "binary", "no_format", "no_rationale", "no_dars", "customer_r1", "normalized"]
_name = st.from_regex(r"[a-z][a-z0-9]{0,6}(\.[a-z0-9_]{1,8}){0,3}", fullmatch=True)
_text = st.lists(st.sampled_from(["red", "shoes", "blue", "cheap", "size", "10", "men", "bag"]), min_size=1,
                 max_size=6).map(" ".join)
_maybe = st.one_of(st.none(), st.text(max_size=12), _name)
golds = st.one_of(
    _name.map(Action.click),
    st.builds(Action.type_and_submit, _name, _text),
    st.just(Action.terminate()),
)
any_actions = st.one_of(
    golds,
    st.builds(Action, st.sampled_from(["click", "type_and_submit", "terminate"]), _maybe, _maybe),
)
click_types = st.one_of(st.none(), st.sampled_from(["product_option", "review", "search", "purchase", "other"]))


def _response_for(draw_action: Action, style: int) -> str:
    text = answer(draw_action)
    return [text, "  " + text + "\n", "```json\n" + text + "\n```", "Answer: " + text][style]


arbitrary_responses = st.one_of(
    st.text(max_size=200),
    st.builds(_response_for, any_actions, st.integers(0, 3)),
    st.builds(lambda d: json.dumps(d), st.dictionaries(st.sampled_from(["rationale", "action", "x"]),
                                                         st.one_of(st.text(max_size=5), st.integers(),
                                                                   st.dictionaries(st.sampled_from(["type", "name", "text"]),
                                                                                   st.one_of(st.text(max_size=8), st.none(), st.integers()))))),
)


@pytest.mark.parametrize("preset", PRESET_NAMES)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(response=arbitrary_responses, gold=golds, click_type=click_types)
def test_any_string_scores_finite_within_bounds(preset, response, gold, click_type):
    for mode in ("strict", "lenient"):
        reward = get_reward(preset, parse_mode=mode)
        step = Step(html="", action=gold, click_type=click_type)
        result = reward(response, gold, step=step)
        assert math.isfinite(result.total)
        assert reward.min_total() - 1e-9 <= result.total <= reward.max_total(gold, step) + 1e-9
        assert sum(result.components.values()) == pytest.approx(result.total)
        assert set(reward.component_names) <= set(result.components)


@pytest.mark.parametrize("preset", PRESET_NAMES)
@settings(max_examples=150, deadline=None)
@given(gold=golds, other=any_actions, click_type=click_types)
def test_gold_answer_scores_at_least_any_other(preset, gold, other, click_type):
    reward = get_reward(preset)
    step = Step(html="", action=gold, click_type=click_type)
    best = reward(answer(gold), gold, step=step).total
    assert best == pytest.approx(reward.max_total(gold, step))
    assert best >= reward(answer(other), gold, step=step).total
