"""Rollout-harness overhead: the same generation batches through ``run_rollout`` and
through plain ``backend.generate``.

The harness adds env stepping (context building, parsing, scoring), sample records and the
sample log around the model calls. To measure only that, the harness run records every
batch it sends to the backend, and the reference replays exactly those batches with the
same greedy settings, so both produce the same tokens. Target: overhead at most 5%.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["run"]


class _Recording:
    def __init__(self, agent) -> None:
        self.agent, self.name, self.batches = agent, agent.name, []

    def act(self, observations, infos):
        self.batches.append([self.agent.messages(o) for o in observations])
        return self.agent.act(observations, infos)


def run(quick: bool = False, model: str = "smollm2-135m") -> list[dict[str, Any]]:
    from agents.backends import get_backend
    from agents.base import GenerationConfig
    from agents.prompted import PromptedAgent
    from agents.rollout import run_rollout

    sessions = 2 if quick else 6
    config = GenerationConfig(temperature=0.0, max_new_tokens=48 if quick else 96)
    backend = get_backend("transformers", model=model)
    env_kwargs = {"corpus": "demo", "split": "test", "token_budget": 1024, "token_counter": backend.count_tokens}
    backend.generate([PromptedAgent(backend).messages("warm-up")], config)  # first-call costs out of both timings

    agent = _Recording(PromptedAgent(backend, config))
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = run_rollout(agent, env_kwargs, limit=sessions, batch_size=4,
                             sample_log=Path(tmp) / "samples.jsonl", progress=False)
        harness_s = time.perf_counter() - t0
    harness_tokens = sum(r["completion_tokens"] or 0 for r in result.records)

    t0 = time.perf_counter()
    plain_tokens = 0
    for batch in agent.batches:
        plain_tokens += sum(g.completion_tokens or 0 for g in backend.generate(batch, config))
    plain_s = time.perf_counter() - t0

    h_tps, p_tps = harness_tokens / harness_s, plain_tokens / plain_s
    return [
        {"name": f"harness tokens/s ({len(result.records)} steps, {len(agent.batches)} batches, greedy)",
         "value": h_tps, "unit": "tok/s", "reference": p_tps, "ratio": h_tps / p_tps},
        {"name": "harness overhead vs plain generate (target <= 5%)", "value": 100.0 * (harness_s - plain_s) / plain_s,
         "unit": "%", "reference": 5.0, "ratio": None},
        {"name": "same tokens generated (harness / plain)", "value": harness_tokens, "unit": "tokens",
         "reference": plain_tokens, "ratio": harness_tokens / plain_tokens if plain_tokens else None},
    ]


if __name__ == "__main__":
    import sys

    from benchmarks.perf import print_rows

    print_rows("harness", run(quick="--quick" in sys.argv))
