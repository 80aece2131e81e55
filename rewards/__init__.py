"""rewards: the Shop-R1 reward as pure functions, presets, plug-ins and trainer adapters.

Every reward has the call shape ``reward(response, gold, *, step=None, tokens=None)`` and
returns a :class:`RewardBreakdown`. ``import rewards`` never imports torch or transformers:
only the logits helpers of :mod:`rewards.self_certainty` import torch, inside the functions.

Example::

    import rewards
    from shop_env import Action

    reward = rewards.get_reward("shop_r1")
    answer = rewards.format_response("I want the cheaper ones.", Action.click("refinements.price_low"))
    reward(answer, Action.click("refinements.price_low")).total   # 1001.0
"""

from __future__ import annotations

from shop_env.core.protocol import ParsedResponse, format_response, parse_response

from .base import (
    ENTRY_POINT_GROUP,
    FunctionReward,
    Reward,
    RewardBreakdown,
    WeightedSum,
    as_breakdown,
    available_rewards,
    get_reward,
    register_reward,
    validate_gold,
    weighted_sum,
)
from .binary import BinaryReward
from .customer_r1 import CustomerR1Reward
from .metrics import compute_metrics, exact_match, type_match
from .self_certainty import DEFAULT_ALPHA, locate_rationale_span, self_certainty, token_stats
from .shop_r1 import NormalizedReward, ShopR1Reward
from .similarity import rouge_l_f1, thresholded
from .tokens import TokenInfo

__all__ = [
    "DEFAULT_ALPHA",
    "ENTRY_POINT_GROUP",
    "BinaryReward",
    "CustomerR1Reward",
    "FunctionReward",
    "NormalizedReward",
    "ParsedResponse",
    "Reward",
    "RewardBreakdown",
    "ShopR1Reward",
    "TokenInfo",
    "WeightedSum",
    "as_breakdown",
    "available_rewards",
    "compute_metrics",
    "exact_match",
    "format_response",
    "get_reward",
    "locate_rationale_span",
    "parse_response",
    "register_reward",
    "rouge_l_f1",
    "self_certainty",
    "thresholded",
    "token_stats",
    "type_match",
    "validate_gold",
    "weighted_sum",
]
