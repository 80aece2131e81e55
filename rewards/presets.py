"""The named presets of :func:`rewards.get_reward`: the paper's reward, its baselines and ablations.

| name | what |
|---|---|
| ``shop_r1`` | the paper's reward (format 0.5, type 0.3, attributes, DARS 1000, threshold 0.75) |
| ``binary`` | 1 for an exact match of the whole action, else 0 |
| ``no_format`` | ``shop_r1`` without the format reward |
| ``no_rationale`` | ``shop_r1`` without the self-certainty term |
| ``no_dars`` | ``shop_r1`` with DARS factor 1 |
| ``customer_r1`` | Customer-R1's difficulty-weighted exact-match reward |
| ``normalized`` | ``shop_r1`` divided by the best total for the gold type, in [0, 1] |

Overrides given to :func:`get_reward` replace the preset's settings.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any

from .base import register_reward
from .binary import BinaryReward
from .customer_r1 import CustomerR1Reward
from .shop_r1 import NormalizedReward, ShopR1Reward

__all__ = ["PRESETS", "Preset"]


class Preset:
    """A reward class with preset settings; calling it (or ``_reward_factory``) builds the reward."""

    def __init__(self, name: str, cls: type, **defaults: Any) -> None:
        self.name, self.cls, self.defaults = name, cls, {"name": name, **defaults}

    def _reward_factory(self, **overrides: Any) -> Any:
        if "name" in overrides:
            raise TypeError(f"reward {self.name!r}: 'name' is fixed by the preset")
        if is_dataclass(self.cls):
            known = {f.name for f in fields(self.cls)}
            unknown = sorted(set(overrides) - known)
            if unknown:
                raise TypeError(f"reward {self.name!r} has no setting {unknown}; settings: {sorted(known - {'name'})}")
        return self.cls(**{**self.defaults, **overrides})

    __call__ = _reward_factory

    def __repr__(self) -> str:
        return f"Preset({self.name!r}, {self.cls.__name__}, {self.defaults!r})"


PRESETS: dict[str, Preset] = {
    "shop_r1": Preset("shop_r1", ShopR1Reward),
    "binary": Preset("binary", BinaryReward),
    "no_format": Preset("no_format", ShopR1Reward, format_reward=0.0),
    "no_rationale": Preset("no_rationale", ShopR1Reward, rationale_alpha=0.0),
    "no_dars": Preset("no_dars", ShopR1Reward, dars_factor=1.0),
    "customer_r1": Preset("customer_r1", CustomerR1Reward),
    "normalized": Preset("normalized", NormalizedReward),
}

for _name, _preset in PRESETS.items():
    register_reward(_name)(_preset)
