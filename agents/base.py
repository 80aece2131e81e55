"""The contracts every LLM agent and generation backend share.

A backend turns batches of chat messages into :class:`Generation` objects; an agent turns
env observations into generations (usually by building messages and calling a backend).
The rollout harness, the evaluators and the trainers only speak these types, so a
transformers model, a vLLM engine and a hosted OpenAI-compatible server are interchangeable.
This module stays light: it never imports torch or transformers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from rewards.tokens import TokenInfo

__all__ = ["Agent", "Backend", "Generation", "GenerationConfig", "Messages", "validate_batch"]

#: One chat: ``[{"role": "system"|"user"|"assistant", "content": str}, ...]``.
Messages = list[dict[str, str]]


@dataclass(frozen=True)
class GenerationConfig:
    """Sampling settings shared by every backend.

    Attributes:
        temperature: sampling temperature; ``0`` means greedy decoding (paper's RL: 0.6).
        top_p: nucleus sampling mass in ``(0, 1]``.
        max_new_tokens: cap on generated tokens per response.
        seed: seed for sampling, so a run can be repeated.
    """

    temperature: float = 0.6
    top_p: float = 1.0
    max_new_tokens: int = 256
    seed: int = 0

    def __post_init__(self) -> None:
        if not (isinstance(self.temperature, (int, float)) and math.isfinite(self.temperature)) or self.temperature < 0:
            raise ValueError(f"GenerationConfig.temperature must be a finite number >= 0, got {self.temperature!r}")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"GenerationConfig.top_p must be in (0, 1], got {self.top_p!r}")
        if not isinstance(self.max_new_tokens, int) or self.max_new_tokens < 1:
            raise ValueError(f"GenerationConfig.max_new_tokens must be a positive int, got {self.max_new_tokens!r}")
        if not isinstance(self.seed, int):
            raise ValueError(f"GenerationConfig.seed must be an int, got {self.seed!r}")

    @property
    def greedy(self) -> bool:
        """True when decoding is deterministic (temperature 0)."""
        return self.temperature == 0


@dataclass(frozen=True)
class Generation:
    """One generated response and what the backend knows about it.

    Attributes:
        text: the decoded response (special tokens removed).
        token_ids: the sampled token ids, when the backend gives them.
        logprobs: log-probability of each sampled token, when the backend gives them.
        token_info: full-logit statistics for the self-certainty reward (transformers only).
        prompt_tokens: tokens in the prompt, as counted by the backend.
        completion_tokens: tokens generated.
        latency_s: wall time of the call that produced this generation (shared by a batch).
    """

    text: str
    token_ids: list[int] | None = None
    logprobs: list[float] | None = None
    token_info: TokenInfo | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise TypeError(f"Generation.text must be a string, got {type(self.text).__name__}")
        if self.token_ids is not None and self.logprobs is not None and len(self.token_ids) != len(self.logprobs):
            raise ValueError(
                f"Generation has {len(self.token_ids)} token_ids but {len(self.logprobs)} logprobs"
            )


@runtime_checkable
class Backend(Protocol):
    """Something that generates chat responses in batches."""

    name: str

    def generate(self, batch: Sequence[Messages], config: GenerationConfig,
                 schemas: Sequence[Mapping[str, Any] | None] | None = None) -> list[Generation]:
        """One :class:`Generation` per chat in ``batch``, in order.

        ``schemas``, when given, holds each chat's answer to a JSON schema (constrained
        decoding, :mod:`agents.constraints`); ``None`` entries decode freely.
        """
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text`` under the backend's tokenizer (for observation budgets)."""
        ...


@runtime_checkable
class Agent(Protocol):
    """Something that acts on env observations in batches."""

    name: str

    def act(self, observations: Sequence[str], infos: Sequence[dict]) -> list[Generation]:
        """One :class:`Generation` per observation, in order; ``infos`` are the env's info dicts."""
        ...


def validate_batch(batch: Sequence[Messages]) -> None:
    """Raise a clear error for a malformed batch of chats, naming the chat and message index.

    Backends call this first so a bad message fails before any model work.
    """
    if isinstance(batch, (str, bytes)) or not isinstance(batch, Sequence):
        raise TypeError(f"batch must be a sequence of chats, got {type(batch).__name__}")
    for i, messages in enumerate(batch):
        if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence) or not messages:
            raise ValueError(f"batch[{i}] must be a non-empty list of messages")
        for j, message in enumerate(messages):
            if not isinstance(message, dict):
                raise TypeError(f"batch[{i}][{j}] must be a dict, got {type(message).__name__}")
            role, content = message.get("role"), message.get("content")
            if role not in ("system", "user", "assistant"):
                raise ValueError(f"batch[{i}][{j}]: field 'role' must be system, user or assistant, got {role!r}")
            if not isinstance(content, str):
                raise ValueError(f"batch[{i}][{j}]: field 'content' must be a string, got {type(content).__name__}")
