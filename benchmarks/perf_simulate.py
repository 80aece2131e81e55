"""Perf rows of closed-loop simulation: heuristic shoppers in ShopR1-Live-v0 on the in-process store.

The issue's target: 200 heuristic sessions simulated in under a minute on 2 cores. The row
times :func:`benchmarks.simulate.shop` (env resets, the agent's answers, the store's pages,
candidates and observations, the recorded sessions) and, separately, the realism report of
those sessions against 100 reference sessions with 200 bootstrap resamples.
"""

from __future__ import annotations

import time
from typing import Any


def run(quick: bool = False) -> list[dict[str, Any]]:
    from agents.baselines import HeuristicAgent
    from rewards.realism import features, realism_report
    from shop_env.corpus import load_corpus

    from .simulate import shop

    n = 40 if quick else 200
    goals = load_corpus("demo", split="train")
    ids = goals.session_ids()[:n]
    kwargs = {"corpus": "demo", "split": "train", "start": "session", "max_steps": 50}
    t0 = time.perf_counter()
    sessions, facts = shop(HeuristicAgent(), kwargs, ids, batch_size=8)
    seconds = time.perf_counter() - t0
    reference = [features(s) for s in load_corpus("demo", split="test")][:100]
    t1 = time.perf_counter()
    realism_report(sessions, reference, n_bootstrap=200)
    report_s = time.perf_counter() - t1
    return [
        {"name": f"simulate {n} heuristic sessions (ShopR1-Live-v0, in-process store)", "value": seconds,
         "unit": "s", "reference": 60.0 * n / 200, "ratio": seconds / (60.0 * n / 200),
         "steps": facts["steps"], "steps_per_s": facts["steps"] / seconds,
         "note": "reference: the target, a minute for 200 sessions"},
        {"name": f"realism report of {n} sessions vs 100 (200 bootstrap resamples)", "value": report_s, "unit": "s",
         "reference": None, "ratio": None},
    ]
