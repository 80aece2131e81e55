"""Plug-ins: the registry, entry-point discovery, weighted sums and the user-shaper example."""

from __future__ import annotations

import importlib.metadata

import pytest

import rewards
from rewards import RewardBreakdown, format_response, get_reward, register_reward, weighted_sum
from rewards.base import _REGISTRY, ENTRY_POINT_GROUP, FunctionReward, WeightedSum
from rewards.examples import RationaleLengthPenalty, search_term_bonus, shaped_shop_r1
from shop_env.types import Action

CLICK = Action.click("refinements.price")
LONG = " ".join(["word"] * 30)


@pytest.fixture
def clean_registry():
    saved = dict(_REGISTRY)
    yield
    _REGISTRY.clear()
    _REGISTRY.update(saved)


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(KeyError, match="shop_r1"):
        get_reward("nope")


def test_reward_objects_pass_through():
    reward = get_reward("no_dars")
    assert get_reward(reward) is reward
    changed = get_reward(reward, dars_factor=3.0, parse_mode="lenient")
    assert (changed.dars_factor, changed.parse_mode, changed.name) == (3.0, "lenient", "no_dars")
    assert reward.dars_factor == 1.0
    assert get_reward(get_reward("normalized"), parse_mode="lenient").base.parse_mode == "lenient"
    with pytest.raises(TypeError, match="no setting"):
        get_reward(reward, dars=3)
    wrapped = get_reward(lambda r, g, **kw: kw["value"], value=1)  # a function takes settings as keywords
    assert isinstance(wrapped, FunctionReward) and wrapped("x", CLICK).total == 1.0

    class Callable:
        def __call__(self, response, gold, *, step=None, tokens=None):
            return 0.0

    with pytest.raises(TypeError, match="cannot apply overrides"):
        get_reward(Callable(), value=1)
    # inside a sum, the error names the part that cannot parse another way
    summed = WeightedSum([("binary", 1.0), (Callable(), 0.5)], name="mix")
    with pytest.raises(TypeError, match="reward 'mix': part 'Callable' cannot take parse_mode='lenient'"):
        summed.replace(parse_mode="lenient")


def test_register_function_and_class(clean_registry):
    @register_reward("always_one")
    def always_one(response, gold, *, step=None, tokens=None, value=1.0):
        return value

    assert "always_one" in rewards.available_rewards()
    reward = get_reward("always_one", value=2.5)
    assert isinstance(reward, FunctionReward)
    assert reward("anything", CLICK) == RewardBreakdown(2.5, {"total": 2.5})
    assert reward.config()["settings"] == {"value": 2.5}

    @register_reward("bad_return")
    def bad_return(response, gold, *, step=None, tokens=None):
        return "high"

    with pytest.raises(TypeError, match="must return a RewardBreakdown or a number"):
        get_reward("bad_return")("x", CLICK)


def test_function_rewards_report_the_answer_and_take_a_parse_mode(clean_registry):
    """A shaper that returns a number keeps no parse: the env still reports the predicted
    action, exact match and parse error (parsed in the reward's mode), and parse_mode is the
    wrapper's, never passed to the function."""
    import gymnasium as gym

    seen = []

    @register_reward("const_one")
    def const_one(response, gold, *, step=None, tokens=None, **settings):
        seen.append(settings)
        return 1.0

    env = gym.make("ShopR1-v0", corpus="demo", split="test", reward="const_one")
    _, info = env.reset(seed=0)
    gold = info["gold_action"]
    _, reward, *_, info = env.step(format_response("I go on.", gold))
    scored = info["scored"]
    assert reward == 1.0 and scored["predicted_action"] == gold and scored["exact_match"]
    assert scored["parse_error"] is None and scored["rationale"] == "I go on."
    _, _, *_, info = env.step("garbage")
    assert info["scored"]["predicted_action"] is None and not info["scored"]["exact_match"]
    assert "one JSON object" in info["scored"]["parse_error"]

    fenced = "```json\n" + format_response("x", gold) + "\n```"
    lenient = gym.make("ShopR1-v0", corpus="demo", split="test", reward="const_one", parse_mode="lenient")
    assert lenient.unwrapped.reward.parse_mode == "lenient"
    lenient.reset(seed=0)
    *_, info = lenient.step(fenced)
    assert info["scored"]["exact_match"] and all(s == {} for s in seen)
    with pytest.raises(ValueError, match="parse_mode must be one of"):
        get_reward("const_one", parse_mode="loose")

    both = gym.make("ShopR1-v0", corpus="demo", split="test",
                    reward=weighted_sum({"shop_r1": 1.0, "const_one": 0.5}), parse_mode="lenient")
    assert [r.parse_mode for _, r, _ in both.unwrapped.reward.parts] == ["lenient", "lenient"]
    with pytest.raises(TypeError, match="no setting"):
        get_reward(weighted_sum({"shop_r1": 1.0}), dars_factor=2)


