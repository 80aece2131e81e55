"""Evaluate a trained model the one way every result in this project is made.

``PromptedAgent`` over the ``transformers`` backend, driven by :func:`agents.rollout.run_rollout`
on a split, scored by :func:`rewards.metrics.metrics_from_records` (``rewards.metrics``
underneath): the same prompts, parser, reward and metrics as the benchmarks, never a
re-implementation.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shop_env.context import DEFAULT_TOKEN_BUDGET
from shop_env.corpus import Corpus

__all__ = ["evaluate_model"]


def evaluate_model(
    model: str | os.PathLike[str] | Any,
    corpus: str | Corpus = "demo",
    *,
    split: str = "valid",
    limit: int | None = None,
    tokenizer: Any = None,
    max_new_tokens: int = 256,
    temperature: float = 0.0,
    batch_size: int = 8,
    history: str | int = "full",
    token_budget: int | None = DEFAULT_TOKEN_BUDGET,
    persona: bool = False,
    reward: str = "shop_r1",
    sample_log: str | os.PathLike[str] | None = None,
    n_bootstrap: int = 200,
    seed: int = 0,
    env_overrides: Mapping[str, Any] | None = None,
    constrain: str = "none",
) -> dict[str, Any]:
    """Roll a model out over whole sessions of a split and return the paper's metrics.

    Args:
        model: a model folder / short name, or an already loaded causal LM (then pass ``tokenizer``).
        corpus: a corpus or source string.
        split: the split to evaluate on (``valid`` during training, ``test`` for reports).
        limit: evaluate only the first ``limit`` sessions.
        tokenizer: the tokenizer, when ``model`` is a loaded model.
        max_new_tokens: cap on each answer.
        temperature: 0 decodes greedily (the default for evaluation).
        batch_size: sessions stepped together.
        history: context history mode (as the env's).
        token_budget: token budget of each observation, counted with the model's tokenizer
            (as in training and ``benchmarks.run``).
        persona: prepend the shopper's persona, as in training.
        reward: reward preset the env scores with (reported as ``reward_mean``).
        sample_log: JSONL file of every step's record (and resume point).
        n_bootstrap: bootstrap resamples for the confidence intervals.
        seed: sampling seed.
        env_overrides: more :class:`~shop_env.ShopSessionEnv` arguments.
        constrain: grounded decoding, ``none`` (default), ``json``, ``candidates`` or ``shown``
            (:mod:`agents.constraints`).

    Returns:
        :func:`rewards.metrics.metrics_from_records`' dict plus ``sessions`` and ``split``.
    """
    from agents.backends import get_backend
    from agents.base import GenerationConfig
    from agents.prompted import PromptedAgent
    from agents.rollout import run_rollout
    from rewards.metrics import metrics_from_records

    if isinstance(model, (str, os.PathLike)):
        backend = get_backend("transformers", model=str(model), max_batch_size=batch_size, with_token_info=False)
    else:
        if tokenizer is None:
            raise ValueError("evaluate_model: pass the tokenizer together with a loaded model")
        from agents.backends.transformers_backend import TransformersBackend

        backend = TransformersBackend.from_model(model, tokenizer, name="transformers:training",
                                                 max_batch_size=batch_size, with_token_info=False)
    was_training = bool(getattr(backend.model, "training", False))
    padding_side = getattr(backend.tokenizer, "padding_side", None)
    agent = PromptedAgent(backend, GenerationConfig(temperature=temperature, max_new_tokens=max_new_tokens, seed=seed),
                          constrain=constrain)
    env_kwargs: dict[str, Any] = {"corpus": corpus, "split": split, "reward": reward, "history": history,
                                  "token_budget": token_budget, "persona": persona,
                                  "token_counter": backend.count_tokens, **dict(env_overrides or {})}
    try:
        result = run_rollout(agent, env_kwargs, limit=limit, batch_size=batch_size,
                             sample_log=Path(sample_log) if sample_log is not None else None,
                             log_prompts=False, progress=False)
    finally:
        if was_training:
            backend.model.train()
        if padding_side is not None:
            backend.tokenizer.padding_side = padding_side  # the backend sets "left" for generation
    if not result.records:
        raise ValueError(f"evaluation produced no records (split {split!r}, limit {limit})")
    metrics = metrics_from_records(result.records, n_bootstrap=n_bootstrap, seed=seed, reward=reward)
    metrics["sessions"] = len({r["session_id"] for r in result.records})
    metrics["split"] = split
    metrics["constrain"] = constrain
    return metrics
