"""TRL reward functions over the shared rewards: one function per component, logged by name.

TRL 1.16's ``GRPOTrainer`` calls every reward function as
``f(prompts=..., completions=..., completion_ids=..., **kwargs)`` where ``kwargs`` holds
every extra dataset column (one value per completion) plus ``trainer_state``,
``log_extra`` and ``log_metric``; it expects one float (or ``None``) per completion and
names each function by its ``__name__``. Our datasets carry the columns ``gold_action``
(JSON of ``Action.to_dict()``) and ``click_type``. The component functions sum to the
reward's total; the batch is scored once and shared by all of them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from shop_env.core.types import ACTION_TYPES

from ..base import Reward, RewardBreakdown, answer_of, get_reward
from ..tokens import TokenInfo
from ._common import click_type_from_column, completion_text, gold_from_column, step_context

__all__ = ["TRLComponentFunc", "make_trl_reward_funcs"]


class _BatchScorer:
    """Scores a batch once and serves every component function from the cached breakdowns."""

    def __init__(self, reward: Reward, gold_column: str, click_type_column: str) -> None:
        self.reward = reward
        self.name = str(getattr(reward, "name", type(reward).__name__))
        self.gold_column = gold_column
        self.click_type_column = click_type_column
        self._key: tuple | None = None
        self._results: list[RewardBreakdown] = []

    def inputs(self, completions: Sequence[Any], kwargs: dict[str, Any]) -> tuple[list[str], list, list]:
        if self.gold_column not in kwargs:
            raise KeyError(
                f"TRL reward function needs the dataset column {self.gold_column!r} (JSON of the gold action); "
                f"got columns {sorted(k for k in kwargs if k not in ('trainer_state', 'log_extra', 'log_metric'))}"
            )
        golds_raw = list(kwargs[self.gold_column])
        n = len(completions)
        if len(golds_raw) != n:
            raise ValueError(f"column {self.gold_column!r} has {len(golds_raw)} values for {n} completions")
        click_raw = kwargs.get(self.click_type_column)
        click_types = [None] * n if click_raw is None else [click_type_from_column(c) for c in click_raw]
        texts = [completion_text(c) for c in completions]
        return texts, golds_raw, click_types

    def score(self, completions: Sequence[Any], kwargs: dict[str, Any]) -> list[RewardBreakdown]:
        texts, golds_raw, click_types = self.inputs(completions, kwargs)
        key = (
            tuple(texts),
            tuple(g if isinstance(g, str) else json.dumps(g, sort_keys=True, default=str) for g in golds_raw),
            tuple(click_types),
        )
        if key == self._key:
            return self._results
        results = []
        for i, (text, gold_raw, click_type) in enumerate(zip(texts, golds_raw, click_types, strict=True)):
            gold = gold_from_column(gold_raw, field=self.gold_column, row=i)
            results.append(self.reward(text, gold, step=step_context(gold, click_type)))
        self._key, self._results = key, results
        log_metric = kwargs.get("log_metric")
        if callable(log_metric) and results:
            answers = [answer_of(r, text, self.reward) for r, text in zip(results, texts, strict=True)]
            failures = sum(not a.ok for a in answers)
            log_metric(f"{self.name}/parse_failure_rate", failures / len(results))
            # What the policy answers, by action type: a collapse onto one type shows here first.
            predicted = [a.action.type for a in answers if a.ok and a.action is not None]
            for action_type in ACTION_TYPES:
                log_metric(f"{self.name}/predicted_{action_type}", predicted.count(action_type) / len(results))
        return results


class TRLComponentFunc:
    """One TRL reward function: a named component (or the total) of a shared reward.

    Picklable and named (``__name__``), so TRL logs it as ``rewards/<name>/mean``.
    """

    def __init__(self, scorer: _BatchScorer, component: str | None, token_column: str | None = None) -> None:
        self._scorer = scorer
        self.component = component
        self.token_column = token_column
        suffix = "total" if component is None else component
        self.__name__ = f"{scorer.name}_{suffix}"

    def __call__(self, prompts: Sequence[Any] | None = None, completions: Sequence[Any] = (),
                 completion_ids: Any = None, **kwargs: Any) -> list[float | None]:
        if self.component == "rationale":
            return self._rationale(completions, kwargs)
        results = self._scorer.score(completions, kwargs)
        if self.component is None:
            return [float(r.total) for r in results]
        return [float(r.components.get(self.component, 0.0)) for r in results]

    def _rationale(self, completions: Sequence[Any], kwargs: dict[str, Any]) -> list[float | None]:
        infos = kwargs.get(self.token_column or "token_info")
        texts, golds_raw, click_types = self._scorer.inputs(completions, kwargs)
        out: list[float | None] = []
        for i, text in enumerate(texts):
            info = infos[i] if infos is not None else None
            if not isinstance(info, TokenInfo):
                out.append(None)  # absent, never guessed; TRL turns None into NaN and ignores it
                continue
            gold = gold_from_column(golds_raw[i], field=self._scorer.gold_column, row=i)
            result = self._scorer.reward(text, gold, step=step_context(gold, click_types[i]), tokens=info)
            out.append(result.components.get("rationale"))
        return out

    def __repr__(self) -> str:
        return f"<TRL reward function {self.__name__}>"


def make_trl_reward_funcs(
    reward: Reward | str = "shop_r1",
    *,
    split_components: bool = True,
    include_rationale: bool = False,
    gold_column: str = "gold_action",
    click_type_column: str = "click_type",
    token_column: str = "token_info",
    **overrides: Any,
) -> list[Callable[..., list[float | None]]]:
    """Reward functions for ``trl.GRPOTrainer(reward_funcs=...)``.

    Args:
        reward: a reward or a preset name (see :func:`rewards.available_rewards`).
        split_components: one function per component (``shop_r1_format``,
            ``shop_r1_type``, ``shop_r1_attribute``, ``shop_r1_value``), whose sum is the
            total; ``False`` gives one function ``<name>_total``.
        include_rationale: add ``<name>_rationale``, read from the ``token_column``
            keyword (one :class:`TokenInfo` or ``None`` per completion). Off by default:
            the trainer adds the rationale term from its own logits.
        gold_column: dataset column holding the gold action (JSON string or dict).
        click_type_column: dataset column holding the gold step's click type.
        token_column: keyword that carries token information, with ``include_rationale``.
        **overrides: settings for a named reward (``dars_factor=...``).

    Returns:
        The functions; keep the default reward weights (1.0 each) so they add up.
    """
    scorer = _BatchScorer(get_reward(reward, **overrides), gold_column, click_type_column)
    names = tuple(getattr(scorer.reward, "component_names", ()))
    funcs: list[Callable[..., list[float | None]]]
    if split_components and names:
        funcs = [TRLComponentFunc(scorer, c) for c in names]
    else:
        funcs = [TRLComponentFunc(scorer, None)]
    if include_rationale:
        funcs.append(TRLComponentFunc(scorer, "rationale", token_column))
    return funcs
