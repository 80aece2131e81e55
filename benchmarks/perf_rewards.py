"""Reward scoring throughput on one core: scored responses per second (target >= 20,000).

The workload mixes what a GRPO group produces: exact and near-miss clicks, wrong types,
type_and_submit answers, missing fields and unparseable text, over a variety of gold
actions. Scoring is pure Python on one thread, so this is a single-core figure. The
reference is the issue's target; each row's ratio is ``value / reference``.

Run: ``python -m benchmarks.perf_rewards [--quick]``.
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

__all__ = ["TARGET_PER_SECOND", "make_workload", "run"]

#: The issue's target: scored responses per second on one core.
TARGET_PER_SECOND = 20_000.0


def make_workload(n: int, seed: int = 0, *, unique: bool = False) -> list[tuple[str, Any]]:
    """``n`` (response, gold) pairs with a realistic mix of answer kinds.

    With ``unique``, every gold name and query gets a distinct suffix, so no tokenization
    is ever served from the similarity cache (the worst case).
    """
    from rewards.analysis import sibling_name
    from shop_env.core.protocol import format_response
    from shop_env.core.types import Action

    rng = random.Random(seed)
    names = [
        "refinements.price_low_to_high", "nav_bar.search_input", "results.product_3.add_to_cart",
        "4_stars_and_above.tiger_rice_cooker_white.product_title", "product_options.size_10", "cart.proceed_to_checkout",
    ]
    queries = ["wireless headphones", "red running shoes size ten", "stainless steel rice cooker 10 cup", "usb c cable"]
    rationale = "I want to compare the cheaper options before deciding."
    pairs: list[tuple[str, Any]] = []
    for i in range(n):
        tag = f"_{i}" if unique else ""
        kind = rng.random()
        if kind < 0.75:
            gold = Action.click(rng.choice(names) + tag)
        elif kind < 0.88:
            gold = Action.type_and_submit("nav_bar.search_input" + tag, rng.choice(queries) + tag.replace("_", " "))
        else:
            gold = Action.terminate()
        answer = rng.random()
        if answer < 0.3:
            pred = gold
        elif answer < 0.5 and gold.type == "click":
            pred = Action.click(sibling_name(gold.name))
        elif answer < 0.65:
            pred = Action.click(rng.choice(names))
        elif answer < 0.75:
            pred = Action.type_and_submit("nav_bar.search_input", rng.choice(queries))
        elif answer < 0.85:
            pred = Action.terminate()
        else:
            pred = None
        if pred is None:
            text = rng.choice(["I will click the button.", '{"rationale": "x", "action": {"type": "scroll"}}', "{"])
        else:
            text = format_response(rationale, pred)
        pairs.append((text, gold))
    return pairs


def _rate(reward: Any, pairs: list[tuple[str, Any]], repeats: int) -> float:
    from rewards.similarity import tokenize

    best = 0.0
    for _ in range(repeats):
        tokenize.cache_clear()
        t0 = time.perf_counter()
        for text, gold in pairs:
            reward(text, gold)
        best = max(best, len(pairs) / (time.perf_counter() - t0))
    return best


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Scored responses per second for the main presets and parse modes (best of repeats)."""
    from rewards import get_reward
    from rewards.metrics import compute_metrics
    from shop_env.core.protocol import parse_response

    n = 5_000 if quick else 50_000
    pairs = make_workload(n)
    repeats = 2 if quick else 3
    rows: list[dict[str, Any]] = []
    unique_rate = _rate(get_reward("shop_r1"), make_workload(n, unique=True), repeats)
    rows.append({"name": "reward scoring, shop_r1 (strict), all names unique, one core", "value": unique_rate,
                 "unit": "responses/s", "reference": TARGET_PER_SECOND, "ratio": unique_rate / TARGET_PER_SECOND})
    for label, reward in (
        ("shop_r1 (strict)", get_reward("shop_r1")),
        ("shop_r1 (lenient)", get_reward("shop_r1", parse_mode="lenient")),
        ("binary", get_reward("binary")),
        ("customer_r1", get_reward("customer_r1")),
    ):
        rate = _rate(reward, pairs, repeats)
        rows.append({"name": f"reward scoring, {label}, one core", "value": rate, "unit": "responses/s",
                     "reference": TARGET_PER_SECOND, "ratio": rate / TARGET_PER_SECOND})
    preds = [parse_response(text).action for text, _ in pairs]
    golds = [gold for _, gold in pairs]
    sessions = [f"s{i // 10}" for i in range(len(pairs))]
    t0 = time.perf_counter()
    compute_metrics(preds, golds, sessions, n_bootstrap=1000)
    seconds = time.perf_counter() - t0
    rows.append({"name": f"compute_metrics, {len(pairs)} steps, 1000 session bootstraps", "value": seconds,
                 "unit": "s", "reference": None, "ratio": None})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.perf_rewards", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small workload")
    args = parser.parse_args()
    rows = run(quick=args.quick)
    width = max(len(r["name"]) for r in rows)
    print(f"{'benchmark':<{width}}  {'value':>12}  {'unit':<12}  {'reference':>10}  {'ratio':>6}")
    for r in rows:
        ref = "-" if r["reference"] is None else f"{r['reference']:,.0f}"
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        print(f"{r['name']:<{width}}  {r['value']:>12,.2f}  {r['unit']:<12}  {ref:>10}  {ratio:>6}")


if __name__ == "__main__":
    main()
