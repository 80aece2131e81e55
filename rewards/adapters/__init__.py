"""Trainer adapters over the same reward functions: TRL reward functions and a verl ``compute_score``.

Neither adapter imports its trainer: they only shape inputs and outputs.
"""

from __future__ import annotations

from ._common import completion_text, gold_from_column
from .trl import make_trl_reward_funcs
from .verl import compute_score, make_verl_row

__all__ = ["completion_text", "compute_score", "gold_from_column", "make_trl_reward_funcs", "make_verl_row"]
