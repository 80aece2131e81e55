"""How long a result row took, summed over the invocations that built its sample log.

A benchmark row is resumable: a second ``benchmarks.run`` over the same folder scores the
logged sessions again and generates only the missing ones. Its ``results.json`` must then
still say what the whole row cost, not only what the last call did (a resume that adds no
steps took 2 s and generated nothing). Each invocation that added steps is kept as one entry
of ``results.json``'s ``invocations``; ``wall_s`` and ``metrics.throughput`` sum over them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["invocation", "previous_invocations", "row_timing"]


def invocation(*, finished: str, wall_s: float, new_steps: int, elapsed_s: float, generation_s: float,
               completion_tokens: int) -> dict[str, Any]:
    """One call's entry: wall time (rollout and scoring; not model loading), rollout time, generation
    time and the work done."""
    return {"finished": finished, "wall_s": wall_s, "new_steps": new_steps, "elapsed_s": elapsed_s,
            "generation_s": generation_s, "completion_tokens": completion_tokens}


def previous_invocations(results_json: Path, config_hash: str) -> list[dict[str, Any]]:
    """The invocations an earlier ``results.json`` of the same settings recorded.

    A file of other settings (another ``config_hash``) describes another row: nothing carries
    over. A file written before invocations were kept gives one entry rebuilt from its own
    ``wall_s`` and throughput, when that run added steps. An unreadable file carries nothing
    (the row is still right; only its earlier timing is lost).
    """
    try:
        old = json.loads(results_json.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(old, dict) or old.get("config_hash") != config_hash:
        return []
    if isinstance(old.get("invocations"), list):
        return [dict(e) for e in old["invocations"] if isinstance(e, dict)]
    throughput = (old.get("metrics") or {}).get("throughput") or {}
    steps, rate = throughput.get("new_steps") or 0, throughput.get("steps_per_s")
    if not steps or not isinstance(rate, (int, float)) or not rate > 0 or "wall_s" not in old:
        return []
    return [{"finished": None, "wall_s": float(old["wall_s"]), "new_steps": int(steps), "elapsed_s": steps / rate,
             "generation_s": None, "completion_tokens": None,
             "completion_tokens_per_s": throughput.get("completion_tokens_per_s")}]


def row_timing(previous: Sequence[Mapping[str, Any]], current: Mapping[str, Any]) -> tuple[list[dict[str, Any]], float,
                                                                                        dict[str, Any]]:
    """``(invocations, wall_s, throughput)`` of a row after ``current``.

    ``current`` is kept when it added steps, or when nothing before it did (a row that
    generated nothing still records its call). ``steps_per_s`` divides all new steps by all
    rollout time; ``completion_tokens_per_s`` uses the invocations that counted tokens.
    """
    kept = [dict(e) for e in previous if e.get("new_steps")]
    if current.get("new_steps") or not kept:
        kept.append(dict(current))
    steps = sum(e["new_steps"] for e in kept)
    elapsed = sum(e["elapsed_s"] for e in kept)
    counted = [e for e in kept if e.get("completion_tokens") is not None and e.get("generation_s")]
    tokens, generation = sum(e["completion_tokens"] for e in counted), sum(e["generation_s"] for e in counted)
    throughput = {
        "new_steps": current["new_steps"],  # this call's
        "steps": steps,  # every invocation's
        "steps_per_s": steps / elapsed if elapsed > 0 else math.nan,
        "completion_tokens_per_s": tokens / generation if generation > 0 and tokens else math.nan,
        "invocations": len(kept),
    }
    return kept, sum(e["wall_s"] for e in kept), throughput
