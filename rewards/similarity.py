"""Token-level ROUGE-L F1 and the threshold rule that the Shop-R1 reward and the metrics share.

One implementation for both, so the reward can never disagree with exact-match accuracy
about what "similar enough" means.

Tokenization (:data:`TOKENIZATIONS`):

- ``"words"`` (the default): lower-case, then split on every character that is not a
  letter or a digit in any script (combining marks stay with their letter; non-ASCII text is
  NFKC-normalised first), so ``"Linen Shirt!"`` and ``"linen shirt"`` are the same two
  tokens and ``"Blaue Hose, größe M"`` keeps its umlauts. Names and texts split alike.
- ``"whitespace"`` (the rule before the ``words`` default): lower-case, then texts split
  on whitespace only and names on whitespace and ``._-``; punctuation sticks to words.

Bounded cost (:data:`MAX_SIM_CHARS`, :data:`MAX_SIM_TOKENS`): similarity reads only the first
``MAX_SIM_CHARS`` characters of each string and compares only the first ``MAX_SIM_TOKENS``
tokens found there, so scoring takes bounded time whatever an answer's size (the LCS is
bit-parallel: ``len(b)`` big-integer steps over ``len(a)``-bit masks). Two strings that agree
on that prefix but differ after it still score by their prefix; no real answer comes near.

The token cache is bounded by bytes (:data:`TOKEN_CACHE_BYTES`), not entries, so many large
distinct answers cannot grow the process.
"""

from __future__ import annotations

import re
import sys
import threading
import unicodedata
from collections import OrderedDict
from typing import Literal

__all__ = [
    "COMPARISONS",
    "DEFAULT_TOKENIZATION",
    "MAX_SIM_CHARS",
    "MAX_SIM_TOKENS",
    "TOKENIZATIONS",
    "TOKEN_CACHE_BYTES",
    "SimilarityKind",
    "check_similarity_settings",
    "lcs_length",
    "rouge_l_f1",
    "thresholded",
    "token_cache_info",
    "tokenize",
]

SimilarityKind = Literal["name", "text"]

#: How strings split into tokens; ``"words"`` is the default (module docstring).
TOKENIZATIONS: tuple[str, ...] = ("words", "whitespace")
DEFAULT_TOKENIZATION = "words"
#: How a similarity is compared with its threshold: ``">="`` (reaches it: the default, SPEC) or
#: ``">"`` (exceeds it: the paper's wording).
COMPARISONS: tuple[str, ...] = (">=", ">")

#: Characters of each string that similarity reads.
MAX_SIM_CHARS = 16_384
#: Tokens of each string (within its first MAX_SIM_CHARS characters) that the LCS compares.
MAX_SIM_TOKENS = 2_048
#: Bytes (``sys.getsizeof`` of keys and tokens) the token cache may hold before evicting the
#: least recently used entries.
TOKEN_CACHE_BYTES = 16 * 1024 * 1024

#: Element names split on whitespace and on ``.``, ``_`` and ``-`` (the ``whitespace`` rule).
_NAME_SPLIT = re.compile(r"[\s._\-]+")
_ASCII_WORD = re.compile(r"[a-z0-9]+")


def check_similarity_settings(tokenization: str, comparison: str = ">=", *, owner: str = "similarity") -> None:
    """Raise ``ValueError`` naming ``owner`` for an unknown tokenization or comparison."""
    if tokenization not in TOKENIZATIONS:
        raise ValueError(f"{owner}: tokenization must be one of {list(TOKENIZATIONS)}, got {tokenization!r}")
    if comparison not in COMPARISONS:
        raise ValueError(f"{owner}: threshold comparison must be one of {list(COMPARISONS)}, got {comparison!r}")


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or unicodedata.category(ch)[0] == "M"


def _split(prefix: str, kind: str, tokenization: str) -> tuple[str, ...]:
    if tokenization == "words":
        if prefix.isascii():
            return tuple(_ASCII_WORD.findall(prefix.lower())[:MAX_SIM_TOKENS])
        lowered = unicodedata.normalize("NFKC", prefix).lower()
        spaced = "".join(ch if _is_word_char(ch) else " " for ch in lowered)
        return tuple(spaced.split()[:MAX_SIM_TOKENS])
    lowered = prefix.lower()
    if kind == "name":
        return tuple([t for t in _NAME_SPLIT.split(lowered) if t][:MAX_SIM_TOKENS])
    return tuple(lowered.split()[:MAX_SIM_TOKENS])


class _TokenCache:
    """LRU of token tuples, bounded by the bytes its keys and values hold (thread-safe)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = self.misses = 0
        self._entries: OrderedDict[tuple[str, str, str], tuple[tuple[str, ...], int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, str]) -> tuple[str, ...] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[0]

    def put(self, key: tuple[str, str, str], tokens: tuple[str, ...]) -> None:
        size = sys.getsizeof(key[0]) + sys.getsizeof(tokens) + sum(sys.getsizeof(t) for t in tokens) + 200
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            self._entries[key] = (tokens, size)
            self.bytes += size
            while self.bytes > self.max_bytes and self._entries:
                _, (_, freed) = self._entries.popitem(last=False)
                self.bytes -= freed

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.bytes = self.hits = self.misses = 0

    def info(self) -> dict[str, int]:
        with self._lock:
            return {"entries": len(self._entries), "bytes": self.bytes, "max_bytes": self.max_bytes,
                    "hits": self.hits, "misses": self.misses}


_CACHE = _TokenCache(TOKEN_CACHE_BYTES)


def token_cache_info() -> dict[str, int]:
    """The token cache's ``entries``, ``bytes``, ``max_bytes``, ``hits`` and ``misses``."""
    return _CACHE.info()


