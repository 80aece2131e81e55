"""Input shaping shared by the trainer adapters: gold actions from dataset columns, completion text."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from shop_env.core.types import Action, Step

__all__ = ["click_type_from_column", "completion_text", "gold_from_column", "step_context"]


def gold_from_column(value: Any, *, field: str = "gold_action", row: int | None = None) -> Action:
    """The gold :class:`Action` from a dataset cell: an ``Action``, a dict, or its JSON string."""
    where = f"{field}" + (f" (row {row})" if row is not None else "")
    if isinstance(value, Action):
        return value
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("utf-8")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ValueError(f"{where}: not valid JSON: {exc}") from exc
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: expected an action object or its JSON string, got {type(value).__name__}")
    try:
        return Action.from_dict(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from exc


def click_type_from_column(value: Any) -> str | None:
    """A click type from a dataset cell; null-likes (None, NaN, "") become ``None``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value)
    return text or None


def step_context(gold: Action, click_type: str | None) -> Step | None:
    """A minimal gold :class:`Step` carrying the context rewards read (``click_type``)."""
    if click_type is None:
        return None
    return Step(html="", action=gold, click_type=click_type)


def completion_text(completion: Any) -> str:
    """The assistant's text from a TRL completion: a string, or a list of chat messages.

    For chat lists the ``content`` of every assistant message is joined (content given as
    a list of parts contributes its ``text`` parts). Anything else gives ``""`` (which then
    fails to parse and scores 0).
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        completion = [completion]
    if not isinstance(completion, (list, tuple)):
        return ""
    parts: list[str] = []
    for message in completion:
        if not isinstance(message, Mapping) or message.get("role", "assistant") != "assistant":
            continue
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, (list, tuple)):
            parts.extend(p.get("text", "") for p in content if isinstance(p, Mapping) and p.get("type") == "text")
    return "".join(parts)
