"""The reward's diagnostics: the DARS gap (the paper's reason for DARS) and reward/exact disagreement."""

from __future__ import annotations

import pytest

from rewards import format_response
from rewards.analysis import dars_gap, disagreement, sibling_disagreement, sibling_name, unrelated_value
from rewards.similarity import rouge_l_f1
from shop_env.types import Action

C = Action.click
GOLDS = [C("a.b.c"), C("x.y"), Action.type_and_submit("s.q", "red shoes"), Action.terminate()]


def test_dars_gap_by_hand():
    with_dars = dars_gap(GOLDS, "shop_r1")
    assert with_dars["always_terminate"] == pytest.approx((0.5 + 0.5 + 0.5 + 0.8) / 4)
    click = 0.05 * 1001.0 + 0.95 * 1.0
    tas = 0.05 * 1001.1 + 0.95 * 1.0
    assert with_dars["type_right"] == pytest.approx((click + click + tas + 0.8) / 4)
    without = dars_gap(GOLDS, "no_dars")
    assert without["always_terminate"] == pytest.approx(0.575)
    assert without["type_right"] == pytest.approx((1.05 + 1.05 + (0.05 * 2.1 + 0.95) + 0.8) / 4)
    assert with_dars["gap"] > 30 * without["gap"]
    assert with_dars["gold_types"] == {"click": 2, "type_and_submit": 1, "terminate": 1}


def test_dars_gap_hit_rate_extremes_and_errors():
    assert dars_gap(GOLDS, "binary", hit_rate=0.0)["type_right"] == pytest.approx(0.25)  # only terminate
    assert dars_gap(GOLDS, "binary", hit_rate=1.0)["type_right"] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        dars_gap([], "shop_r1")
    with pytest.raises(ValueError):
        dars_gap(GOLDS, "shop_r1", hit_rate=2.0)


def test_unrelated_value_shares_no_token():
    assert rouge_l_f1(unrelated_value("unrelated.x", "name"), "unrelated.x", kind="name") == 0.0
    assert unrelated_value("unrelated unrelated1", "text") == "unrelated2"


def test_sibling_name_rule():
    assert sibling_name("refinements.price") == "refinements.price_2"
    assert sibling_name("refinements.price_2") == "refinements.price_3"


def test_disagreement_counts_both_directions():
    golds = [C("results.item.add_to_cart"), C("nav"), Action.type_and_submit("s", "red shoes size ten")]
    responses = [
        format_response("r", C("results.item.add_to_cart_2")),  # sibling: high reward, not exact
        format_response("r", C("nav")),  # both
        format_response("r", Action.type_and_submit("s", "red shoes size")),  # ROUGE 6/7: both
    ]
    report = disagreement(responses, golds, "shop_r1")
    assert report["high_reward_not_exact"] == 1
    assert report["exact_not_high_reward"] == 0
    assert report["agreement"] == pytest.approx(2 / 3)
    assert report["examples"][0]["pred"] == {"type": "click", "name": "results.item.add_to_cart_2"}
    # Under the binary reward they never disagree.
    assert disagreement(responses, golds, "binary")["agreement"] == 1.0


def test_disagreement_bounds_each_step_by_its_own_click_type():
    """customer_r1 pays an exact product-option click 10 (not 1,000): it is still exact and
    the best answer for that step, so reward and exact match agree."""
    from shop_env.types import Step

    golds = [C("product_options.size.small"), Action.terminate()]
    steps = [Step("", golds[0], click_type="product_option"), Step("", golds[1])]
    responses = [format_response("r", golds[0]), format_response("r", C("nav"))]
    report = disagreement(responses, golds, "customer_r1", steps=steps)
    assert (report["high_reward_not_exact"], report["exact_not_high_reward"]) == (0, 0)


def test_disagreement_reads_the_answer_of_a_shaper_that_keeps_no_parse():
    def const(response, gold, *, step=None, tokens=None):
        return 1.0

    const.max_total = 1.0
    report = disagreement([format_response("r", C("nav")), "garbage"], [C("nav"), C("nav")], const)
    assert (report["high_reward_not_exact"], report["exact_not_high_reward"]) == (1, 0)


def test_sibling_disagreement_on_hand_made_clicks():
    golds = [C("refinements.brand.sony"), C("cart.checkout"), C("home"), Action.terminate()]
    report = sibling_disagreement(golds, "shop_r1")
    # 3 tokens -> 6/7, 2 tokens -> 4/5 (both >= 0.75); 1 token -> 2/3 below the threshold.
    assert report["n"] == 3
    assert report["high_reward_not_exact"] == 2
    # Each sibling also earns format + type + attribute = 1.0.
    assert report["mean_sibling_reward"] == pytest.approx((1000 * 6 / 7 + 1000 * 4 / 5 + 3 * 1.0) / 3)


def _demo_test_golds():
    try:
        from shop_env import load_corpus

        corpus = load_corpus("demo", split="test")
    except (ImportError, ModuleNotFoundError) as exc:
        pytest.skip(f"demo corpus not available: {exc}")
    steps = [step for session in corpus for step in session.steps]
    return [s.action for s in steps], steps


def test_dars_gap_on_demo_test_split():
    golds, _ = _demo_test_golds()
    with_dars = dars_gap(golds, "shop_r1")
    without = dars_gap(golds, "no_dars")
    print(f"\nDARS gap on demo test ({len(golds)} steps): shop_r1 terminate={with_dars['always_terminate']:.4f} "
          f"type_right={with_dars['type_right']:.4f}; no_dars terminate={without['always_terminate']:.4f} "
          f"type_right={without['type_right']:.4f}")
    assert with_dars["type_right"] > 20 * with_dars["always_terminate"]
    assert with_dars["gap"] > 20 * max(without["gap"], 1e-9)


def test_sibling_disagreement_on_demo_test_split():
    golds, _ = _demo_test_golds()
    report = sibling_disagreement(golds, "shop_r1")
    print(f"\nsibling names on demo test: {report['high_reward_not_exact_rate']:.3f} of {report['n']} clicks earn "
          f">= half the best reward with exact match 0; mean reward {report['mean_sibling_reward']:.1f}")
    # Demo names are hierarchical (2+ tokens), so most siblings clear the 0.75 threshold.
    assert report["high_reward_not_exact_rate"] > 0.5
    assert report["exact_not_high_reward"] == 0
