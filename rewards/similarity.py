"""Token-level ROUGE-L F1 and the threshold rule that the Shop-R1 reward and the metrics share.

One implementation for both, so the reward can never disagree with exact-match accuracy
about what "similar enough" means.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

__all__ = ["SimilarityKind", "lcs_length", "rouge_l_f1", "thresholded", "tokenize"]

SimilarityKind = Literal["name", "text"]

#: Element names split on whitespace and on ``.``, ``_`` and ``-`` ([choice], SPEC section 2).
_NAME_SPLIT = re.compile(r"[\s._\-]+")


@lru_cache(maxsize=65536)
def tokenize(value: str, kind: SimilarityKind = "text") -> tuple[str, ...]:
    """Lower-case tokens of ``value``.

    Args:
        value: the string to split.
        kind: ``"name"`` splits on whitespace and ``._-`` (element names such as
            ``refinements.price_low_to_high``); ``"text"`` splits on whitespace only.

    Returns:
        The non-empty tokens, in order.
    """
    lowered = value.lower()
    if kind == "name":
        return tuple(t for t in _NAME_SPLIT.split(lowered) if t)
    if kind == "text":
        return tuple(lowered.split())
    raise ValueError(f"similarity kind must be 'name' or 'text', got {kind!r}")


def lcs_length(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    """Length of the longest common subsequence of two token sequences (O(len(a)*len(b)))."""
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return 0
    previous = [0] * (len(b) + 1)
    for token_a in a:
        current = [0]
        for j, token_b in enumerate(b):
            if token_a == token_b:
                current.append(previous[j] + 1)
            else:
                left = current[j]
                up = previous[j + 1]
                current.append(left if left > up else up)
        previous = current
    return previous[-1]


def rouge_l_f1(a: str | None, b: str | None, *, kind: SimilarityKind = "text") -> float:
    """ROUGE-L F1 between two strings over their tokens (symmetric, in [0, 1]).

    ``None`` counts as the empty string. When both strings have no tokens (for example
    ``""`` and ``"..."``), the score is 1.0 if the stripped, lower-cased strings are equal
    and 0.0 otherwise, so that identical answers always score 1.

    Args:
        a: one string (the prediction, by convention).
        b: the other string (the reference).
        kind: ``"name"`` or ``"text"``: how to split into tokens (see :func:`tokenize`).

    Returns:
        ``2 * P * R / (P + R)`` with ``P = lcs / len(a)``, ``R = lcs / len(b)``; 0.0 when
        there is no overlap.
    """
    a = a or ""
    b = b or ""
    if a == b:
        return 1.0
    ta = tokenize(a, kind)
    tb = tokenize(b, kind)
    if not ta or not tb:
        if not ta and not tb:
            return 1.0 if a.strip().lower() == b.strip().lower() else 0.0
        return 0.0
    if ta == tb:
        return 1.0
    lcs = lcs_length(ta, tb)
    if lcs == 0:
        return 0.0
    # F1 of P = lcs/len(a) and R = lcs/len(b) simplifies to 2*lcs / (len(a) + len(b)).
    return 2.0 * lcs / (len(ta) + len(tb))


def thresholded(sim: float, threshold: float) -> float:
    """The paper's threshold rule: a similarity counts only once it reaches ``threshold``.

    Args:
        sim: a similarity in [0, 1].
        threshold: the minimum that counts (0.75 in the paper).

    Returns:
        ``sim`` when ``sim >= threshold``, else 0.0.
    """
    return sim if sim >= threshold else 0.0
