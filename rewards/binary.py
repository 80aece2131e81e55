"""The paper's binary baseline reward: an exact match pays, anything else does not."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from shop_env.core.protocol import parse_response
from shop_env.core.types import Action, Step

from .base import RewardBreakdown, check_settings, validate_gold
from .metrics import exact_match
from .tokens import TokenInfo

__all__ = ["BinaryReward"]


@dataclass(frozen=True)
class BinaryReward:
    """The paper's binary baseline: ``correct_reward`` for an exact match (SPEC section 4), else 0."""

    name: str = "binary"
    correct_reward: float = 1.0
    text_threshold: float = 0.75
    parse_mode: str = "strict"

    component_names: ClassVar[tuple[str, ...]] = ("exact",)

    def __post_init__(self) -> None:
        check_settings(self, non_negative=("correct_reward",))
        if not 0.0 <= self.text_threshold <= 1.0:
            raise ValueError(f"BinaryReward.text_threshold must be in [0, 1], got {self.text_threshold!r}")

    def __call__(
        self, response: str, gold: Action, *, step: Step | None = None, tokens: TokenInfo | None = None
    ) -> RewardBreakdown:
        gold = validate_gold(gold)
        parsed = parse_response(response, self.parse_mode)
        hit = parsed.ok and exact_match(parsed.action, gold, text_threshold=self.text_threshold)
        score = self.correct_reward if hit else 0.0
        return RewardBreakdown(score, {"exact": score}, parse_error=parsed.error, parsed=parsed)

    def config(self) -> dict[str, Any]:
        return {"class": type(self).__name__, **asdict(self)}

    def max_total(self, gold: Action, step: Step | None = None) -> float:
        validate_gold(gold)
        return self.correct_reward

    def min_total(self) -> float:
        return 0.0
