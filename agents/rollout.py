"""The shared rollout harness: run any agent over an env's sessions and record every step.

Every benchmark, evaluation and trainer check goes through :func:`run_rollout`, so all of
them see the same prompts (the env's context builder), the same parser and reward (the
env's), and write the same sample records. Records are appended to a JSONL sample log as
they are made; a rerun with the same log skips sessions already finished (an interrupted
session is redone from its first step, its partial records dropped).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shop_env.core.atomic import json_text, write_text_atomic
from shop_env.core.provenance import config_hash
from shop_env.core.token_count import counter_label, estimate_tokens
from shop_env.env import ShopSessionEnv, describe_env

from .base import Agent, Generation

__all__ = ["RolloutResult", "complete_sessions", "make_record", "read_sample_log", "run_fingerprint", "run_rollout"]

log = logging.getLogger(__name__)


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
    fingerprint: str = ""  # run_fingerprint of the agent and env: what a sample log resumes by

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
    """Records of a sample log; a line that is not a record is dropped with a warning.

    A killed run leaves its last line cut, possibly inside a multi-byte character, and a
    foreign line (``5``, ``null``) may be there too: neither stops a resume.
    """
    p = Path(path)
    if not p.exists():
        return []
    out = []
    with p.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            if raw.strip():
                record = _parse_record_line(raw, p, number)
                if record is not None:
                    out.append(record)
    return out


def _parse_record_line(raw: bytes, path: Path, number: int) -> dict[str, Any] | None:
    """The record on one line of a sample log, or ``None`` (with a warning) when it holds none."""
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        log.warning("%s: dropping line %d, torn or not JSON (%s)", path, number, exc)
        return None
    if not isinstance(value, dict):
        log.warning("%s: dropping line %d, not a JSON object: %.40r", path, number, value)
        return None
    return value


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
    data, how the page budget is counted when it is not the default estimate, the
    transformers backend's JSON stop rule when it is off, and a local model's weights
    (:func:`agents.models.weights_digest`: a checkpoint rebuilt in the same folder).

    A sample log is only resumed by a run with the same fingerprint, so results never mix
    records made under different settings.
    """
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
    backend = getattr(agent, "backend", None)
    if getattr(backend, "stop_at_json", True) is False:  # decoding to the end
        payload["stop_at_json"] = False
    if weights := getattr(backend, "weights_digest", None):  # a local checkpoint: rebuilt, it is another model
        payload["weights"] = weights
    return config_hash(payload)


def _json_line(record: dict[str, Any]) -> str:
    """One log line: readable UTF-8, or ASCII escapes for text with no UTF-8 form (lossless)."""
    return json_text(record) + "\n"


def _rewrite_atomically(path: Path, records: Iterable[dict[str, Any]]) -> None:
    write_text_atomic(path, "".join(_json_line(r) for r in records))


def _session_env_kwargs(env_kwargs: Mapping[str, Any] | None, batch_size: int) -> dict[str, Any]:
    """Env arguments for replaying whole sessions in order, with candidates for the agents."""
    kwargs = dict(env_kwargs or {})
    kwargs["with_candidates"] = True
    kwargs.setdefault("order", "sequential")
    if kwargs.get("episode", "session") != "session":
        raise ValueError("run_rollout replays whole sessions: env episode mode must be 'session'")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    return kwargs


def _chosen_indices(n_sessions: int, sessions: Sequence[int] | None, limit: int | None) -> list[int]:
    """The session indices to run: each once, in the order asked, the first ``limit`` of them."""
    indices = list(dict.fromkeys(range(n_sessions) if sessions is None else sessions))
    return indices if limit is None else indices[:limit]


