"""Trainer adapters: TRL reward functions (per component) and verl's compute_score."""

from __future__ import annotations

import json
import pickle
from collections import defaultdict
from types import SimpleNamespace

import pytest

from rewards import TokenInfo, format_response, get_reward
from rewards.adapters import compute_score, make_trl_reward_funcs, make_verl_row
from rewards.adapters._common import completion_text, gold_from_column
from shop_env.types import Action

CLICK = Action.click("refinements.price")
SEARCH = Action.type_and_submit("nav_bar.search_input", "red shoes")
GOLDS = [CLICK, CLICK, SEARCH, Action.terminate()]
COMPLETIONS = [
    format_response("r", CLICK),
    format_response("r", Action.click("nav_bar.cart")),
    [{"role": "assistant", "content": format_response("r", SEARCH)}],
    "not json",
]
EXPECTED_TOTALS = [1001.0, 1.0, 1001.1, 0.0]


def trl_kwargs(**extra):
    metrics = defaultdict(list)
    kwargs = {
        "gold_action": [g.to_json() for g in GOLDS],
        "click_type": ["filter", None, None, None],
        "trainer_state": SimpleNamespace(global_step=0),
        "log_extra": lambda column, values: None,
        "log_metric": lambda name, value: metrics[name].append(value),
        **extra,
    }
    return kwargs, metrics


def test_trl_component_functions_sum_to_total():
    funcs = make_trl_reward_funcs("shop_r1")
    assert [f.__name__ for f in funcs] == ["shop_r1_format", "shop_r1_type", "shop_r1_attribute", "shop_r1_value"]
    kwargs, metrics = trl_kwargs()
    columns = [f(prompts=["p"] * 4, completions=COMPLETIONS, completion_ids=None, **kwargs) for f in funcs]
    totals = [sum(parts) for parts in zip(*columns, strict=True)]
    assert totals == pytest.approx(EXPECTED_TOTALS)
    assert columns[0] == [0.5, 0.5, 0.5, 0.0]
    assert metrics["shop_r1/parse_failure_rate"] == [0.25]  # scored once, shared by the four functions
    assert metrics["shop_r1/predicted_click"] == [0.5]  # what the policy answered, by type
    assert metrics["shop_r1/predicted_type_and_submit"] == [0.25]
    assert metrics["shop_r1/predicted_terminate"] == [0.0]
    (total,) = make_trl_reward_funcs("shop_r1", split_components=False)
    assert total.__name__ == "shop_r1_total"
    assert total(prompts=["p"] * 4, completions=COMPLETIONS, **kwargs) == pytest.approx(EXPECTED_TOTALS)


def test_trl_uses_click_type_and_overrides():
    (func,) = make_trl_reward_funcs("customer_r1", split_components=False)
    kwargs, _ = trl_kwargs(click_type=["product_option", "review", None, None])
    assert func(prompts=None, completions=COMPLETIONS, **kwargs) == pytest.approx([11.0, 0.0, 2001.0, 0.0])
    funcs = make_trl_reward_funcs("shop_r1", dars_factor=10.0)
    kwargs, _ = trl_kwargs()
    assert funcs[-1](prompts=None, completions=COMPLETIONS, **kwargs)[0] == pytest.approx(10.0)


def test_trl_rationale_function_is_opt_in_and_absent_without_tokens():
    funcs = make_trl_reward_funcs("shop_r1", include_rationale=True)
    assert funcs[-1].__name__ == "shop_r1_rationale"
    info = TokenInfo(logsumexp=[2.0], mean_logit=[0.0], vocab_size=1)
    kwargs, _ = trl_kwargs(token_info=[info, None, None, info])
    values = funcs[-1](prompts=None, completions=COMPLETIONS, **kwargs)
    assert values[0] == pytest.approx(0.005 * 2.0)
    assert values[1] is None and values[2] is None
    assert values[3] == 0.0  # unparseable: every term is 0


def test_trl_functions_pickle_and_report_missing_columns():
    funcs = make_trl_reward_funcs("shop_r1")
    clone = pickle.loads(pickle.dumps(funcs[0]))
    assert clone.__name__ == "shop_r1_format"
    with pytest.raises(KeyError, match="gold_action"):
        funcs[0](prompts=None, completions=COMPLETIONS, click_type=[None] * 4)
    with pytest.raises(ValueError, match=r"gold_action \(row 0\)"):
        funcs[0](prompts=None, completions=["x"], gold_action=["{not json"])


def test_completion_text_shapes():
    assert completion_text("abc") == "abc"
    assert completion_text([{"role": "assistant", "content": "a"}, {"role": "assistant", "content": "b"}]) == "ab"
    assert completion_text([{"role": "assistant", "content": [{"type": "text", "text": "x"}]}]) == "x"
    assert completion_text([{"role": "user", "content": "no"}]) == ""
    assert completion_text(None) == ""


