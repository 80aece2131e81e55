"""Env step throughput with full history on the demo corpus, by step index.

The context builder renders and counts each page once per episode and stops adding history
at the token budget, so the cost of a step must stay bounded as sessions get longer. The
reference is the same env with no budget (the whole history re-joined every step).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

__all__ = ["run"]


def _per_step_times(env, sessions: list[int]) -> dict[int, list[float]]:
    from agents.baselines import OracleAgent

    agent = OracleAgent()
    by_step: dict[int, list[float]] = {}
    for i in sessions:
        obs, info = env.reset(options={"session_index": i})
        done = False
        while not done:
            answer = agent.act([obs], [info])[0]
            t0 = time.perf_counter()
            obs, _, term, trunc, info2 = env.step(answer)
            by_step.setdefault(info["step_index"], []).append(time.perf_counter() - t0)
            info = info2
            done = term or trunc
    return by_step


def run(quick: bool = False) -> list[dict[str, Any]]:
    from shop_env import ShopSessionEnv

    corpus_sessions = list(range(40 if quick else 200))
    rows = []
    results = {}
    for label, budget in (("budget 7000", 7000), ("no budget", None)):
        env = ShopSessionEnv(corpus="demo", split="test", history="full", token_budget=budget)
        n = min(len(env.corpus), len(corpus_sessions))
        t0 = time.perf_counter()
        by_step = _per_step_times(env, corpus_sessions[:n])
        total = time.perf_counter() - t0
        steps = sum(len(v) for v in by_step.values())
        results[label] = (by_step, steps / total)
    by_step, sps = results["budget 7000"]
    _, sps_ref = results["no budget"]
    rows.append({"name": "env steps/s (full history, budget 7000, incl. reset)", "value": sps, "unit": "steps/s",
                 "reference": sps_ref, "ratio": sps / sps_ref})
    early = [t for k, v in by_step.items() if k < 5 for t in v]
    late = [t for k, v in by_step.items() if k >= 15 for t in v]
    if early and late:
        e, lt = statistics.median(early) * 1e3, statistics.median(late) * 1e3
        rows.append({"name": "median step ms, steps >= 15 vs steps < 5 (bounded cost)", "value": lt, "unit": "ms",
                     "reference": e, "ratio": lt / e})
    ref_by_step = results["no budget"][0]
    late_ref = [t for k, v in ref_by_step.items() if k >= 15 for t in v]
    if late and late_ref:
        rows.append({"name": "median step ms at steps >= 15: budget vs unlimited history", "value":
                     statistics.median(late) * 1e3, "unit": "ms", "reference": statistics.median(late_ref) * 1e3,
                     "ratio": statistics.median(late) / statistics.median(late_ref)})
    rows.extend(_long_session_rows(quick))
    rows.extend(vector_rows(quick))
    for k in sorted(by_step):
        if k in (0, 5, 10, 15, 20, 30, 40) and by_step[k]:
            rows.append({"name": f"median step ms at step index {k} (n={len(by_step[k])})",
                         "value": statistics.median(by_step[k]) * 1e3, "unit": "ms", "reference": None, "ratio": None})
    return rows


def vector_rows(quick: bool = False, n_envs: int = 4) -> list[dict[str, Any]]:
    """``ShopR1-Step-v0`` under ``gymnasium.make_vec(..., vectorization_mode="async")`` with its defaults:
    the first reset (counting the split's steps renders no page) and steps per second, where
    every step scores a real answer (SAME_STEP autoreset: none is spent on a reset)."""
    import gymnasium as gym

    import shop_env  # noqa: F401

    t0 = time.perf_counter()
    envs = gym.make_vec("ShopR1-Step-v0", n_envs, vectorization_mode="async")
    try:
        envs.reset(seed=0)
        first = time.perf_counter() - t0
        steps, scored = (10 if quick else 50), 0
        t0 = time.perf_counter()
        for _ in range(steps):
            _, reward, _, _, _ = envs.step(envs.action_space.sample())
            scored += int((reward > 0).sum())
        rate = steps * n_envs / (time.perf_counter() - t0)
    finally:
        envs.close()
    return [
        {"name": f"ShopR1-Step-v0, async x{n_envs}, defaults: make_vec + first reset (demo train split)",
         "value": first, "unit": "s", "reference": None, "ratio": None},
        {"name": f"ShopR1-Step-v0, async x{n_envs}: sampled answers scored per second (share with reward > 0: "
                 f"{scored / (steps * n_envs):.0%})", "value": rate, "unit": "steps/s", "reference": None, "ratio": None},
    ]


def _long_session_rows(quick: bool) -> list[dict[str, Any]]:
    """One synthetic 300-step session made of demo pages: the last steps must cost what the
    first ones do under a budget, while unlimited history grows with the step index."""
    from shop_env import ListCorpus, Session, ShopSessionEnv, load_corpus

    demo = load_corpus("demo", split="test")
    steps = [st for i in range(30) for st in demo[i].steps]
    n = 150 if quick else 300
    long = Session("long-synthetic", tuple(steps[:n]), metadata={"generated": True})
    out = []
    timings = {}
    for label, budget in (("budget 7000", 7000), ("no budget", None)):
        env = ShopSessionEnv(corpus=ListCorpus([long]), token_budget=budget)
        by_step = _per_step_times(env, [0])
        first = statistics.median(t for k, v in by_step.items() if k < 20 for t in v)
        last = statistics.median(t for k, v in by_step.items() if k >= n - 20 for t in v)
        timings[label] = (first, last)
    (f_b, l_b), (f_n, l_n) = timings["budget 7000"], timings["no budget"]
    out.append({"name": f"{n}-step session, budget 7000: median ms of last 20 vs first 20 steps",
                "value": l_b * 1e3, "unit": "ms", "reference": f_b * 1e3, "ratio": l_b / f_b})
    out.append({"name": f"{n}-step session, no budget: median ms of last 20 vs first 20 steps",
                "value": l_n * 1e3, "unit": "ms", "reference": f_n * 1e3, "ratio": l_n / f_n})
    return out


if __name__ == "__main__":
    from benchmarks.perf import print_rows

    print_rows("env", run())
