"""String spaces for a text env: observations are page text, actions are JSON answers.

Gymnasium's ``Text`` space checks every character against a fixed charset, which HTML
(any Unicode) breaks. These spaces accept any string up to a length, and the action
space samples a *valid* answer for the current page from its element candidates, so
``check_env`` and random policies exercise real actions.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

__all__ = ["StringSpace", "ResponseSpace"]


class StringSpace(spaces.Space[str]):
    """Any ``str`` of at most ``max_length`` characters (``min_length`` at least)."""

    def __init__(self, max_length: int = 10_000_000, min_length: int = 0, seed: int | np.random.Generator | None = None):
        self.max_length, self.min_length = int(max_length), int(min_length)
        super().__init__(dtype=str, seed=seed)

    @property
    def is_np_flattenable(self) -> bool:
        return False

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        length = int(self.np_random.integers(self.min_length, min(self.max_length, 64) + 1))
        letters = "abcdefghijklmnopqrstuvwxyz "
        return "".join(letters[i] for i in self.np_random.integers(0, len(letters), size=length))

    def __repr__(self) -> str:
        return f"StringSpace(max_length={self.max_length})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StringSpace) and (self.max_length, self.min_length) == (
            other.max_length,
            other.min_length,
        )


class ResponseSpace(StringSpace):
    """The agent's answer: a string; ``sample()`` returns a valid JSON answer for the page.

    The env calls :meth:`set_page` with the current page's element candidates (pairs of
    ``(name, kind)`` with kind ``"clickable"`` or ``"input"``). A sample picks an action
    type, then a target among the candidates of the right kind. Objects with a ``text``
    attribute (an agent's generation carrying token data) are accepted too.
    """

    def __init__(self, max_length: int = 100_000, seed: int | np.random.Generator | None = None):
        super().__init__(max_length=max_length, min_length=0, seed=seed)
        self._clickable: tuple[str, ...] = ()
        self._inputs: tuple[str, ...] = ()
        self._words: tuple[str, ...] = ("shoes", "blue", "cheap", "usb", "microphone", "size", "large")

    def set_page(self, elements: Sequence[tuple[str, str]], words: Sequence[str] = ()) -> None:
        self._clickable = tuple(n for n, k in elements if k != "input")
        self._inputs = tuple(n for n, k in elements if k == "input")
        if words:
            self._words = tuple(words)

    def contains(self, x: Any) -> bool:
        text = getattr(x, "text", x)
        return isinstance(text, str) and len(text) <= self.max_length

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        choices = ["terminate"]
        if self._clickable:
            choices.append("click")
        if self._inputs:
            choices.append("type_and_submit")
        kind = choices[int(self.np_random.integers(len(choices)))]
        if kind == "click":
            action = {"type": "click", "name": self._clickable[int(self.np_random.integers(len(self._clickable)))]}
        elif kind == "type_and_submit":
            n_words = int(self.np_random.integers(1, 4))
            text = " ".join(self._words[int(i)] for i in self.np_random.integers(len(self._words), size=n_words))
            action = {
                "type": "type_and_submit",
                "name": self._inputs[int(self.np_random.integers(len(self._inputs)))],
                "text": text,
            }
        else:
            action = {"type": "terminate"}
        return json.dumps({"rationale": "I pick this at random.", "action": action})

    def __repr__(self) -> str:
        return f"ResponseSpace(clickable={len(self._clickable)}, inputs={len(self._inputs)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ResponseSpace) and self.max_length == other.max_length