@pytest.mark.slow
def test_trl_grpo_trainer_calculate_rewards_calls_our_functions():
    """Run TRL 1.16's own GRPOTrainer._calculate_rewards over our functions (no model needed)."""
    torch = pytest.importorskip("torch")
    grpo = pytest.importorskip("trl.trainer.grpo_trainer")
    from trl.trainer.utils import get_callable_name

    funcs = make_trl_reward_funcs("shop_r1")
    pending: dict[str, list] = defaultdict(list)
    fake_trainer = SimpleNamespace(
        accelerator=SimpleNamespace(device=torch.device("cpu"), is_main_process=True),
        args=SimpleNamespace(report_to=[]),
        state=SimpleNamespace(global_step=0),
        reward_funcs=funcs,
        reward_processing_classes=[None] * len(funcs),
        reward_func_names=[get_callable_name(f) for f in funcs],
        environments=None,
        _log_completion_extra=lambda column, values: None,
        _log_metric=lambda name, value: pending[name].append(value),
    )
    inputs = [{"prompt": "p", "gold_action": g.to_json(), "click_type": None} for g in GOLDS]
    rewards = grpo.GRPOTrainer._calculate_rewards(fake_trainer, inputs, ["p"] * 4, COMPLETIONS, [[1]] * 4)
    assert fake_trainer.reward_func_names == ["shop_r1_format", "shop_r1_type", "shop_r1_attribute", "shop_r1_value"]
    assert rewards.shape == (4, 4)
    assert rewards.sum(dim=1).tolist() == pytest.approx(EXPECTED_TOTALS, rel=1e-6)
    assert pending["shop_r1/parse_failure_rate"] == [0.25]


# ------------------------------------------------------------------ verl

def test_verl_compute_score_dict_with_fixed_keys():
    out = compute_score("shop_r1", format_response("r", CLICK), CLICK.to_json(), {"click_type": "filter"})
    assert out == {"score": pytest.approx(1001.0), "format": 0.5, "type": 0.3, "attribute": 0.2,
                   "value": pytest.approx(1000.0), "parse_ok": 1.0, "exact_match": 1.0}
    bad = compute_score("shop_r1", "garbage", CLICK.to_dict(), None)
    assert bad["score"] == 0.0 and bad["parse_ok"] == 0.0
    assert set(bad) == set(out)


def test_verl_reads_reward_and_click_type_from_extra_info():
    out = compute_score("shop_r1", format_response("r", CLICK), CLICK.to_json(),
                        {"reward": "customer_r1", "click_type": "product_option"})
    assert out["score"] == pytest.approx(11.0)
    assert set(out) == {"score", "format", "action", "parse_ok", "exact_match"}
    with pytest.raises(ValueError, match="ground_truth"):
        compute_score("shop_r1", "x", "{broken", None)


def test_verl_row_round_trips_to_compute_score():
    row = make_verl_row([{"role": "user", "content": "page"}], SEARCH, click_type=None, index=3)
    assert row["reward_model"] == {"style": "rule", "ground_truth": SEARCH.to_json()}
    out = compute_score(row["data_source"], format_response("r", SEARCH), row["reward_model"]["ground_truth"],
                        row["extra_info"])
    assert out["score"] == pytest.approx(get_reward("shop_r1").max_total(SEARCH))
    json.dumps(row)


def test_verl_module_loads_by_file_path_like_verl():
    import importlib.util

    import rewards.adapters.verl as verl_module

    spec = importlib.util.spec_from_file_location("custom_module", verl_module.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.compute_score("x", format_response("r", CLICK), CLICK.to_json())["score"] == pytest.approx(1001.0)


def test_gold_from_column_errors_name_the_field():
    assert gold_from_column({"type": "terminate"}) == Action.terminate()
    with pytest.raises(ValueError, match=r"gold_action \(row 2\): unknown action type"):
        gold_from_column('{"type": "fly"}', row=2)
    with pytest.raises(ValueError, match="expected an action object"):
        gold_from_column(5)


# ------------------------------------------------------------------ a user's shaper

@pytest.fixture
def const_shaper():
    """A registered shaper that returns a number and keeps no parse of the answer."""
    from rewards import register_reward
    from rewards.adapters import verl
    from rewards.base import _REGISTRY

    @register_reward("adapter_const")
    def adapter_const(response, gold, *, step=None, tokens=None):
        return 1.0

    verl._reward.cache_clear()
    yield "adapter_const"
    _REGISTRY.pop("adapter_const", None)
    verl._reward.cache_clear()


def test_adapters_report_the_answers_of_a_shaper_that_keeps_no_parse(const_shaper):
    (func,) = make_trl_reward_funcs(const_shaper, split_components=False)
    kwargs, metrics = trl_kwargs()
    assert func(prompts=["p"] * 4, completions=COMPLETIONS, **kwargs) == [1.0] * 4
    assert metrics[f"{const_shaper}/parse_failure_rate"] == [0.25]
    assert metrics[f"{const_shaper}/predicted_click"] == [0.5]
    assert metrics[f"{const_shaper}/predicted_type_and_submit"] == [0.25]
    out = compute_score("x", format_response("r", CLICK), CLICK.to_json(), {"reward": const_shaper})
    assert (out["score"], out["parse_ok"], out["exact_match"]) == (1.0, 1.0, 1.0)
    bad = compute_score("x", "garbage", CLICK.to_json(), {"reward": const_shaper})
    assert (bad["parse_ok"], bad["exact_match"]) == (0.0, 0.0)
