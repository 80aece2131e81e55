"""The rationale reward: self-certainty, the mean over the rationale's tokens of KL(U || p).

Per token this is ``logsumexp(z) - mean(z) - log|V|`` for the logits ``z`` that produced it
(SPEC section 2, item 3): zero for uniform logits, growing as the distribution sharpens.
It needs the policy's full logits, so it is computed from :class:`~rewards.tokens.TokenInfo`
(two floats per token) or from a logits tensor. torch is imported inside the functions that
take tensors, never at module import.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from .tokens import TokenInfo

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_CAP",
    "IMPOSSIBLE_TOLERANCE",
    "checked_self_certainty",
    "locate_rationale_char_span",
    "locate_rationale_span",
    "self_certainty",
    "self_certainty_from_stats",
    "token_info_from_logits",
    "token_stats",
]

#: The paper's weight of the rationale reward.
DEFAULT_ALPHA = 0.005

#: Per-token cap (nats) of the rationale reward's self-certainty. The default model
#: (SmolLM2-135M-Instruct, vocabulary 49,152) measures 9.95 nats a token on average, 18.0 at
#: the 99th percentile and 22.7 at most over 2,062 answer tokens of 40 demo test steps
#: (``python -m benchmarks.perf_rewards --self-certainty``, teacher-forced gold answers); 50 leaves room
#: for sharper models while ``alpha * cap`` (0.25 at the paper's alpha) stays below the
#: smallest gap between a right answer and a wrong one (0.3: a right terminate 0.8, a wrong
#: type 0.5).
DEFAULT_CAP = 50.0

#: How far below zero a token's ``logsumexp - mean - log|V|`` may fall from float rounding
#: (float32 logits) before the statistics count as impossible. Mathematically it is >= 0.
IMPOSSIBLE_TOLERANCE = 1e-3

_RATIONALE_KEY = re.compile(r'"rationale"\s*:\s*"')
_STRING_BODY = re.compile(r'(?:[^"\\]|\\.)*', re.DOTALL)


def token_stats(logits: Any) -> tuple[Any, Any]:
    """Per-token ``logsumexp`` and ``mean`` of logits over the vocabulary (last) dimension.

    Args:
        logits: a torch tensor ``[..., vocab]`` (any float dtype; computed in float32).

    Returns:
        ``(logsumexp, mean)``, two tensors of shape ``logits.shape[:-1]``.
    """
    import torch

    if not isinstance(logits, torch.Tensor):
        logits = torch.as_tensor(logits)
    if logits.dim() < 1 or logits.shape[-1] == 0:
        raise ValueError(f"logits need a non-empty vocabulary dimension, got shape {tuple(logits.shape)}")
    z = logits.float()
    return torch.logsumexp(z, dim=-1), z.mean(dim=-1)


def token_info_from_logits(
    logits: Any,
    *,
    offsets: Sequence[tuple[int, int]] | None = None,
    rationale_span: tuple[int, int] | None = None,
) -> TokenInfo:
    """Reduce one response's logits ``[tokens, vocab]`` to the :class:`TokenInfo` the reward needs."""
    if getattr(logits, "dim", lambda: 2)() != 2:
        raise ValueError(f"logits of one response must be 2-D [tokens, vocab], got shape {tuple(logits.shape)}")
    lse, mean = token_stats(logits)
    return TokenInfo(
        logsumexp=[float(x) for x in lse.tolist()],
        mean_logit=[float(x) for x in mean.tolist()],
        vocab_size=int(logits.shape[-1]),
        offsets=None if offsets is None else [tuple(o) for o in offsets],
        rationale_span=rationale_span,
    )


def self_certainty_from_stats(
    logsumexp: Sequence[float], mean_logit: Sequence[float], vocab_size: int, span: tuple[int, int] | None = None
) -> float:
    """Mean KL(U || p) over tokens ``span = [start, end)`` (all tokens when ``None``), pure Python."""
    n = len(logsumexp)
    if len(mean_logit) != n:
        raise ValueError("logsumexp and mean_logit must have the same length")
    start, end = _check_span(span, n)
    if end <= start:
        raise ValueError(f"self-certainty needs at least one token, got span [{start}, {end})")
    log_v = math.log(vocab_size)
    total = 0.0
    for i in range(start, end):
        total += float(logsumexp[i]) - float(mean_logit[i]) - log_v
    return total / (end - start)


