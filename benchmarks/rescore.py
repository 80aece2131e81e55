"""``python -m benchmarks.rescore DIR [DIR ...]``: score committed results again under today's rules.

For every result folder under the given folders (one holding ``results.json``), the answers in
its sample log (``samples.jsonl``: the exact responses the agent gave) are scored again with the
reward its ``results.json`` names, rebuilt from the recorded settings (a setting added since
takes its default: that is the point), and the metrics recomputed with today's exact-match
rule. No model runs. ``results.json`` (with a ``rescored`` entry: the rule, the previous config
hash and headline numbers), ``results.md``, the plots and the folder's ``summary.md`` are
rewritten; the sample log itself is left as it was (it records what was scored at the time).

The rationale (self-certainty) term cannot be recomputed without the model's logits: the
logged value is kept, capped at ``rationale_alpha * rationale_cap``.

A folder without a sample log can be rescored only when no answer parsed (every metric is then
0 whatever the similarity rule); anything else is refused.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["main", "reward_from_config", "rescore_folder", "scoring_rule"]


def reward_from_config(config: Mapping[str, Any]) -> Any:
    """The reward a results file's ``config.reward`` describes (new settings at their defaults)."""
    from rewards import shop_r1

    classes = {cls.__name__: cls for cls in (shop_r1.ShopR1Reward, shop_r1.BinaryReward, shop_r1.CustomerR1Reward)}
    name = config.get("class")
    if name == "NormalizedReward":
        return shop_r1.NormalizedReward(reward_from_config(config["base"]), name=config.get("name", "normalized"))
    if name not in classes:
        raise ValueError(f"cannot rebuild reward {name!r} from a results file (known: {sorted(classes)}, "
                         "NormalizedReward)")
    cls = classes[name]
    known = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in config.items() if k in known})


def scoring_rule(reward: Any) -> str:
    """One line naming the similarity rule a reward scores with, for results and docs."""
    base = getattr(reward, "base", reward)
    tokenization = getattr(base, "sim_tokenization", "words")
    comparison = getattr(base, "sim_comparison", ">=")
    return (f"ROUGE-L over {tokenization} tokens (rewards.similarity), similarity counts when {comparison} its "
            "threshold; exact match: name identical, text ROUGE-L >= 0.75 over words tokens")


def _records(folder: Path, result: Mapping[str, Any]) -> list[dict[str, Any]]:
    from agents.rollout import complete_sessions, read_sample_log

    sessions = complete_sessions(read_sample_log(folder / "samples.jsonl"))
    wanted = result.get("data", {}).get("session_ids") or list(sessions)
    missing = [s for s in wanted if s not in sessions]
    if missing:
        raise ValueError(f"{folder}: session {missing[0]} of results.json is not complete in samples.jsonl")
    return [r for sid in wanted for r in sessions[sid]]


def _rescored_record(record: Mapping[str, Any], reward: Any) -> dict[str, Any]:
    from rewards.base import answer_of
    from rewards.metrics import exact_match
    from shop_env.core.types import Action, Step

    gold = Action.from_dict(record["gold_action"])
    step = Step(html="", action=gold, click_type=record.get("click_type"))
    breakdown = reward(record["response"], gold, step=step)
    components = dict(breakdown.components)
    old = record.get("reward", {}).get("components", {})
    if "rationale" in old and breakdown.parse_error is None:
        base = getattr(reward, "base", reward)
        ceiling = base.rationale_alpha * base.rationale_cap
        components["rationale"] = min(float(old["rationale"]), ceiling)
    total = sum(components.values())
    parsed = answer_of(breakdown, record["response"], reward)
    pred = parsed.action if parsed.ok else None
    return {**record, "predicted_action": None if pred is None else pred.to_dict(),
            "parse_error": breakdown.parse_error or parsed.error,
            "reward": {**breakdown.to_dict(), "total": total, "components": components},
            "exact_match": bool(pred is not None and exact_match(pred, gold))}