def test_a_shaper_that_names_parse_mode_gets_it(clean_registry):
    @register_reward("parses_itself")
    def parses_itself(response, gold, *, step=None, tokens=None, parse_mode="strict"):
        return 1.0 if rewards.parse_response(response, parse_mode).ok else 0.0

    fenced = "```json\n" + format_response("x", CLICK) + "\n```"
    assert get_reward("parses_itself")(fenced, CLICK).total == 0.0
    assert get_reward("parses_itself", parse_mode="lenient")(fenced, CLICK).total == 1.0


def test_bounds_pass_the_step_only_to_max_total_methods_that_take_it():
    from rewards.analysis import disagreement
    from rewards.base import best_total
    from shop_env.types import Step

    class GoldOnly:
        name = "gold_only"

        def __call__(self, response, gold, *, step=None, tokens=None):
            return RewardBreakdown(1.0, {"total": 1.0})

        def max_total(self, gold):
            return 2.0

    step = Step("", CLICK, click_type="review")
    assert best_total(GoldOnly(), CLICK, step) == 2.0
    assert best_total(get_reward("customer_r1"), CLICK, step) == 2.0  # format 1 + a review click's 1
    report = disagreement([format_response("r", CLICK)], [CLICK], GoldOnly(), steps=[step])
    assert report["exact_not_high_reward"] == 0 and report["n"] == 1


def test_example_shapers_run_through_the_registry():
    penalty = get_reward("rationale_length_penalty", max_words=20, per_word=0.5)
    assert isinstance(penalty, RationaleLengthPenalty)
    assert penalty(format_response(LONG, CLICK), CLICK).total == pytest.approx(-5.0)
    assert penalty(format_response("short", CLICK), CLICK).total == 0.0
    gold = Action.type_and_submit("search", "red running shoes")
    bonus = get_reward("search_term_bonus", bonus=1.0)
    assert bonus(format_response("r", Action.type_and_submit("search", "red shoes")), gold).total == pytest.approx(0.8)
    assert search_term_bonus(format_response("r", CLICK), CLICK) == 0.0


def test_weighted_sum_of_shapers():
    shaped = shaped_shop_r1(max_words=20, per_word=0.5)
    result = shaped(format_response(LONG, CLICK), CLICK)
    assert result.total == pytest.approx(1001.0 - 5.0)
    assert result.components["shop_r1.value"] == pytest.approx(1000.0)
    assert result.components["rationale_length_penalty.length"] == pytest.approx(-5.0)
    assert sum(result.components.values()) == pytest.approx(result.total)
    assert shaped.max_total(CLICK) == pytest.approx(1001.0)
    mixed = weighted_sum({"shop_r1": 0.5, "binary": 10.0, search_term_bonus: 1.0})
    assert mixed(format_response("r", CLICK), CLICK).total == pytest.approx(500.5 + 10.0)
    assert mixed.config()["parts"][1]["weight"] == 10.0
    same_twice = weighted_sum([("shop_r1", 1.0), ("shop_r1", 1.0)])
    assert same_twice(format_response("r", CLICK), CLICK).components["shop_r1_2.format"] == 0.5
    with pytest.raises(ValueError):
        weighted_sum({})


def test_entry_point_discovery(monkeypatch, clean_registry):
    fake = importlib.metadata.EntryPoint(
        name="third_party_length", value="rewards.examples:RationaleLengthPenalty", group=ENTRY_POINT_GROUP
    )
    broken = importlib.metadata.EntryPoint(name="broken", value="no_such_module_xyz:thing", group=ENTRY_POINT_GROUP)
    real = importlib.metadata.entry_points

    def entry_points(**kwargs):
        if kwargs.get("group") == ENTRY_POINT_GROUP:
            return importlib.metadata.EntryPoints([fake, broken])
        return real(**kwargs)

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    assert {"third_party_length", "broken"} <= set(rewards.available_rewards())
    reward = get_reward("third_party_length", max_words=1, per_word=1.0)
    assert reward(format_response("two words", CLICK), CLICK).total == pytest.approx(-1.0)
    with pytest.raises(ImportError, match="broken"):
        get_reward("broken")


def test_weighted_sum_bounds_pass_the_step_context():
    from shop_env.types import Step

    mixed = weighted_sum({"customer_r1": 1.0, "binary": 2.0})
    step = Step(html="", action=CLICK, click_type="product_option")
    assert mixed.max_total(CLICK, step) == pytest.approx(11.0 + 2.0)
    assert mixed.max_total(CLICK) == pytest.approx(1001.0 + 2.0)
    assert mixed(format_response("r", CLICK), CLICK, step=step).total == pytest.approx(13.0)
    assert mixed.min_total() == 0.0
