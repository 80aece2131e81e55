"""Customer-R1's reward: a format bonus and an exact-match reward weighted by the action's difficulty."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from shop_env.core.protocol import parse_response
from shop_env.core.types import Action, Step

from .base import RewardBreakdown, check_settings, validate_gold
from .metrics import exact_match
from .tokens import TokenInfo

__all__ = ["CustomerR1Reward"]


def _default_click_type_weights() -> dict[str, float]:
    return {"product_option": 10.0, "review": 1.0, "search": 1.0}


@dataclass(frozen=True)
class CustomerR1Reward:
    """Customer-R1's reward: binary format + exact-match action reward weighted by difficulty.

    SPEC section 2: text input 2000, most clicks 1000, product-option clicks 10, review or
    search clicks 1, terminate 1, wrong click -1. The click weight is chosen by the gold
    step's ``click_type`` (``step.click_type``; a missing one counts as "most clicks").
    [choice] "wrong click" means the prediction is a click that is not an exact match (it
    pays ``wrong_click_reward``); other wrong answers earn 0 action reward. An unparseable
    response scores 0 in every component.

    Attributes:
        name: preset name.
        format_reward: paid when the response parses.
        input_weight: exact type_and_submit.
        click_weight: exact click whose click type is not in ``click_type_weights``.
        terminate_weight: exact terminate.
        click_type_weights: exact click, by the gold step's click type.
        wrong_click_reward: a predicted click that is wrong.
        text_threshold: ROUGE-L threshold of the exact-match text rule.
        parse_mode: ``"strict"`` or ``"lenient"``.
    """

    name: str = "customer_r1"
    format_reward: float = 1.0
    input_weight: float = 2000.0
    click_weight: float = 1000.0
    terminate_weight: float = 1.0
    click_type_weights: Mapping[str, float] = field(default_factory=_default_click_type_weights)
    wrong_click_reward: float = -1.0
    text_threshold: float = 0.75
    parse_mode: str = "strict"

    component_names: ClassVar[tuple[str, ...]] = ("format", "action")

    def __post_init__(self) -> None:
        check_settings(
            self,
            non_negative=("format_reward", "input_weight", "click_weight", "terminate_weight"),
            finite=("wrong_click_reward",),
        )
        for key, weight in self.click_type_weights.items():
            if not isinstance(weight, (int, float)) or isinstance(weight, bool) or not math.isfinite(weight) or weight < 0:
                raise ValueError(f"CustomerR1Reward.click_type_weights[{key!r}] must be a finite number >= 0")
        object.__setattr__(self, "click_type_weights", dict(self.click_type_weights))

    def difficulty_weight(self, gold: Action, step: Step | None = None) -> float:
        """The reward for answering ``gold`` exactly, given the gold step's click type."""
        if gold.type == "type_and_submit":
            return self.input_weight
        if gold.type == "terminate":
            return self.terminate_weight
        click_type = step.click_type if step is not None else None
        if click_type is not None and click_type in self.click_type_weights:
            return float(self.click_type_weights[click_type])
        return self.click_weight

    def __call__(
        self, response: str, gold: Action, *, step: Step | None = None, tokens: TokenInfo | None = None
    ) -> RewardBreakdown:
        gold = validate_gold(gold)
        parsed = parse_response(response, self.parse_mode)
        if not parsed.ok:
            return RewardBreakdown(0.0, {"format": 0.0, "action": 0.0}, parse_error=parsed.error, parsed=parsed)
        pred = parsed.action
        assert pred is not None
        if exact_match(pred, gold, text_threshold=self.text_threshold):
            action = self.difficulty_weight(gold, step)
        elif pred.type == "click":
            action = self.wrong_click_reward
        else:
            action = 0.0
        components = {"format": self.format_reward, "action": action}
        return RewardBreakdown(self.format_reward + action, components, parsed=parsed)

    def config(self) -> dict[str, Any]:
        return {"class": type(self).__name__, **asdict(self)}

    def max_total(self, gold: Action, step: Step | None = None) -> float:
        gold = validate_gold(gold)
        return self.format_reward + self.difficulty_weight(gold, step)

    def min_total(self) -> float:
        return min(0.0, self.format_reward + min(0.0, self.wrong_click_reward))
