"""The zero-shot LLM agent: the paper's system prompt, the env's observation, one backend call.

It is the baseline the paper reports for an untuned model, and the agent the SFT and GRPO
checkpoints are evaluated with (the same prompt, another model folder).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from shop_env.prompt import SYSTEM_PROMPT, to_messages

from .base import Backend, Generation, GenerationConfig, Messages
from .constraints import answer_token_bound, check_constrain, schema_for

__all__ = ["PromptedAgent"]


class PromptedAgent:
    """Answers each observation with one generation from a backend.

    Args:
        backend: any :class:`~agents.base.Backend`.
        config: sampling settings. Call ``k`` (counting from 0) of :meth:`act` samples with
            seed ``config.seed + k``, so a fresh agent repeats a run exactly while
            successive steps of one rollout do not reuse the same random stream.
        system_prompt: the system turn; the paper's by default.
        constrain: ``"none"`` (the paper: free decoding), ``"json"`` (the answer's schema),
            ``"candidates"`` (also names held to the page's elements; needs
            ``info["candidates"]``) or ``"shown"`` (to the elements of the part of the page
            the observation shows): see :mod:`agents.constraints`.
    """

    def __init__(self, backend: Backend, config: GenerationConfig = GenerationConfig(),  # noqa: B008 (frozen)
                 system_prompt: str = SYSTEM_PROMPT, constrain: str = "none") -> None:
        if not isinstance(system_prompt, str) or not system_prompt:
            raise ValueError("system_prompt must be a non-empty string")
        self.backend = backend
        self.config = config
        self.system_prompt = system_prompt
        self.constrain = check_constrain(constrain)
        # the name enters run fingerprints: a constrained run never resumes a free one's log
        self.name = f"prompted:{backend.name}" + ("" if constrain == "none" else f"+constrain={constrain}")
        self._calls = 0

    def __repr__(self) -> str:
        extra = "" if self.constrain == "none" else f", constrain={self.constrain!r}"
        return f"PromptedAgent(backend={self.backend.name!r}, config={self.config}{extra})"

    def messages(self, observation: str) -> Messages:
        """The chat sent to the backend for one observation."""
        return to_messages(observation, system_prompt=self.system_prompt)

    def act(self, observations: Sequence[str], infos: Sequence[dict] | None = None) -> list[Generation]:
        """One generation per observation, in order.

        Raises:
            ValueError: ``infos`` is given with a different length, or an observation is not a string.
        """
        if isinstance(observations, str):
            raise TypeError("observations must be a sequence of strings, not one string")
        if infos is not None and len(infos) != len(observations):
            raise ValueError(f"got {len(observations)} observations but {len(infos)} infos")
        for i, obs in enumerate(observations):
            if not isinstance(obs, str):
                raise ValueError(f"observations[{i}] must be a string, got {type(obs).__name__}")
        config = replace(self.config, seed=self.config.seed + self._calls)
        self._calls += 1
        if not observations:
            return []
        chats = [self.messages(o) for o in observations]
        if self.constrain == "none":
            generations = self.backend.generate(chats, config)
        else:
            steps = infos if infos is not None else [None] * len(observations)
            schemas = [schema_for(self.constrain, i, o) for i, o in zip(steps, observations, strict=True)]
            # room for the longest answer the schema admits, so every constrained answer closes
            bound = max(answer_token_bound(s) for s in schemas)
            generations = self.backend.generate(
                chats, replace(config, max_new_tokens=max(config.max_new_tokens, bound)), schemas)
        if len(generations) != len(observations):
            raise RuntimeError(
                f"backend {self.backend.name!r} returned {len(generations)} generations for {len(observations)} prompts"
            )
        return generations
