"""String spaces for a text env: observations are page text, actions are JSON answers.

Gymnasium's ``Text`` space checks every character against a fixed charset, which HTML
(any Unicode) breaks. These spaces accept any string up to a length, and the action
space samples a *valid* answer for the current page from its element candidates, so
``check_env`` and random policies exercise real actions.
"""

from __future__ import annotations

import json
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

    The env calls :meth:`set_page` with the current page's simplified HTML; the page's
    element candidates are parsed only when a sample is drawn (never on an env step that
    nobody samples for). A sample picks an action type, then a target among the candidates
    of the right kind. Objects with a ``text`` attribute (an agent's generation carrying
    token data) are accepted too.
    """

    _DEFAULT_WORDS = ("shoes", "blue", "cheap", "usb", "microphone", "size", "large")

    def __init__(self, max_length: int = 100_000, seed: int | np.random.Generator | None = None):
        super().__init__(max_length=max_length, min_length=0, seed=seed)
        self._page = ""
        self._parsed: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]] | None = None

    def set_page(self, page_html: str) -> None:
        self._page, self._parsed = page_html, None

    def _elements(self) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        """(clickable names, input names, query words) of the current page, parsed once."""
        if self._parsed is None:
            from .html import candidates

            try:
                elements = candidates(self._page) if self._page else []
            except Exception:  # an unparseable page still allows terminate
                elements = []
            words = _words(self._page[-4000:]) or self._DEFAULT_WORDS
            self._parsed = (tuple(c.name for c in elements if c.kind != "input"),
                            tuple(c.name for c in elements if c.kind == "input"), tuple(words))
        return self._parsed

    def contains(self, x: Any) -> bool:
        text = getattr(x, "text", x)
        return isinstance(text, str) and len(text) <= self.max_length

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        clickable, inputs, words = self._elements()
        choices = ["terminate"]
        if clickable:
            choices.append("click")
        if inputs:
            choices.append("type_and_submit")
        kind = choices[int(self.np_random.integers(len(choices)))]
        if kind == "click":
            action = {"type": "click", "name": clickable[int(self.np_random.integers(len(clickable)))]}
        elif kind == "type_and_submit":
            n_words = int(self.np_random.integers(1, 4))
            text = " ".join(words[int(i)] for i in self.np_random.integers(len(words), size=n_words))
            action = {
                "type": "type_and_submit",
                "name": inputs[int(self.np_random.integers(len(inputs)))],
                "text": text,
            }
        else:
            action = {"type": "terminate"}
        return json.dumps({"rationale": "I pick this at random.", "action": action})

    def __repr__(self) -> str:
        return f"ResponseSpace(page={len(self._page)} chars)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ResponseSpace) and self.max_length == other.max_length


def _words(text: str, limit: int = 40) -> list[str]:
    """Distinct words of a page, for random queries in sampled type_and_submit answers."""
    out: list[str] = []
    for w in text.split():
        w = "".join(ch for ch in w.lower() if ch.isalnum())
        if 2 < len(w) < 15 and w not in out:
            out.append(w)
        if len(out) >= limit:
            break
    return out
