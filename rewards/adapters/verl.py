"""verl reward module: ``compute_score(data_source, solution_str, ground_truth, extra_info)``.

Point verl's ``custom_reward_function.path`` at this file (or ``rewards/adapters/verl.py`` in
an installed tree) with ``custom_reward_function.name=compute_score``. verl's reward
manager takes the returned dict's ``score`` as the reward and logs every other key, one
value per sample, so the keys are the same for every sample of a given preset.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

# Absolute imports: verl loads this file by path (spec_from_file_location), outside the package.
from rewards.adapters._common import click_type_from_column, gold_from_column, step_context
from rewards.base import Reward, answer_of, get_reward
from rewards.metrics import exact_match
from shop_env.core.types import Action

__all__ = ["DATA_SOURCE", "compute_score", "make_verl_row"]

#: The ``data_source`` value our verl datasets carry.
DATA_SOURCE = "shop_r1"


@lru_cache(maxsize=32)
def _reward(name: str) -> Reward:
    return get_reward(name)


def compute_score(data_source: str, solution_str: str, ground_truth: Any, extra_info: dict | None = None) -> dict:
    """Score one response for verl.

    Args:
        data_source: the dataset's name (not used for dispatch: every row is a shopping step).
        solution_str: the decoded response.
        ground_truth: the gold action as a JSON string of ``Action.to_dict()`` or a dict.
        extra_info: optional dict; ``click_type`` (gold step's click type) and ``reward``
            (preset name, default ``shop_r1``) are read.

    Returns:
        ``{"score": total, <component>: value ..., "parse_ok": 0/1, "exact_match": 0/1}``.
    """
    extra = extra_info if isinstance(extra_info, dict) else {}
    reward = _reward(str(extra.get("reward") or "shop_r1"))
    gold = gold_from_column(ground_truth, field="ground_truth")
    click_type = click_type_from_column(extra.get("click_type"))
    result = reward(solution_str if isinstance(solution_str, str) else "", gold, step=step_context(gold, click_type))
    names = tuple(getattr(reward, "component_names", ()))
    out: dict[str, Any] = {"score": float(result.total)}
    for name in names:
        out[name] = float(result.components.get(name, 0.0))
    answer = answer_of(result, solution_str if isinstance(solution_str, str) else "", reward)
    out["parse_ok"] = 1.0 if answer.ok else 0.0
    out["exact_match"] = 1.0 if answer.ok and exact_match(answer.action, gold) else 0.0
    return out


def make_verl_row(
    messages: list[dict[str, str]],
    gold: Action,
    *,
    click_type: str | None = None,
    reward: str = "shop_r1",
    index: int | None = None,
    data_source: str = DATA_SOURCE,
) -> dict[str, Any]:
    """One verl parquet row: ``{data_source, prompt, ability, reward_model, extra_info}``.

    Args:
        messages: the chat prompt (system and user messages).
        gold: the gold action.
        click_type: the gold step's click type (for ``customer_r1``).
        reward: the preset :func:`compute_score` should use.
        index: row index, stored in ``extra_info``.
        data_source: the ``data_source`` column.
    """
    extra: dict[str, Any] = {"reward": reward, "click_type": click_type}
    if index is not None:
        extra["index"] = index
    return {
        "data_source": data_source,
        "prompt": list(messages),
        "ability": "shopping",
        "reward_model": {"style": "rule", "ground_truth": gold.to_json()},
        "extra_info": extra,
    }