def _clear_cache() -> None:
    _CACHE.clear()


def tokenize(value: str, kind: SimilarityKind = "text", tokenization: str = DEFAULT_TOKENIZATION) -> tuple[str, ...]:
    """Lower-case tokens of the first :data:`MAX_SIM_CHARS` characters of ``value``.

    Args:
        value: the string to split.
        kind: ``"name"`` (element names such as ``refinements.price_low_to_high``) or
            ``"text"``; the ``whitespace`` tokenization splits names also on ``._-``.
        tokenization: ``"words"`` (default) or ``"whitespace"`` (module docstring).

    Returns:
        At most :data:`MAX_SIM_TOKENS` non-empty tokens, in order.
    """
    if kind not in ("name", "text"):
        raise ValueError(f"similarity kind must be 'name' or 'text', got {kind!r}")
    if tokenization not in TOKENIZATIONS:
        raise ValueError(f"tokenization must be one of {list(TOKENIZATIONS)}, got {tokenization!r}")
    prefix = value[:MAX_SIM_CHARS]
    # the words rule treats names and texts alike: one cache entry serves both
    key = (prefix, kind if tokenization == "whitespace" else "", tokenization)
    tokens = _CACHE.get(key)
    if tokens is None:
        tokens = _split(prefix, kind, tokenization)
        _CACHE.put(key, tokens)
    return tokens


def lcs_length(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    """Length of the longest common subsequence of two token sequences.

    Bit-parallel (Hyyrö 2004): one big-integer step per token of the shorter sequence over a
    bit mask as long as the other, so 2,048 x 2,048 tokens take about a millisecond.
    """
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return 0
    masks: dict[str, int] = {}
    for i, token in enumerate(a):
        masks[token] = masks.get(token, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for token in b:
        m = masks.get(token)
        if m is None:
            continue
        u = v & m
        v = ((v + u) | (v - u)) & full
    return len(a) - v.bit_count()


def rouge_l_f1(a: str | None, b: str | None, *, kind: SimilarityKind = "text",
               tokenization: str = DEFAULT_TOKENIZATION) -> float:
    """ROUGE-L F1 between two strings over their tokens (symmetric, in [0, 1]).

    ``None`` counts as the empty string. When both strings have no tokens (for example
    ``""`` and ``"..."``), the score is 1.0 if their stripped, lower-cased prefixes of
    :data:`MAX_SIM_CHARS` characters are equal and 0.0 otherwise, so that identical answers
    always score 1.

    Args:
        a: one string (the prediction, by convention).
        b: the other string (the reference).
        kind: ``"name"`` or ``"text"`` (see :func:`tokenize`).
        tokenization: ``"words"`` (default) or ``"whitespace"``.

    Returns:
        ``2 * P * R / (P + R)`` with ``P = lcs / len(a)``, ``R = lcs / len(b)`` over the
        first :data:`MAX_SIM_TOKENS` tokens of each; 0.0 when there is no overlap.
    """
    a = a or ""
    b = b or ""
    if a == b:
        return 1.0
    ta = tokenize(a, kind, tokenization)
    tb = tokenize(b, kind, tokenization)
    if not ta or not tb:
        if not ta and not tb:
            return 1.0 if a[:MAX_SIM_CHARS].strip().lower() == b[:MAX_SIM_CHARS].strip().lower() else 0.0
        return 0.0
    if ta == tb:
        return 1.0
    lcs = lcs_length(ta, tb)
    if lcs == 0:
        return 0.0
    # F1 of P = lcs/len(a) and R = lcs/len(b) simplifies to 2*lcs / (len(a) + len(b)).
    return 2.0 * lcs / (len(ta) + len(tb))


def thresholded(sim: float, threshold: float, comparison: str = ">=") -> float:
    """The threshold rule: a similarity counts only once it reaches (or exceeds) ``threshold``.

    Args:
        sim: a similarity in [0, 1].
        threshold: the minimum that counts (0.75 in the paper).
        comparison: ``">="`` (reaches: the default, SPEC section 2) or ``">"`` (exceeds: the
            paper's wording).

    Returns:
        ``sim`` when it passes the comparison, else 0.0.
    """
    if comparison == ">=":
        return sim if sim >= threshold else 0.0
    if comparison == ">":
        return sim if sim > threshold else 0.0
    raise ValueError(f"threshold comparison must be one of {list(COMPARISONS)}, got {comparison!r}")


tokenize.cache_clear = _clear_cache  # type: ignore[attr-defined]  # the lru_cache API that callers used
tokenize.cache_info = token_cache_info  # type: ignore[attr-defined]
