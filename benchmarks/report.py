"""The benchmark's tables and plots, from metrics that :mod:`rewards.metrics` computes.

This module computes nothing: it renders metrics (``metrics_from_records``, re-exported
here for older imports) as Markdown tables and PNG plots, written atomically.
"""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rewards.metrics import metrics_from_records  # noqa: F401 - re-exported
from shop_env.core.atomic import atomic_path
from shop_env.core.types import ACTION_TYPES

__all__ = ["grounding_table", "metrics_from_records", "markdown_table", "predicted_types_table", "write_plots",
           "write_comparison_plot", "format_rate", "plot_title", "wilson_interval"]


def format_rate(value: Any, ci: Sequence[float] | None = None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    text = f"{value:.3f}"
    if ci:
        text += f" [{ci[0]:.3f}, {ci[1]:.3f}]"
    return text


COLUMNS = [
    ("exact", "exact_match"),
    ("type acc", "type_accuracy"),
    ("type F1", "type_macro_f1"),
]


def markdown_table(results: Mapping[str, Mapping[str, Any]]) -> str:
    """One row per agent: exact / type acc / type F1 with 95% CIs, per-type exact, reward."""
    head = ("| agent | exact | type acc | type F1 | exact click | exact type_and_submit | exact terminate "
            "| parse fail | mean reward | steps |")
    lines = [head, "|" + "|".join(["---"] * 10) + "|"]
    for agent, res in results.items():
        m = res["metrics"]
        ci = m.get("ci", {})
        per = m["per_type"]
        cells = [agent] + [format_rate(m[key], ci.get(key)) for _, key in COLUMNS]
        cells += [format_rate(per[t]["exact_match"]) for t in ACTION_TYPES]
        cells += [format_rate(m["parse_failure_rate"]), f"{m['reward_mean']:.2f}", str(m["n"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def predicted_types_table(results: Mapping[str, Mapping[str, Any]]) -> str:
    """One row per agent: how many answers predict each action type, and how many do not parse.

    Read from each result's confusion matrix (rows gold, columns predicted), so a collapse
    onto one action type shows as counts beside the gold answers' counts.
    """
    types = list(ACTION_TYPES)
    head = "| agent | " + " | ".join(f"predicted {t}" for t in types) + " | unparsed | steps |"
    lines = [head, "|" + "|".join(["---"] * (len(types) + 3)) + "|"]
    golds: dict[str, list[int]] = {}
    for agent, res in results.items():
        confusion = res["metrics"]["confusion"]
        if list(confusion["labels"]) != types:
            raise ValueError(f"{agent}: confusion labels {confusion['labels']} are not {types}")
        matrix, unparsed = confusion["matrix"], confusion["unparsed_by_gold"]
        predicted = [sum(row[j] for row in matrix) for j in range(len(types))]
        golds[agent] = [sum(row) + u for row, u in zip(matrix, unparsed, strict=True)]
        lines.append("| " + " | ".join([agent, *map(str, predicted), str(sum(unparsed)), str(sum(golds[agent]))])
                     + " |")
    first_with: dict[tuple[int, ...], str] = {}
    for agent, gold in golds.items():
        first_with.setdefault(tuple(gold), agent)
    for gold, agent in first_with.items():
        label = "gold" if len(first_with) == 1 else f"gold of {agent} (and rows with the same gold counts)"
        lines.append(f"| {label} | " + " | ".join(map(str, gold)) + f" | - | {sum(gold)} |")
    return "\n".join(lines) + "\n"


def grounding_table(results: Mapping[str, Mapping[str, Any]]) -> str:
    """One row per agent: how many parsed answers name an element, and the shares of those
    whose name is on the step's page and in the part of it the model was shown (``-`` for a
    result written before benchmarks.run measured grounding)."""
    lines = ["| agent | answers naming an element | name on page | name in shown context |", "|---|---|---|---|"]
    for agent, res in results.items():
        m = res["metrics"]
        counts = m.get("grounding")
        if counts is None:
            lines.append(f"| {agent} | - | - | - |")
            continue
        lines.append(f"| {agent} | {counts['named_answers']} | {format_rate(m.get('name_on_page'))} "
                     f"| {format_rate(m.get('name_in_context'))} |")
    return "\n".join(lines) + "\n"


def wilson_interval(rate: float, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval (95% by default) of a rate over ``n`` steps; ``(0, 1)`` when ``n`` is 0."""
    if n <= 0:
        return (0.0, 1.0)
    denom = 1.0 + z * z / n
    centre = (rate + z * z / (2 * n)) / denom
    half = z * math.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def write_plots(metrics: Mapping[str, Any], out_dir: str | os.PathLike, title: str) -> list[str]:
    """Per-type accuracy bars and the action-type confusion matrix as PNG files.

    ``title`` should name the run and the agent (benchmarks.run passes ``RUN / FOLDER (agent)``),
    so a plot read on its own says what it shows. The per-type bars carry 95% Wilson intervals
    over that type's steps; the confusion matrix prints every count, with row shares.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    out = Path(out_dir)
    written = []
    types = list(ACTION_TYPES)
    per = metrics["per_type"]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    xs = range(len(types))
    for offset, key, label in ((-0.2, "exact_match", "exact"), (0.2, "type_accuracy", "type")):
        values = [per[t][key] or 0.0 for t in types]
        bounds = [wilson_interval(v, per[t]["support"]) for v, t in zip(values, types, strict=True)]
        errors = [[max(0.0, v - lo) for v, (lo, _) in zip(values, bounds, strict=True)],
                  [max(0.0, hi - v) for v, (_, hi) in zip(values, bounds, strict=True)]]
        bars = ax.bar([x + offset for x in xs], values, width=0.4, label=label, yerr=errors, capsize=3)
        for bar, v, t, (_, hi) in zip(bars, values, types, bounds, strict=True):
            if per[t]["support"]:
                ax.text(bar.get_x() + bar.get_width() / 2, min(hi + 0.02, 0.92), f"{v:.2f}", ha="center",
                        va="bottom", fontsize=8)
    ax.set_xticks(list(xs), [f"{t}\n(n={per[t]['support']})" for t in types])
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy (95% Wilson CI)")
    ax.set_title(textwrap.fill(title, 80), fontsize=9)
    ax.legend(fontsize=8)
    written.append(_save_figure(plt, fig, out / "per_type_accuracy.png"))

    conf = metrics["confusion"]
    matrix = [row + [u] for row, u in zip(conf["matrix"], conf["unparsed_by_gold"], strict=False)]
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    peak = max((v for row in matrix for v in row), default=0) or 1
    ax.imshow(matrix, cmap="Blues", vmin=0, vmax=peak)
    cols = conf["labels"] + ["unparsed"]
    ax.set_xticks(range(len(cols)), cols, rotation=30, ha="right")
    ax.set_yticks(range(len(conf["labels"])), conf["labels"])
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    for i, row in enumerate(matrix):
        total = sum(row)
        for j, v in enumerate(row):
            share = f"\n{v / total:.0%}" if total else ""
            ax.text(j, i, f"{v:,}{share}", ha="center", va="center", fontsize=10,
                    color="white" if v > peak / 2 else "black")
    ax.set_title(textwrap.fill(title, 60) + "\naction types (count, share of the gold row)", fontsize=9)
    written.append(_save_figure(plt, fig, out / "confusion.png"))
    return written


def plot_title(out_dir: str | os.PathLike, folder: str, payload: Mapping[str, Any]) -> str:
    """``RUN / FOLDER: agent (model), N steps of SPLIT``: what a result's plots show."""
    agent = payload.get("agent", folder)
    model = payload.get("model")
    data = payload.get("data", {})
    who = f"{agent} ({Path(str(model)).name})" if model else str(agent)
    where = f", {payload['metrics']['n']:,} steps of {data.get('source', '?')} {data.get('split', '')}".rstrip()
    generated = " (GENERATED data)" if payload.get("generated_data") else ""
    return f"{Path(out_dir).parent.name} / {folder}: {who}{where}{generated}"


def write_comparison_plot(results: Mapping[str, Mapping[str, Any]], path: str | os.PathLike, title: str = "") -> str | None:
    """Grouped bars, one group per metric (exact, type acc, type F1, exact per action type), one bar per row.

    Error bars are the 95% bootstrap CIs where results.json has them. ``None`` without matplotlib.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    groups = [("exact", "exact_match"), ("type acc", "type_accuracy"), ("type F1", "type_macro_f1")]
    types = list(ACTION_TYPES)
    labels = [g for g, _ in groups] + [f"exact\n{t}" for t in types]
    rows = list(results.items())
    width = 0.8 / max(1, len(rows))
    fig, ax = plt.subplots(figsize=(max(7.0, 1.4 * len(labels)), 4.2 + 0.25 * ((len(rows) + 2) // 3)))
    for i, (name, res) in enumerate(rows):
        m = res["metrics"]
        ci = m.get("ci", {})
        # NaN (no bar) where a metric is undefined, e.g. no gold step of that action type
        values = [_or_nan(m[key]) for _, key in groups] + [_or_nan(m["per_type"][t]["exact_match"]) for t in types]
        head = values[:len(groups)]
        low = [max(0.0, v - ci[key][0]) if key in ci and v == v else 0.0 for v, (_, key) in zip(head, groups, strict=True)]
        high = [max(0.0, ci[key][1] - v) if key in ci and v == v else 0.0 for v, (_, key) in zip(head, groups, strict=True)]
        errors = [low + [0.0] * len(types), high + [0.0] * len(types)]
        xs = [j - 0.4 + width * (i + 0.5) for j in range(len(labels))]
        ax.bar(xs, values, width=width, label=name, yerr=errors, capsize=2)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_ylim(0, 1)
    ax.set_ylabel("rate")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8, ncol=min(3, len(rows)), loc="upper center", bbox_to_anchor=(0.5, -0.18), frameon=False)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    return _save_figure(plt, fig, out)


def _or_nan(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _save_figure(plt: Any, fig: Any, path: Path) -> str:
    """Write a figure atomically (temp file, then rename) and close it."""
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return str(path)