def checked_self_certainty(
    logsumexp: Sequence[Any], mean_logit: Sequence[Any], vocab_size: Any, span: tuple[int, int] | None = None,
    *, cap: float = DEFAULT_CAP,
) -> tuple[float, str | None]:
    """Self-certainty for the reward: validated, each token capped at ``cap``; never raises.

    Each token's ``logsumexp - mean - log|V|`` is clamped to ``[0, cap]`` and the mean taken
    over ``span`` (every token when ``None``). Statistics that no logits can produce pay 0
    with the reason: a value that is not a finite number, a token below ``mean + log|V|`` by
    more than :data:`IMPOSSIBLE_TOLERANCE`, a vocabulary size that is not a positive integer,
    mismatched lengths, or a span outside the tokens. Work is one pass over the span.

    Returns:
        ``(value, None)`` with ``value`` in ``[0, cap]``, or ``(0.0, reason)``.
    """
    try:
        n = len(logsumexp)
        if len(mean_logit) != n:
            return 0.0, f"logsumexp has {n} tokens but mean_logit {len(mean_logit)}"
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 1:
            return 0.0, f"vocab_size must be a positive integer, got {vocab_size!r}"
        if span is None:
            start, end = 0, n
        else:
            start, end = int(span[0]), int(span[1])
            if not 0 <= start <= end <= n:
                return 0.0, f"rationale span [{start}, {end}) is outside the {n} tokens"
        if end <= start:
            return 0.0, "no tokens to average over"
        log_v = math.log(vocab_size)
        total = 0.0
        for i in range(start, end):
            lse, mean = logsumexp[i], mean_logit[i]
            if isinstance(lse, bool) or isinstance(mean, bool):
                return 0.0, f"token {i}: logit statistics must be numbers"
            value = float(lse) - float(mean) - log_v
            if not math.isfinite(value):
                return 0.0, f"token {i}: logit statistics are not finite (logsumexp {lse!r}, mean {mean!r})"
            if value < -IMPOSSIBLE_TOLERANCE:
                return 0.0, (f"token {i}: impossible logit statistics (logsumexp {float(lse):.6g} is below "
                             f"mean + log|V| = {float(mean) + log_v:.6g})")
            total += min(max(value, 0.0), cap)
        return total / (end - start), None
    except (TypeError, ValueError, OverflowError, IndexError) as exc:
        return 0.0, f"unusable logit statistics ({type(exc).__name__}: {exc})"


def self_certainty(logits_or_info: Any, span: tuple[int, int] | None = None) -> float:
    """Self-certainty of a response (or of its rationale's tokens).

    Args:
        logits_or_info: a :class:`TokenInfo`, or a torch tensor of logits
            ``[tokens, vocab]`` (one response).
        span: token index range ``[start, end)`` to average over. Defaults to the
            ``TokenInfo``'s ``rationale_span``, else every token [choice].

    Returns:
        ``mean_t (logsumexp(z_t) - mean(z_t) - log|V|)``, >= 0 (up to rounding).
    """
    if isinstance(logits_or_info, TokenInfo):
        info = logits_or_info
        return self_certainty_from_stats(
            info.logsumexp, info.mean_logit, info.vocab_size, span if span is not None else info.rationale_span
        )
    import torch

    logits = logits_or_info if isinstance(logits_or_info, torch.Tensor) else torch.as_tensor(logits_or_info)
    if logits.dim() != 2:
        raise ValueError(f"logits must be 2-D [tokens, vocab], got shape {tuple(logits.shape)}")
    start, end = _check_span(span, logits.shape[0])
    if end <= start:
        raise ValueError(f"self-certainty needs at least one token, got span [{start}, {end})")
    lse, mean = token_stats(logits[start:end])
    return float((lse - mean).mean().item() - math.log(logits.shape[-1]))


def locate_rationale_char_span(response: str) -> tuple[int, int] | None:
    """Character range ``[start, end)`` of the rationale string's contents in a JSON answer.

    Finds the first ``"rationale": "`` and scans to the closing unescaped quote. Returns
    ``None`` when there is no such key or the string never closes.
    """
    match = _RATIONALE_KEY.search(response)
    if match is None:
        return None
    start = match.end()
    body = _STRING_BODY.match(response, start)
    end = body.end() if body is not None else start
    if end < len(response) and response[end] == '"':
        return (start, end)
    return None


def locate_rationale_span(response: str, offsets: Sequence[tuple[int, int]]) -> tuple[int, int] | None:
    """Token index range ``[start, end)`` of the rationale, from the tokenizer's offsets.

    Args:
        response: the response text the offsets refer to.
        offsets: ``(char_start, char_end)`` per token, as from a fast tokenizer's
            ``return_offsets_mapping=True``; zero-width spans (special tokens) are skipped.

    Returns:
        The range of tokens that overlap the rationale's characters, or ``None`` when the
        rationale is not found or is empty (the caller then uses every token [choice]).
    """
    chars = locate_rationale_char_span(response)
    if chars is None or chars[0] == chars[1]:
        return None
    c_start, c_end = chars
    first = last = None
    for i, (s, e) in enumerate(offsets):
        if e <= s:
            continue
        if e > c_start and s < c_end:
            if first is None:
                first = i
            last = i
        elif s >= c_end:
            break
    if first is None or last is None:
        return None
    return (first, last + 1)


def _check_span(span: tuple[int, int] | None, n: int) -> tuple[int, int]:
    if span is None:
        return 0, n
    start, end = int(span[0]), int(span[1])
    if not 0 <= start <= end <= n:
        raise ValueError(f"span [{start}, {end}) is outside the {n} tokens")
    return start, end
