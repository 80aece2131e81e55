"""Agents by name, for command lines: ``make_agent("heuristic")``, ``make_agent("prompted", model=...)``."""

from __future__ import annotations

from typing import Any

from .base import Agent, GenerationConfig

__all__ = ["AGENT_NAMES", "make_agent"]

AGENT_NAMES: tuple[str, ...] = ("random", "majority", "heuristic", "oracle", "prompted", "replay")


def make_agent(
    name: str,
    *,
    model: str | None = None,
    backend: str = "transformers",
    generation: GenerationConfig | None = None,
    seed: int = 0,
    train_corpus: Any = None,
    backend_options: dict[str, Any] | None = None,
    constrain: str = "none",
) -> Agent:
    """Build an agent by name.

    Args:
        name: one of :data:`AGENT_NAMES`.
        model: for ``prompted``: a short name (``smollm2-135m``), a local model folder,
            a GGUF file or a training checkpoint; for the ``openai`` backend the served
            model's name.
        backend: ``transformers``, ``vllm`` or ``openai``.
        generation: sampling settings (temperature, top-p, max new tokens, seed).
        seed: seed of the random agent.
        train_corpus: the training split the majority agent counts (default: demo train); for
            ``replay``, the sessions it replays (default: every demo split).
        backend_options: extra backend arguments (``base_url``, ``dtype``, ...).
        constrain: for ``prompted``: ``none``, ``json``, ``candidates`` or ``shown``
            (:mod:`agents.constraints`); the baselines ignore it.
    """
    if name == "random":
        from .baselines import RandomAgent

        return RandomAgent(seed=seed)
    if name == "majority":
        from .baselines import MajorityAgent

        return MajorityAgent(train_corpus)
    if name == "heuristic":
        from .baselines import HeuristicAgent

        return HeuristicAgent()
    if name == "oracle":
        from .baselines import OracleAgent

        return OracleAgent()
    if name == "replay":
        from .replay import ReplayAgent

        return ReplayAgent(train_corpus)
    if name == "prompted":
        from .backends import get_backend
        from .prompted import PromptedAgent

        if model is None:
            model = "smollm2-135m"
        be = get_backend(backend, model=model, **(backend_options or {}))
        return PromptedAgent(be, generation or GenerationConfig(), constrain=constrain)
    raise ValueError(f"unknown agent {name!r}; known agents: {', '.join(AGENT_NAMES)}")
