"""``python -m benchmarks.training_curves RUN_DIR...``: GRPO training curves of one or more runs.

Reads each run's log history (``run_card.json`` of a finished run, or such a card copied on
its own, else the newest complete ``checkpoint-*/trainer_state.json`` of one still going) and draws, per optimizer step:
the mean reward, the parse-failure rate, the share of answers of each action type (a
collapse onto ``terminate`` shows there), the KL to the reference and the share of groups
whose answers all scored the same (no learning signal). ``--json`` also writes
the first and last ``--window`` steps' means of each curve, so a change can be read as numbers.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from agents.train.runcard import complete_checkpoints

__all__ = ["CURVES", "curves", "load_log_history", "main", "parse_run_spec", "summarise"]

#: Curve name -> how to find it in a log entry (exact key, or ``*/suffix`` for a per-preset key).
CURVES: dict[str, str] = {
    "reward": "reward",
    "parse failure": "*/parse_failure_rate",
    "answers: click": "*/predicted_click",
    "answers: type_and_submit": "*/predicted_type_and_submit",
    "answers: terminate": "*/predicted_terminate",
    "kl": "kl",
    # groups whose answers all got the same reward: GRPO's advantage is 0 there, so no gradient
    "groups without signal": "frac_reward_zero_std",
}


def load_log_history(run_dir: str | Path) -> list[dict[str, Any]]:
    """The trainer's log entries of a finished or running run.

    A running run is read from its newest checkpoint whose ``trainer_state.json`` parses (one
    being written right now is skipped for the one before).

    Raises:
        FileNotFoundError: the folder has neither ``run_card.json`` nor a readable checkpoint.
    """
    run = Path(run_dir)
    card = run if run.is_file() else run / "run_card.json"  # a run folder, or a run card kept on its own
    if card.is_file():
        return list(json.loads(card.read_text(encoding="utf-8"))["metrics"].get("log_history", []))
    for checkpoint in reversed(complete_checkpoints(run)):
        try:
            return list(json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
                        .get("log_history", []))
        except json.JSONDecodeError:
            continue
    raise FileNotFoundError(f"{run}: no run_card.json and no readable checkpoint-*/trainer_state.json")


def parse_run_spec(spec: str) -> tuple[str, Path]:
    """``(label, folder)`` from ``FOLDER`` or ``LABEL=FOLDER`` (an existing path is never split)."""
    if Path(spec).exists() or "=" not in spec:
        return Path(spec).name, Path(spec)
    label, folder = spec.split("=", 1)
    if not label or not folder:
        raise ValueError(f"{spec!r}: expected FOLDER or LABEL=FOLDER")
    return label, Path(folder)


def _value(entry: Mapping[str, Any], pattern: str) -> float | None:
    if pattern.startswith("*/"):
        hits = [v for k, v in entry.items() if k.endswith(pattern[1:])]
        value = hits[0] if hits else None
    else:
        value = entry.get(pattern)
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def curves(history: Sequence[Mapping[str, Any]]) -> dict[str, list[tuple[int, float]]]:
    """``{curve: [(step, value), ...]}`` for every curve in :data:`CURVES` that the log has."""
    out: dict[str, list[tuple[int, float]]] = {}
    for name, pattern in CURVES.items():
        points = [(int(e["step"]), v) for e in history if "step" in e and (v := _value(e, pattern)) is not None
                  and "train_runtime" not in e]
        if points:
            out[name] = points
    return out


def summarise(series: Mapping[str, Sequence[tuple[int, float]]], window: int = 10) -> dict[str, dict[str, Any]]:
    """First and last ``window`` points' means of each curve, the steps they cover, and the
    mean over every point (for a share such as groups without signal: the share of all steps)."""
    summary = {}
    for name, points in series.items():
        first, last = points[:window], points[-window:]
        summary[name] = {"first_mean": sum(v for _, v in first) / len(first),
                         "last_mean": sum(v for _, v in last) / len(last),
                         "mean": sum(v for _, v in points) / len(points),
                         "first_steps": [first[0][0], first[-1][0]], "last_steps": [last[0][0], last[-1][0]],
                         "points": len(points)}
    return summary


def _rolling_mean(values: Sequence[float], window: int) -> list[float]:
    """Mean of each value and up to ``window - 1`` values before it."""
    out = []
    for i in range(len(values)):
        recent = values[max(0, i - window + 1):i + 1]
        out.append(sum(recent) / len(recent))
    return out


def _plot(runs: Mapping[str, Mapping[str, Sequence[tuple[int, float]]]], path: Path, smooth: int) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    from .report import _save_figure

    names = [n for n in CURVES if any(n in series for series in runs.values())]
    cols = 3
    rows = (len(names) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        for run, series in runs.items():
            points = series.get(name)
            if not points:
                continue
            steps = [s for s, _ in points]
            values = [v for _, v in points]
            line, = ax.plot(steps, _rolling_mean(values, smooth), label=run)
            ax.plot(steps, values, color=line.get_color(), alpha=0.25, linewidth=0.8)
        ax.set_title(name + (f" ({smooth}-step mean)" if smooth > 1 else ""), fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        if name == "reward":
            ax.set_yscale("symlog", linthresh=1.0)
        elif name != "kl":
            ax.set_ylim(-0.02, 1.02)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    next(iter(axes.flat)).legend(fontsize=7)
    return _save_figure(plt, fig, path)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m benchmarks.training_curves``."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.training_curves", description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", help="run folders or run_card.json files (name=PATH to label a curve)")
    ap.add_argument("--output", required=True, help="PNG to write")
    ap.add_argument("--json", default=None, help="also write first/last-window means here")
    ap.add_argument("--smooth", type=_positive, default=10, help="rolling mean over this many steps (1: none)")
    ap.add_argument("--window", type=_positive, default=10, help="steps averaged at each end for --json")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    from shop_env.core.atomic import write_json_atomic

    args = build_parser().parse_args(argv)
    runs: dict[str, dict[str, list[tuple[int, float]]]] = {}
    for spec in args.runs:
        try:
            label, folder = parse_run_spec(spec)
            if label in runs:
                raise ValueError(f"two runs labelled {label!r}: name them with LABEL=FOLDER")
            runs[label] = curves(load_log_history(folder))
            if not runs[label]:
                raise ValueError(f"{folder}: its log has none of the curves {sorted(CURVES)} (not a GRPO run?)")
        except (FileNotFoundError, ValueError, KeyError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    written = _plot(runs, Path(args.output), args.smooth)
    print(f"plot: {written}" if written else "plot: skipped (matplotlib is not installed)")
    summary = {label: summarise(series, args.window) for label, series in runs.items()}
    if args.json:
        write_json_atomic(args.json, summary)
    for label, curves_of_run in summary.items():
        parts = [f"{name} {s['first_mean']:.3g} -> {s['last_mean']:.3g} (mean {s['mean']:.3g})"
                 for name, s in curves_of_run.items()]
        print(f"{label}: " + "; ".join(parts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
