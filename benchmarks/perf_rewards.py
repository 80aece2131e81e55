"""Reward scoring throughput on one core: scored responses per second (target >= 20,000).

The workload mixes what a GRPO group produces: exact and near-miss clicks, wrong types,
type_and_submit answers, missing fields and unparseable text, over a variety of gold
actions. Scoring is pure Python on one thread, so this is a single-core figure. The
reference is the issue's target; each row's ratio is ``value / reference``.

It also times the worst answers (each must score within :data:`WORST_CASE_TARGET_MS`, by
the bounds of :mod:`rewards.similarity` and :mod:`shop_env.core.protocol`), the token
cache's memory under many large distinct answers, and, with ``--self-certainty``, the
default model's per-token self-certainty (what the reward's ``rationale_cap`` must exceed).

Run: ``python -m benchmarks.perf_rewards [--quick] [--self-certainty]``.
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

__all__ = ["TARGET_PER_SECOND", "WORST_CASE_TARGET_MS", "make_workload", "measure_self_certainty", "run",
           "worst_case_rows"]

#: The issue's target: scored responses per second on one core.
TARGET_PER_SECOND = 20_000.0
#: The issue's target for any single answer, whatever its size (milliseconds).
WORST_CASE_TARGET_MS = 50.0


def _worst_answers() -> list[tuple[str, str, Any]]:
    """(label, response, gold) for the answers that cost the most to score."""
    import json

    from shop_env.core.protocol import MAX_RESPONSE_CHARS, format_response
    from shop_env.core.types import Action

    click = Action.click("refinements.price_low_to_high")
    search = Action.type_and_submit("nav_bar.search_input", "blue linen shirt")
    near_limit = MAX_RESPONSE_CHARS - 200
    words = " ".join(f"w{i}" for i in range(near_limit // 7))[:near_limit]
    accented = " ".join(f"é{i}" for i in range(near_limit // 7))[:near_limit]
    nested = "text " + '{"a": ' * 64 + json.dumps("p" * 60_000) + "}" * 64
    return [
        ("10 MB name (over the length limit)", format_response("r", Action.click("n" * 10_000_000)), click),
        ("1 MB name of distinct tokens", format_response("r", Action.click(words.replace(" ", "."))), click),
        ("1 MB text of distinct tokens", format_response("r", Action.type_and_submit(search.name, words)), search),
        ("1 MB non-ASCII text", format_response("r", Action.type_and_submit(search.name, accented)), search),
        ("5 million tokens (over the length limit)", format_response("r", Action.type_and_submit(
            search.name, "blue " * 5_000_000)), search),
        ("lenient: 64 nested candidate objects", nested, click),
    ]


def worst_case_rows() -> list[dict[str, Any]]:
    """Milliseconds to score each worst answer (``shop_r1``, strict and lenient; best of 3, cold cache)."""
    from rewards import get_reward
    from rewards.similarity import tokenize

    rows = []
    for mode in ("strict", "lenient"):
        reward = get_reward("shop_r1", parse_mode=mode)
        for label, response, gold in _worst_answers():
            best = float("inf")
            for _ in range(3):
                tokenize.cache_clear()
                t0 = time.perf_counter()
                reward(response, gold)
                best = min(best, time.perf_counter() - t0)
            ms = best * 1000
            rows.append({"name": f"worst answer, {mode}: {label}", "value": ms, "unit": "ms",
                         "reference": WORST_CASE_TARGET_MS, "ratio": ms / WORST_CASE_TARGET_MS})
    return rows


def cache_memory_row(n: int = 60, size: int = 900_000) -> dict[str, Any]:
    """Peak traced memory (MB) of tokenizing ``n`` distinct answers of ``size`` characters."""
    import tracemalloc

    from rewards.similarity import TOKEN_CACHE_BYTES, token_cache_info, tokenize

    tokenize.cache_clear()
    tail = "word " * (size // 5)
    tracemalloc.start()
    for i in range(n):
        tokenize(f"answer {i} " + tail)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    info = token_cache_info()
    tokenize.cache_clear()
    return {"name": f"token cache after {n} distinct {size / 1e6:.1f} MB answers (peak traced, cache bytes "
                    f"{info['bytes'] / 1e6:.1f} MB, {info['entries']} entries)", "value": peak / 1e6, "unit": "MB",
            "reference": TOKEN_CACHE_BYTES / 1e6, "ratio": info["bytes"] / TOKEN_CACHE_BYTES}


def measure_self_certainty(n_steps: int = 40, model: str | None = None) -> dict[str, Any]:
    """The default model's per-token self-certainty on demo test answers (teacher-forced).

    For the first ``n_steps`` test steps (current page only, 1,024-token budget), the gold
    answer (``format_response``) is appended to the chat prompt and one forward pass gives the
    logits at every answer token; each token's ``logsumexp - mean - log|V|`` is collected.

    Returns:
        ``{"model", "steps", "tokens", "mean", "p99", "max", "vocab_size"}`` (nats per token).
    """
    import math

    import numpy as np
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from agents.models import DEFAULT_MODEL, resolve_model
    from rewards.self_certainty import token_stats
    from shop_env.context import ContextBuilder, ContextConfig
    from shop_env.core.protocol import format_response
    from shop_env.core.token_count import tokenizer_counter
    from shop_env.corpus import load_corpus

    path = resolve_model(model or DEFAULT_MODEL)
    tok = AutoTokenizer.from_pretrained(path)
    lm = AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch.float32).eval()
    builder = ContextBuilder(ContextConfig(history="latest", token_budget=1024),
                             token_counter=tokenizer_counter(tok))
    values: list[float] = []
    steps = 0
    for session in load_corpus("demo", split="test"):
        episode = builder.episode(session)
        for t, step in enumerate(session.steps):
            if steps >= n_steps:
                break
            prompt = tok.apply_chat_template(episode.messages(t), tokenize=False, add_generation_prompt=True)
            answer = format_response(step.rationale or "I pick this.", step.action)
            p_ids = tok(prompt, add_special_tokens=False)["input_ids"]
            a_ids = tok(answer, add_special_tokens=False)["input_ids"]
            with torch.no_grad():
                logits = lm(torch.tensor([p_ids + a_ids])).logits[0]
            # the logits that produced each answer token sit one position earlier
            lse, mean = token_stats(logits[len(p_ids) - 1:len(p_ids) + len(a_ids) - 1])
            values.extend((lse - mean - math.log(logits.shape[-1])).tolist())
            steps += 1
        if steps >= n_steps:
            break
    arr = np.asarray(values)
    return {"model": str(model or DEFAULT_MODEL), "steps": steps, "tokens": int(arr.size), "mean": float(arr.mean()),
            "p99": float(np.quantile(arr, 0.99)), "max": float(arr.max()), "vocab_size": int(lm.config.vocab_size)}


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
    rows.extend(worst_case_rows())
    rows.append(cache_memory_row())
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.perf_rewards", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small workload")
    parser.add_argument("--self-certainty", action="store_true",
                        help="only measure the default model's per-token self-certainty (loads the model)")
    parser.add_argument("--steps", type=int, default=40, help="test steps for --self-certainty")
    args = parser.parse_args()
    if args.self_certainty:
        figures = measure_self_certainty(args.steps)
        print(", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items()))
        return
    rows = run(quick=args.quick)
    width = max(len(r["name"]) for r in rows)
    print(f"{'benchmark':<{width}}  {'value':>12}  {'unit':<12}  {'reference':>10}  {'ratio':>6}")
    for r in rows:
        ref = "-" if r["reference"] is None else f"{r['reference']:,.0f}"
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        print(f"{r['name']:<{width}}  {r['value']:>12,.2f}  {r['unit']:<12}  {ref:>10}  {ratio:>6}")


if __name__ == "__main__":
    main()
