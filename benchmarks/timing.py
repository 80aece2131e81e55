"""How long a result row took, summed over the invocations that built its sample log.

A benchmark row is resumable: a second ``benchmarks.run`` over the same folder scores the
logged sessions again and generates only the missing ones. Its ``results.json`` must then
still say what the row cost, not only what the last call did (a resume that adds no steps
took 2 s and generated nothing). Each invocation that added steps and finished is kept as
one entry of ``results.json``'s ``invocations``; ``wall_s`` and ``metrics.throughput`` sum
over them. A call that was interrupted wrote no ``results.json``, so its time is not there.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["invocation", "previous_invocations", "row_timing"]

_NUMBERS = ("wall_s", "new_steps", "elapsed_s")


def invocation(*, finished: str, wall_s: float, new_steps: int, elapsed_s: float, generation_s: float,
               completion_tokens: int, **setup: Any) -> dict[str, Any]:
    """One call's entry: wall time (rollout and scoring; not model loading), rollout time,
    generation time and the work done, plus ``setup`` (backend, batch size, machine: summed
    figures may come from calls on different machines)."""
    return {"finished": finished, "wall_s": wall_s, "new_steps": new_steps, "elapsed_s": elapsed_s,
            "generation_s": generation_s, "completion_tokens": completion_tokens, **setup}


def _valid(entry: Any) -> bool:
    return isinstance(entry, dict) and all(
        isinstance(entry.get(k), (int, float)) and not isinstance(entry.get(k), bool) and entry[k] >= 0
        for k in _NUMBERS)


def previous_invocations(results_json: Path, config_hash: str, fingerprint: str) -> list[dict[str, Any]]:
    """The invocations an earlier ``results.json`` of the same run recorded.

    Call it only when this run resumed sessions from the row's sample log; a log started
    afresh (removed, or refused) owes nothing to an old ``results.json``. A file of other
    settings (another ``config_hash``, or another ``run_fingerprint`` where it records one)
    describes another row: nothing carries over. A file written before invocations were kept
    gives one entry rebuilt from its own ``wall_s`` and throughput, when that run added steps.
    An unreadable file or entry carries nothing (the row is still right; only its earlier
    timing is lost).
    """
    try:
        old = json.loads(results_json.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(old, dict) or old.get("config_hash") != config_hash:
        return []
    if old.get("run_fingerprint", fingerprint) != fingerprint:
        return []
    if isinstance(old.get("invocations"), list):
        return [dict(e) for e in old["invocations"] if _valid(e)]
    metrics = old.get("metrics")
    throughput = metrics.get("throughput") if isinstance(metrics, dict) else None
    if not isinstance(throughput, dict):
        return []
    steps, rate, wall = throughput.get("new_steps"), throughput.get("steps_per_s"), old.get("wall_s")
    if not all(isinstance(v, (int, float)) for v in (steps, rate, wall)) or not (steps > 0 and rate > 0):
        return []
    tokens_per_s = throughput.get("completion_tokens_per_s")
    return [{"finished": None, "wall_s": float(wall), "new_steps": int(steps), "elapsed_s": steps / rate,
             "generation_s": None, "completion_tokens": None,
             "completion_tokens_per_s": tokens_per_s if isinstance(tokens_per_s, (int, float)) else None}]


def row_timing(previous: Sequence[Mapping[str, Any]], current: Mapping[str, Any]) -> tuple[list[dict[str, Any]], float,
                                                                                        dict[str, Any]]:
    """``(invocations, wall_s, throughput)`` of a row after ``current``.

    ``current`` is kept when it added steps, or when nothing before it did (a row that
    generated nothing still records its call). ``steps_per_s`` divides all new steps by all
    rollout time; ``completion_tokens_per_s`` uses the invocations that counted tokens (or,
    when none did, the one earlier figure a results file from before invocations gave).
    """
    kept = [dict(e) for e in previous if e.get("new_steps")]
    if current.get("new_steps") or not kept:
        kept.append(dict(current))
    steps = sum(e["new_steps"] for e in kept)
    elapsed = sum(e["elapsed_s"] for e in kept)
    counted = [e for e in kept if e.get("completion_tokens") is not None and e.get("generation_s")]
    tokens, generation = sum(e["completion_tokens"] for e in counted), sum(e["generation_s"] for e in counted)
    tokens_per_s = tokens / generation if generation > 0 and tokens else math.nan
    stored = [e["completion_tokens_per_s"] for e in kept if e.get("completion_tokens_per_s") is not None]
    if not counted and len(stored) == 1:
        tokens_per_s = stored[0]
    throughput = {
        "new_steps": current["new_steps"],  # this call's
        "steps": steps,  # every kept invocation's
        "steps_per_s": steps / elapsed if elapsed > 0 else math.nan,
        "completion_tokens_per_s": tokens_per_s,
        "invocations": len(kept),
    }
    return kept, sum(e["wall_s"] for e in kept), throughput
