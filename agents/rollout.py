"""The shared rollout harness: run any agent over an env's sessions and record every step.

Every benchmark, evaluation and trainer check goes through :func:`run_rollout`, so all of
them see the same prompts (the env's context builder), the same parser and reward (the
env's), and write the same sample records. Records are appended to a JSONL sample log as
they are made; a rerun with the same log skips sessions already finished (an interrupted
session is redone from its first step, its partial records dropped).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shop_env.core.atomic import json_text, write_text_atomic
from shop_env.core.provenance import config_hash
from shop_env.core.token_count import counter_label, estimate_tokens
from shop_env.corpus import Corpus
from shop_env.env import ShopSessionEnv

from .base import Agent, Generation

__all__ = ["RolloutResult", "complete_sessions", "make_record", "read_sample_log", "run_fingerprint", "run_rollout"]


@dataclass
class RolloutResult:
    """Records of a rollout, in session order, plus timing of the new work done."""

    records: list[dict[str, Any]]
    elapsed_s: float = 0.0
    generation_s: float = 0.0
    new_steps: int = 0
    completion_tokens: int = 0
    resumed_sessions: int = 0
    env_info: dict[str, Any] = field(default_factory=dict)

    @property
    def steps_per_s(self) -> float:
        return self.new_steps / self.elapsed_s if self.elapsed_s > 0 else float("nan")

    @property
    def tokens_per_s(self) -> float:
        return self.completion_tokens / self.generation_s if self.generation_s > 0 and self.completion_tokens else float("nan")


def make_record(info_before: Mapping[str, Any], observation: str, generation: Generation,
                info_after: Mapping[str, Any], *, log_prompt: bool = True) -> dict[str, Any]:
    """One JSON-able sample record from a step's infos and the agent's generation."""
    scored = info_after["scored"]
    pred = scored["predicted_action"]
    return {
        "session_id": info_before["session_id"],
        "step_index": info_before["step_index"],
        "num_steps": info_before["num_steps"],
        "last_step": info_before["step_index"] == info_before["num_steps"] - 1,
        "prompt": observation if log_prompt else None,
        "response": generation.text,
        "predicted_action": pred.to_dict() if pred is not None else None,
        "gold_action": scored["gold_action"].to_dict(),
        "click_type": scored["click_type"],
        "parse_error": scored["parse_error"],
        "reward": scored["reward"],
        "exact_match": scored["exact_match"],
        "latency_s": generation.latency_s,
        "prompt_tokens": generation.prompt_tokens,
        "completion_tokens": generation.completion_tokens,
    }


def read_sample_log(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Records of a sample log; a truncated last line (a killed run) is ignored."""
    p = Path(path)
    if not p.exists():
        return []
    out = []
    with p.open(encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a partial line from an interrupted write
    return out


def complete_sessions(records: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Sessions whose every step is logged exactly once, each as its records in step order.

    A killed run leaves a session half-logged; resuming and comparing use only complete ones.
    """
    by_session: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_session.setdefault(r["session_id"], []).append(r)
    done = {}
    for sid, recs in by_session.items():
        steps = {r["step_index"] for r in recs}
        n = recs[0]["num_steps"]
        if steps == set(range(n)) and len(recs) == n:
            done[sid] = sorted(recs, key=lambda r: r["step_index"])
    return done


def run_fingerprint(agent: Any, env: ShopSessionEnv) -> str:
    """Hash of everything that shapes a rollout's records: agent, sampling, reward, context,
    data, how the page budget is counted when it is not the default estimate, and the
    transformers backend's JSON stop rule when it is off.

    A sample log is only resumed by a run with the same fingerprint, so results never mix
    records made under different settings.
    """
    from shop_env.env import describe_env

    desc = describe_env(env)
    payload = {
        "agent": getattr(agent, "name", type(agent).__name__),
        "generation": repr(getattr(agent, "config", None)),
        "reward": desc["reward"],
        "context": desc["context"],
        "system_prompt_sha": desc["system_prompt_sha"],
        "data": {k: desc["corpus"].get(k) for k in ("source", "split")},
    }
    counter = env.context.count
    if counter is not estimate_tokens:  # the page budget counted another way gives other prompts
        payload["token_counter"] = counter_label(counter)
    if getattr(getattr(agent, "backend", None), "stop_at_json", True) is False:  # decoding to the end
        payload["stop_at_json"] = False
    return config_hash(payload)


def _json_line(record: dict[str, Any]) -> str:
    """One log line: readable UTF-8, or ASCII escapes for text with no UTF-8 form (lossless)."""
    return json_text(record) + "\n"


def _rewrite_atomically(path: Path, records: Iterable[dict[str, Any]]) -> None:
    write_text_atomic(path, "".join(_json_line(r) for r in records))


def run_rollout(
    agent: Agent,
    env_kwargs: Mapping[str, Any] | None = None,
    *,
    sessions: Sequence[int] | None = None,
    limit: int | None = None,
    batch_size: int = 8,
    sample_log: str | os.PathLike | None = None,
    log_prompts: bool = True,
    progress: bool = True,
    on_record: Callable[[dict[str, Any]], None] | None = None,
) -> RolloutResult:
    """Run ``agent`` over whole sessions of a split, ``batch_size`` sessions at a time.

    Args:
        agent: anything with ``act(observations, infos) -> list[Generation]``.
        env_kwargs: :class:`~shop_env.ShopSessionEnv` arguments (corpus, split, reward,
            history, token_budget, ...). One env per batch slot shares the corpus.
        sessions: session indices of the split to run (default: all, in order).
        limit: run only the first ``limit`` of those sessions.
        batch_size: sessions stepped together; the agent gets one batch per tick.
        sample_log: JSONL file the records are appended to, and resumed from.
        log_prompts: keep each prompt in its record (large with full history).
        progress: show a progress bar over sessions.
        on_record: called with each new record (live metrics, trainers).
    """
    from tqdm.auto import tqdm

    kwargs = dict(env_kwargs or {})
    kwargs["with_candidates"] = True
    kwargs.setdefault("order", "sequential")
    if kwargs.get("episode", "session") != "session":
        raise ValueError("run_rollout replays whole sessions: env episode mode must be 'session'")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    first = ShopSessionEnv(**kwargs)
    corpus: Corpus = first.corpus
    kwargs["corpus"] = corpus
    indices = list(dict.fromkeys(range(len(corpus)) if sessions is None else sessions))  # each session once
    if limit is not None:
        indices = indices[:limit]
    ids = corpus.session_ids()
    fingerprint = run_fingerprint(agent, first)

    log_path = Path(sample_log) if sample_log is not None else None
    done: dict[str, list[dict[str, Any]]] = {}
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        old = read_sample_log(log_path)
        other = {r.get("run_fingerprint") for r in old} - {fingerprint}
        if other:
            raise ValueError(f"{log_path} holds samples of another configuration (run fingerprint "
                             f"{sorted(map(str, other))[0]} != {fingerprint}): use another output path or remove it")
        complete = complete_sessions(old)
        # Keep every finished session in the log, also those this run does not ask for.
        _rewrite_atomically(log_path, (r for recs in complete.values() for r in recs))
        wanted = {ids[i] for i in indices}
        done = {sid: recs for sid, recs in complete.items() if sid in wanted}
    pending = [i for i in indices if ids[i] not in done]

    envs = [first] + [ShopSessionEnv(**kwargs) for _ in range(min(batch_size, max(1, len(pending))) - 1)]
    slots: list[dict[str, Any] | None] = [None] * len(envs)
    new: dict[str, list[dict[str, Any]]] = {}
    queue = list(pending)
    result = RolloutResult(records=[], resumed_sessions=len(done))
    bar = tqdm(total=len(indices), initial=len(done), desc=f"rollout {getattr(agent, 'name', 'agent')}",
               unit="session", disable=not progress)
    log_file = log_path.open("a", encoding="utf-8") if log_path is not None else None
    start = time.perf_counter()
    try:
        def fill(k: int) -> None:
            if queue:
                idx = queue.pop(0)
                obs, info = envs[k].reset(options={"session_index": idx})
                slots[k] = {"obs": obs, "info": info}
            else:
                slots[k] = None

        for k in range(len(envs)):
            fill(k)
        while any(s is not None for s in slots):
            active = [k for k, s in enumerate(slots) if s is not None]
            observations = [slots[k]["obs"] for k in active]  # type: ignore[index]
            infos = [slots[k]["info"] for k in active]  # type: ignore[index]
            t0 = time.perf_counter()
            generations = agent.act(observations, infos)
            result.generation_s += time.perf_counter() - t0
            if len(generations) != len(active):
                raise RuntimeError(f"agent {getattr(agent, 'name', agent)!r} returned {len(generations)} "
                                   f"responses for {len(active)} observations")
            bar.set_postfix(steps=result.new_steps + len(active), refresh=False)
            for k, gen in zip(active, generations, strict=True):
                slot = slots[k]
                assert slot is not None
                obs, _, term, trunc, info = envs[k].step(gen)
                rec = make_record(slot["info"], slot["obs"], gen, info, log_prompt=log_prompts)
                rec["session_outcome"] = envs[k].current_session.outcome  # type: ignore[union-attr]
                rec["run_fingerprint"] = fingerprint
                new.setdefault(rec["session_id"], []).append(rec)
                result.new_steps += 1
                result.completion_tokens += gen.completion_tokens or 0
                if log_file is not None:
                    log_file.write(_json_line(rec))
                    log_file.flush()
                if on_record is not None:
                    on_record(rec)
                if term or trunc:
                    bar.update(1)
                    fill(k)
                else:
                    slots[k] = {"obs": obs, "info": info}
    finally:
        if log_file is not None:
            log_file.close()
        bar.close()
    result.elapsed_s = time.perf_counter() - start
    merged = {**done, **new}
    result.records = [r for i in indices if ids[i] in merged for r in merged[ids[i]]]
    from shop_env.env import describe_env

    result.env_info = describe_env(first)
    return result