def _resume_sample_log(path: Path, fingerprint: str, wanted: set[str]) -> dict[str, list[dict[str, Any]]]:
    """The finished sessions of ``wanted`` already in the log at ``path``, by session id.

    The log is rewritten to hold complete sessions only (also those not wanted now), so the
    records this run appends never follow a torn line or a half-logged session.

    Raises:
        ValueError: the log holds records made under another run fingerprint.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    old = read_sample_log(path)
    other = {r.get("run_fingerprint") for r in old} - {fingerprint}
    if other:
        raise ValueError(f"{path} holds samples of another configuration (run fingerprint "
                         f"{sorted(map(str, other))[0]} != {fingerprint}): use another output path or remove it")
    complete = complete_sessions(old)
    _rewrite_atomically(path, (r for recs in complete.values() for r in recs))
    return {sid: recs for sid, recs in complete.items() if sid in wanted}


@dataclass
class _StepOutcome:
    """What one env step gives the record: the observation acted on, the infos around it."""

    observation: str
    info_before: dict[str, Any]
    info_after: dict[str, Any]
    session_outcome: Any
    ended: bool


class _SessionBatch:
    """Envs stepped together; each replays the next queued session when its own one ends."""

    def __init__(self, envs: Sequence[ShopSessionEnv], session_indices: Iterable[int]) -> None:
        self._envs = list(envs)
        self._queue = deque(session_indices)
        self._current: list[tuple[str, dict[str, Any]] | None] = [None] * len(self._envs)
        for k in range(len(self._envs)):
            self.start_next(k)

    def start_next(self, k: int) -> None:
        """Reset slot ``k``'s env to the next queued session, or leave the slot idle."""
        if self._queue:
            self._current[k] = self._envs[k].reset(options={"session_index": self._queue.popleft()})
        else:
            self._current[k] = None

    def active(self) -> list[int]:
        """Slots with a session in progress."""
        return [k for k, current in enumerate(self._current) if current is not None]

    def observations(self, slots: Sequence[int]) -> tuple[list[str], list[dict[str, Any]]]:
        """Observations and infos the agent answers, one per slot."""
        current = [self._current[k] for k in slots]
        return [c[0] for c in current], [c[1] for c in current]  # type: ignore[index]

    def step(self, k: int, generation: Generation) -> _StepOutcome:
        """Step slot ``k``'s env with the agent's answer; an ended session leaves the slot to refill."""
        current = self._current[k]
        assert current is not None
        env = self._envs[k]
        obs, _, term, trunc, info = env.step(generation)
        self._current[k] = None if term or trunc else (obs, info)
        return _StepOutcome(observation=current[0], info_before=current[1], info_after=info,
                            session_outcome=env.current_session.outcome,  # type: ignore[union-attr]
                            ended=term or trunc)


class _RecordSink:
    """Where new records go: kept by session, appended (flushed) to the sample log, passed on."""

    def __init__(self, sample_log: Path | None, on_record: Callable[[dict[str, Any]], None] | None) -> None:
        self.by_session: dict[str, list[dict[str, Any]]] = {}
        self._file = sample_log.open("a", encoding="utf-8") if sample_log is not None else None
        self._on_record = on_record

    def add(self, record: dict[str, Any]) -> None:
        self.by_session.setdefault(record["session_id"], []).append(record)
        if self._file is not None:
            self._file.write(_json_line(record))
            self._file.flush()
        if self._on_record is not None:
            self._on_record(record)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def _act(agent: Agent, batch: _SessionBatch, slots: Sequence[int], result: RolloutResult) -> list[Generation]:
    """The agent's answers for ``slots``, one each (timed into ``result.generation_s``)."""
    observations, infos = batch.observations(slots)
    t0 = time.perf_counter()
    generations = agent.act(observations, infos)
    result.generation_s += time.perf_counter() - t0
    if len(generations) != len(slots):
        raise RuntimeError(f"agent {getattr(agent, 'name', agent)!r} returned {len(generations)} "
                           f"responses for {len(slots)} observations")
    return generations


def _replay(agent: Agent, batch: _SessionBatch, sink: _RecordSink, result: RolloutResult, bar: Any, *,
            fingerprint: str, log_prompts: bool) -> None:
    """Step every queued session to its end, one agent call per tick, recording each step."""
    while slots := batch.active():
        generations = _act(agent, batch, slots, result)
        bar.set_postfix(steps=result.new_steps + len(slots), refresh=False)
        for k, generation in zip(slots, generations, strict=True):
            step = batch.step(k, generation)
            record = make_record(step.info_before, step.observation, generation, step.info_after,
                                 log_prompt=log_prompts)
            record["session_outcome"] = step.session_outcome
            record["run_fingerprint"] = fingerprint
            result.new_steps += 1
            result.completion_tokens += generation.completion_tokens or 0
            sink.add(record)
            if step.ended:
                bar.update(1)
                batch.start_next(k)


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

    kwargs = _session_env_kwargs(env_kwargs, batch_size)
    first = ShopSessionEnv(**kwargs)
    kwargs["corpus"] = first.corpus
    ids = first.corpus.session_ids()
    indices = _chosen_indices(len(first.corpus), sessions, limit)
    fingerprint = run_fingerprint(agent, first)
    log_path = Path(sample_log) if sample_log is not None else None
    done = _resume_sample_log(log_path, fingerprint, {ids[i] for i in indices}) if log_path is not None else {}
    pending = [i for i in indices if ids[i] not in done]
    envs = [first] + [ShopSessionEnv(**kwargs) for _ in range(min(batch_size, max(1, len(pending))) - 1)]

    result = RolloutResult(records=[], resumed_sessions=len(done), fingerprint=fingerprint)
    bar = tqdm(total=len(indices), initial=len(done), desc=f"rollout {getattr(agent, 'name', 'agent')}",
               unit="session", disable=not progress)
    sink = _RecordSink(log_path, on_record)
    start = time.perf_counter()
    try:
        _replay(agent, _SessionBatch(envs, pending), sink, result, bar, fingerprint=fingerprint,
                log_prompts=log_prompts)
    finally:
        sink.close()
        bar.close()
    result.elapsed_s = time.perf_counter() - start
    merged = {**done, **sink.by_session}
    result.records = [r for i in indices if ids[i] in merged for r in merged[ids[i]]]
    result.env_info = describe_env(first)
    return result