def rescore_folder(folder: str | Path) -> dict[str, Any]:
    """Rescore one result folder in place; returns the new ``results.json`` payload."""
    from rewards.metrics import metrics_from_records

    from .run import HASHED_ENV_FIELDS, _write_result_folder, config_hash

    folder = Path(folder)
    payload = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    reward = reward_from_config(payload["config"]["reward"])
    old_metrics = payload["metrics"]
    if (folder / "samples.jsonl").exists():
        records = [_rescored_record(r, reward) for r in _records(folder, payload)]
        metrics = metrics_from_records(records, n_bootstrap=old_metrics.get("n_bootstrap", 1000),
                                       seed=payload["config"].get("seed", 0), reward=reward)
        source = "samples.jsonl"
    elif old_metrics.get("parse_failure_rate") == 1.0:
        metrics = dict(old_metrics)  # no answer parsed: no similarity was ever computed
        source = "results.json (no sample log; every answer unparsed, so every metric is the same under any rule)"
    else:
        raise ValueError(f"{folder}: no samples.jsonl to rescore from (and some answers parsed)")
    metrics["throughput"] = old_metrics.get("throughput", {})
    previous = {"config_hash": payload.get("config_hash"), "exact_match": old_metrics["exact_match"],
                "reward_mean": old_metrics["reward_mean"]}
    if "rescored" in payload:  # rescoring twice keeps the first scoring's figures
        previous = payload["rescored"]["previous"]
    payload["config"]["reward"] = reward.config()
    env_desc = {k: payload["config"][k] for k in HASHED_ENV_FIELDS}
    payload["config_hash"] = config_hash(env_desc, payload["config"].get("generation"),
                                         payload["config"].get("constrain", "none"))
    payload["metrics"] = metrics
    payload["rescored"] = {"rule": scoring_rule(reward), "from": source, "previous": previous,
                           "command": "python -m benchmarks.rescore"}
    label = folder.name
    _write_result_folder(folder, label, payload)
    return payload


def _row_key(payload: Mapping[str, Any]) -> str:
    from .run import model_label

    return payload["agent"] if payload["agent"] != "prompted" else f"prompted:{model_label(payload['model'])}"


def _rewrite_summary(run_dir: Path) -> None:
    from shop_env.core.atomic import write_text_atomic

    from .report import markdown_table

    summary = run_dir / "summary.md"
    if not summary.exists():
        return
    order = [line.split("|")[1].strip() for line in summary.read_text(encoding="utf-8").splitlines()[2:]
             if line.startswith("|")]
    rows = {}
    for path in sorted(run_dir.glob("*/results.json")):
        payload = json.loads(path.read_text(encoding="utf-8"))
        rows[_row_key(payload)] = payload
    ordered = {k: rows[k] for k in order if k in rows} | {k: v for k, v in rows.items() if k not in order}
    write_text_atomic(summary, markdown_table(ordered))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.rescore", description=__doc__.split("\n\n")[0])
    ap.add_argument("dirs", nargs="+", help="result folders, or folders holding them (searched recursively)")
    args = ap.parse_args(argv)
    folders = sorted({p.parent for d in args.dirs for p in Path(d).rglob("results.json")})
    if not folders:
        print(f"error: no results.json under {' '.join(args.dirs)}", file=sys.stderr)
        return 2
    for folder in folders:
        try:
            payload = rescore_folder(folder)
        except (ValueError, KeyError, FileNotFoundError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        prev, m = payload["rescored"]["previous"], payload["metrics"]
        print(f"{folder}: exact {prev['exact_match']:.3f} -> {m['exact_match']:.3f}, mean reward "
              f"{prev['reward_mean']:.2f} -> {m['reward_mean']:.2f} ({payload['rescored']['from'].split(' ')[0]})")
    for run_dir in sorted({f.parent for f in folders}):
        _rewrite_summary(run_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
