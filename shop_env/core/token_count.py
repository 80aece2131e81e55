"""Counting tokens: the fast estimate every budget uses by default, or a tokenizer's count.

One rule for the estimate (3 characters a token, conservative for HTML and English) and one
way to count with a tokenizer, so a page budget, a backend's usage figures and a training
length check agree on what a token is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["TokenCounter", "counter_label", "estimate_tokens", "tokenizer_counter"]

TokenCounter = Callable[[str], int]


def estimate_tokens(text: str) -> int:
    """Fast token estimate: about 3 characters per token for HTML and English (conservative)."""
    return (len(text) + 2) // 3


def tokenizer_counter(tokenizer: Any, *, label: str | None = None, overhead: int = 0) -> TokenCounter:
    """A counter of ``tokenizer``'s tokens (no special tokens), plus ``overhead`` per call.

    Args:
        tokenizer: a transformers tokenizer (anything called as ``tok(text)["input_ids"]``).
        label: how run fingerprints and results name the counter (``"tokenizer of M"``).
        overhead: tokens added to every count (a chat template's per-turn cost).
    """

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"]) + overhead

    if label is not None:
        count.label = label  # type: ignore[attr-defined]
    return count


def counter_label(counter: TokenCounter) -> str:
    """The name results give a token counter: its ``label``, else its qualified name."""
    return (getattr(counter, "label", None) or getattr(counter, "__qualname__", None)
            or type(counter).__qualname__)
