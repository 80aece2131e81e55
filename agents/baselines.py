"""The baseline agents, which need no model: random, majority, rule-based heuristic and the oracle.

They answer through the same JSON format as LLMs, so the env's parser and reward score
them exactly like a model, and they read only what a model may read (the observation and
the page and past actions the observation shows, and the page's element candidates), except the oracle, which reads ``info["gold_action"]`` on
purpose: it proves the maximum reward and that the metrics reach 1.0.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from shop_env.core.protocol import format_response
from shop_env.core.types import Action
from shop_env.corpus import Corpus
from shop_env.predictors import heuristic_action, majority_action, page_names

from .base import Generation

__all__ = [
    "HeuristicAgent",
    "MajorityAgent",
    "OracleAgent",
    "RandomAgent",
    "heuristic_action",  # the rule functions, re-exported from shop_env.predictors for older imports
    "majority_action",
    "page_names",
    "random_choices",
]


def _answer(action: Action, rationale: str) -> Generation:
    return Generation(text=format_response(rationale, action), latency_s=0.0)


def random_choices(candidates: Sequence[Any]) -> list[Action]:
    """Everything the random agent may answer on a page: each clickable element, each input
    (typing a fixed placeholder query), and terminate; it picks one uniformly."""
    out = [Action.click(c.name) for c in candidates if c.kind != "input"]
    out += [Action.type_and_submit(c.name, "something") for c in candidates if c.kind == "input"]
    out.append(Action.terminate())
    return out


class RandomAgent:
    """Uniform over :func:`random_choices` of the page (needs ``info["candidates"]``)."""

    name = "random"

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed)

    def act(self, observations: Sequence[str], infos: Sequence[dict]) -> list[Generation]:
        out = []
        for info in infos:
            if "candidates" not in info:
                raise KeyError("RandomAgent needs info['candidates']: create the env with with_candidates=True")
            out.append(_answer(self._rng.choice(random_choices(info["candidates"])), "I pick something at random."))
        return out


class MajorityAgent:
    """Always the most frequent action of the training split."""

    name = "majority"

    def __init__(self, train_corpus: Corpus | Sequence[Any] | None = None, action: Action | None = None) -> None:
        if action is None:
            from shop_env.corpus import load_corpus

            action = majority_action(train_corpus if train_corpus is not None else load_corpus("demo", split="train"))
        self.action = action

    def act(self, observations: Sequence[str], infos: Sequence[dict]) -> list[Generation]:
        return [_answer(self.action, "I do what most shoppers do here.") for _ in observations]


class HeuristicAgent:
    """The rule-based shopper of :func:`shop_env.predictors.heuristic_action`, reading only the
    page and the past actions the observation shows (``info["page"]``, ``info["past_actions"]``)."""

    name = "heuristic"

    def act(self, observations: Sequence[str], infos: Sequence[dict]) -> list[Generation]:
        return [_answer(heuristic_action(info["page"], info["past_actions"]), "This is the obvious next step.")
                for info in infos]


class OracleAgent:
    """Answers the gold action (upper bound of every metric and reward)."""

    name = "oracle"

    def act(self, observations: Sequence[str], infos: Sequence[dict]) -> list[Generation]:
        return [_answer(info["gold_action"], "I do exactly what the shopper did.") for info in infos]
