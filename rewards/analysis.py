"""Diagnostics of the reward itself, as pure functions over gold actions.

* :func:`dars_gap`: the paper's reason for DARS, as numbers: the expected reward of
  always answering ``terminate`` against a policy that gets the type right and the name or
  text right only some of the time.
* :func:`disagreement` and :func:`sibling_disagreement`: how often the reward and exact
  match disagree (for example a sibling element name with ROUGE-L above the threshold earns
  most of DARS while exact match is 0).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from shop_env.core.protocol import format_response
from shop_env.core.types import ACTION_TYPES, Action, Step

from .base import Reward, answer_of, best_total, get_reward
from .metrics import exact_match
from .similarity import tokenize

__all__ = ["dars_gap", "disagreement", "sibling_disagreement", "sibling_name", "unrelated_value"]

_DEFAULT_RATIONALE = "I think this is what I would do next."
_NUMERIC_SUFFIX = re.compile(r"^(.*_)(\d+)$")


def unrelated_value(value: str, kind: str = "name") -> str:
    """A non-empty value that shares no token with ``value`` (so its similarity is 0)."""
    taken = set(tokenize(value, kind))  # type: ignore[arg-type]
    candidate, i = "unrelated", 0
    while candidate in taken:
        i += 1
        candidate = f"unrelated{i}"
    return candidate


def _steps_for(golds: Sequence[Action], steps: Sequence[Step | None] | None) -> list[Step | None]:
    if steps is None:
        return [None] * len(golds)
    if len(steps) != len(golds):
        raise ValueError(f"steps and golds differ in length: {len(steps)} != {len(golds)}")
    return list(steps)


def _wrong_but_right_type(gold: Action) -> Action:
    if gold.type == "click":
        return Action.click(unrelated_value(gold.name or "", "name"))
    if gold.type == "type_and_submit":
        return Action.type_and_submit(unrelated_value(gold.name or "", "name"), unrelated_value(gold.text or "", "text"))
    return gold


def dars_gap(
    golds: Sequence[Action],
    reward: Reward | str = "shop_r1",
    *,
    steps: Sequence[Step | None] | None = None,
    hit_rate: float = 0.05,
    rationale: str = _DEFAULT_RATIONALE,
) -> dict[str, Any]:
    """Expected reward of two simple policies over a list of gold actions (exact, not sampled).

    ``always_terminate`` answers ``terminate`` at every step. ``type_right`` always gets
    the action type right and, with probability ``hit_rate``, also the name and text;
    otherwise it answers a non-empty name (and text) unrelated to the gold one. Without
    DARS the second policy barely beats the first, which is why a policy collapses toward
    ``terminate``; with DARS it wins by orders of magnitude.

    Args:
        golds: gold actions (for example every step of a test split).
        reward: a reward or a preset name.
        steps: the gold steps, for rewards that need context (``customer_r1``).
        hit_rate: how often the type-right policy also gets the name/text right.
        rationale: the rationale used in every answer.

    Returns:
        ``n``, ``hit_rate``, ``always_terminate``, ``type_right`` (mean rewards),
        ``gap`` (difference), ``ratio`` (type_right / always_terminate, ``None`` when the
        latter is 0), and ``gold_types`` (counts).
    """
    if not golds:
        raise ValueError("dars_gap needs at least one gold action")
    if not 0.0 <= hit_rate <= 1.0:
        raise ValueError(f"hit_rate must be in [0, 1], got {hit_rate}")
    scorer = get_reward(reward)
    terminate_answer = format_response(rationale, Action.terminate())
    total_terminate = total_type_right = 0.0
    counts = dict.fromkeys(ACTION_TYPES, 0)
    for gold, step in zip(golds, _steps_for(golds, steps), strict=True):
        counts[gold.type] += 1
        total_terminate += scorer(terminate_answer, gold, step=step).total
        correct = scorer(format_response(rationale, gold), gold, step=step).total
        wrong = scorer(format_response(rationale, _wrong_but_right_type(gold)), gold, step=step).total
        total_type_right += hit_rate * correct + (1.0 - hit_rate) * wrong
    n = len(golds)
    always_terminate, type_right = total_terminate / n, total_type_right / n
    return {
        "reward": getattr(scorer, "name", repr(scorer)),
        "n": n,
        "hit_rate": hit_rate,
        "always_terminate": always_terminate,
        "type_right": type_right,
        "gap": type_right - always_terminate,
        "ratio": type_right / always_terminate if always_terminate else None,
        "gold_types": counts,
    }


def sibling_name(name: str) -> str:
    """A sibling element's name under the simplified-HTML collision rule (numeric suffix).

    ``a.price_2`` becomes ``a.price_3``; a name without a numeric suffix gets ``_2``.
    """
    match = _NUMERIC_SUFFIX.match(name)
    if match:
        return f"{match.group(1)}{int(match.group(2)) + 1}"
    return f"{name}_2"


def disagreement(
    responses: Sequence[str],
    golds: Sequence[Action],
    reward: Reward | str = "shop_r1",
    *,
    steps: Sequence[Step | None] | None = None,
    high_fraction: float = 0.5,
    max_examples: int = 5,
) -> dict[str, Any]:
    """How often the reward and exact match disagree on scored responses.

    A response has a *high* reward when its total (rationale aside) reaches
    ``high_fraction`` of the best total for its gold action.

    Returns:
        ``n``, counts and rates of ``high_reward_not_exact`` (reward pays, exact match 0)
        and ``exact_not_high_reward``, ``agreement`` (rate), and up to ``max_examples``
        examples of the first kind.
    """
    if len(responses) != len(golds):
        raise ValueError(f"responses and golds differ in length: {len(responses)} != {len(golds)}")
    if not golds:
        raise ValueError("disagreement needs at least one response")
    scorer = get_reward(reward)
    reward_only = exact_only = 0
    examples: list[dict[str, Any]] = []
    for response, gold, step in zip(responses, golds, _steps_for(golds, steps), strict=True):
        result = scorer(response, gold, step=step)
        total = result.total - result.components.get("rationale", 0.0)
        best = best_total(scorer, gold, step)
        high = total >= high_fraction * best
        answer = answer_of(result, response, scorer)
        pred = answer.action if answer.ok else None
        exact = exact_match(pred, gold)
        if high and not exact:
            reward_only += 1
            if len(examples) < max_examples:
                examples.append({
                    "gold": gold.to_dict(),
                    "pred": None if pred is None else pred.to_dict(),
                    "total": total,
                    "max_total": best,
                })
        elif exact and not high:
            exact_only += 1
    n = len(golds)
    return {
        "reward": getattr(scorer, "name", repr(scorer)),
        "n": n,
        "high_fraction": high_fraction,
        "high_reward_not_exact": reward_only,
        "high_reward_not_exact_rate": reward_only / n,
        "exact_not_high_reward": exact_only,
        "exact_not_high_reward_rate": exact_only / n,
        "agreement": (n - reward_only - exact_only) / n,
        "examples": examples,
    }


def sibling_disagreement(
    golds: Sequence[Action],
    reward: Reward | str = "shop_r1",
    *,
    high_fraction: float = 0.5,
    max_examples: int = 5,
) -> dict[str, Any]:
    """Score every gold click's sibling element (:func:`sibling_name`) and report disagreement.

    Every such answer is wrong under exact match; the rate of ``high_reward_not_exact``
    says how much of DARS the reward still pays for a neighbouring element.
    """
    clicks = [g for g in golds if g.type == "click"]
    if not clicks:
        raise ValueError("sibling_disagreement needs at least one gold click")
    responses = [format_response(_DEFAULT_RATIONALE, Action.click(sibling_name(g.name or ""))) for g in clicks]
    report = disagreement(responses, clicks, reward, high_fraction=high_fraction, max_examples=max_examples)
    scorer = get_reward(reward)
    totals = [scorer(r, g).total for r, g in zip(responses, clicks, strict=True)]
    report["mean_sibling_reward"] = sum(totals) / len(totals)
    return report
