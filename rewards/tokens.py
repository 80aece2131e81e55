"""What the rationale (self-certainty) reward needs from a generation backend.

Backends with the full logits (transformers, the GRPO trainer) fill this in; backends that
only return top-k log-probs (vLLM, OpenAI-compatible servers) leave it ``None`` and the
rationale component is then absent from the reward, never guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["TokenInfo"]


@dataclass(frozen=True)
class TokenInfo:
    """Per-token logit statistics of one response.

    Attributes:
        logsumexp: for each response token t, ``logsumexp(z_t)`` of the logits that
            produced it.
        mean_logit: for each response token t, ``mean(z_t)`` over the vocabulary.
        vocab_size: ``|V|``, the size of the logit vector.
        offsets: optional character span ``(start, end)`` of each token in the response
            text, used to locate the rationale's tokens.
        rationale_span: optional token index range ``[start, end)`` of the rationale; when
            absent it is located from ``offsets``, else every token is used.
    """

    logsumexp: Sequence[float]
    mean_logit: Sequence[float]
    vocab_size: int
    offsets: Sequence[tuple[int, int]] | None = None
    rationale_span: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if len(self.logsumexp) != len(self.mean_logit):
            raise ValueError("TokenInfo.logsumexp and mean_logit must have the same length")
        if self.offsets is not None and len(self.offsets) != len(self.logsumexp):
            raise ValueError("TokenInfo.offsets must have one span per token")
        if self.vocab_size <= 0:
            raise ValueError("TokenInfo.vocab_size must be positive")
