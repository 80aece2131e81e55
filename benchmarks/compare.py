"""``python -m benchmarks.compare DIR...``: one table across benchmark result folders.

Each DIR is a folder holding ``results.json`` or a run folder holding ``<agent>/results.json``.
With ``--baseline RUN/AGENT`` it also compares every other row with that one on the same test
steps (read from the sample logs): paired bootstrap CIs over sessions and a paired
permutation test.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from shop_env.core.atomic import write_text_atomic

from .report import grounding_table, markdown_table, predicted_types_table, write_comparison_plot
from .run import HASHED_ENV_FIELDS

__all__ = ["collect", "configuration_note", "main", "paired_table", "result_folders", "step_answers"]


def result_folders(dirs: Sequence[str]) -> dict[str, Path]:
    """Each result folder under ``dirs``, keyed ``<run>/<agent>`` as the tables name its row."""
    found: dict[str, Path] = {}
    for d in dirs:
        p = Path(d)
        files = [p / "results.json"] if (p / "results.json").exists() else sorted(p.glob("*/results.json"))
        if not files:
            raise FileNotFoundError(f"no results.json in {p} or its subfolders")
        for f in files:
            key = f"{f.parent.parent.name}/{f.parent.name}"
            if key in found:
                raise ValueError(f"two result folders make the same row {key!r}: {found[key]} and {f.parent}")
            found[key] = f.parent
    return found


def collect(folders: Mapping[str, Path]) -> dict[str, dict]:
    """Each row's ``results.json``."""
    return {key: json.loads((folder / "results.json").read_text(encoding="utf-8")) for key, folder in folders.items()}


def step_answers(folder: Path, result: Mapping[str, Any]) -> dict[tuple[str, int], tuple[Any, Any]]:
    """``{(session, step): (gold, predicted)}`` for exactly the steps behind ``result``'s metrics.

    Reads the sample log the way a resumed run does (complete sessions only) and keeps the
    sessions ``results.json`` lists; an older result without that list must match the log's
    step count, so a log that also holds other sessions is refused rather than mixed in.
    """
    from agents.rollout import complete_sessions, read_sample_log
    from shop_env.core.types import Action

    path = folder / "samples.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no sample log; the paired comparison reads every step's answer from it")
    try:
        sessions = complete_sessions(read_sample_log(path))
        wanted = result.get("data", {}).get("session_ids")
        if wanted is not None:
            missing = [s for s in wanted if s not in sessions]
            if missing:
                raise ValueError(f"session {missing[0]} of results.json is not complete in the sample log")
            sessions = {s: sessions[s] for s in wanted}
        answers = {}
        for sid, records in sessions.items():
            for r in records:
                pred = Action.from_dict(r["predicted_action"]) if r["predicted_action"] else None
                answers[(sid, int(r["step_index"]))] = (Action.from_dict(r["gold_action"]), pred)
    except KeyError as exc:
        raise ValueError(f"{path}: a record lacks {exc}; not a sample log of benchmarks.run") from exc
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from exc
    expected = result["metrics"]["n"]
    if len(answers) != expected:
        raise ValueError(f"{path}: {len(answers)} complete steps, but the metrics in results.json cover {expected}; "
                         "the log holds other sessions too (rerun benchmarks.run to record which ones)")
    return answers


def paired_table(folders: Mapping[str, Path], results: Mapping[str, Mapping[str, Any]], baseline: str, *,
                 n_bootstrap: int = 1000, seed: int = 0) -> str:
    """Each row's metrics minus the baseline's on the same steps, as a markdown table with its heading."""
    from rewards.metrics import CI_METRICS, paired_difference

    if baseline not in folders:
        raise ValueError(f"baseline {baseline!r} is not among the results: {', '.join(folders)}")
    base = step_answers(folders[baseline], results[baseline])
    keys = sorted(base)
    golds = [base[k][0] for k in keys]
    sessions = [k[0] for k in keys]
    names = {"exact_match": "exact", "type_accuracy": "type acc", "type_macro_f1": "type F1"}
    lines: list[str] = []
    last = None  # the newest comparison: its settings name the table's columns
    for key, folder in folders.items():
        if key == baseline:
            continue
        answers = step_answers(folder, results[key])
        if set(answers) != set(base):
            first = sorted(set(answers) ^ set(base))[0]
            where = "only in the baseline" if first in base else f"only in {key}"
            raise ValueError(f"{key} and the baseline {baseline} answered different test steps: session {first[0]} "
                             f"step {first[1]} is {where}; a paired comparison needs the same steps")
        for k in keys:
            if answers[k][0] != base[k][0]:
                raise ValueError(f"{key}: session {k[0]} step {k[1]} has another gold action than in {baseline}")
        diff = paired_difference([base[k][1] for k in keys], [answers[k][1] for k in keys], golds, sessions,
                                 n_bootstrap=n_bootstrap, seed=seed)
        last = diff
        cells = [f"{diff[m]['difference']:+.3f} [{diff[m]['ci'][0]:+.3f}, {diff[m]['ci'][1]:+.3f}]"
                 for m in CI_METRICS]
        exact = diff["exact_match"]
        lines.append("| " + " | ".join([key, *cells, *(_format_p(diff[m]["p_value"]) for m in CI_METRICS),
                                        f"{exact['only_b']} / {exact['only_a']}"]) + " |")
    if last is None:
        return f"\n(no row besides the baseline {baseline} to compare)\n"
    ci = f"{last['ci_level']:.0%} CI"
    head = ("| row | " + " | ".join(f"{names[m]} minus baseline [{ci}]" for m in CI_METRICS) + " | "
            + " | ".join(f"p ({names[m]})" for m in CI_METRICS) + " | steps exact only in row / only in baseline |")
    title = (f"\nEach row minus {baseline} on the same {last['n']} test steps (paired bootstrap over "
             f"{last['ci_unit']}s, {last['n_bootstrap']:,} resamples; p: two-sided paired permutation test, "
             f"{last['n_permutations']:,} swaps of the two rows' answers per {last['ci_unit']}):\n\n")
    return title + "\n".join([head, "|" + "|".join(["---"] * (2 * len(CI_METRICS) + 2)) + "|", *lines]) + "\n"


def _flatten(value: Any, prefix: str) -> dict[str, Any]:
    if isinstance(value, Mapping) and value:
        return {k: v for key, sub in value.items() for k, v in _flatten(sub, f"{prefix}.{key}").items()}
    return {prefix: json.dumps(value, sort_keys=True, default=str)}


def configuration_note(results: Mapping[str, Mapping[str, Any]]) -> str | None:
    """A line saying which settings differ between the rows, when their ``config_hash`` does.

    The hash covers the reward, context, system prompt and generation settings; the note names
    the settings that differ among the rows that have generation settings and lists the rows
    without any (baselines), so a reader sees what a table mixes.
    """
    n = len({r.get("config_hash") for r in results.values()})
    if n <= 1:
        return None
    hashed = (*HASHED_ENV_FIELDS, "generation")
    configs = {row: r.get("config") or {} for row, r in results.items()}
    no_generation = [row for row, c in configs.items() if c.get("generation") is None]
    flat = {row: {k: v for part in hashed for k, v in _flatten(c.get(part), part).items()}
            for row, c in configs.items() if row not in no_generation}
    keys = sorted({k for f in flat.values() for k in f})
    differ = [k for k in keys if len({f.get(k) for f in flat.values()}) > 1]
    parts = []
    if differ:
        parts.append("rows differ in " + ", ".join(differ))
    if no_generation:
        parts.append("no generation settings: " + ", ".join(no_generation))
    return (f"note: {n} different reward/prompt/context/generation configurations (config_hash) in this table"
            + (f" ({'; '.join(parts)})" if parts else ""))


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m benchmarks.compare``."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__.split("\n\n")[0])
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--output", default=None, help="also write the markdown table here")
    ap.add_argument("--plot", default=None, help="also draw the rows as grouped bars into this PNG")
    ap.add_argument("--title", default="", help="title of the plot")
    ap.add_argument("--baseline", default=None, metavar="RUN/AGENT",
                    help="also compare every row with this one (a row name such as sft/prompted-final) on the "
                         "same test steps, read from the sample logs: paired bootstrap CIs over sessions and a "
                         "paired permutation test")
    return ap


def _format_p(p: float) -> str:
    return f"{p:.3f}" if p >= 0.001 else "< 0.001"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        folders = result_folders(args.dirs)
        results = collect(folders)
        table = markdown_table(results) + "\nAction types the answers predict (counts of test steps):\n\n" \
            + predicted_types_table(results) \
            + "\nAnswers naming an element, and whether that element exists:\n\n" + grounding_table(results)
        if args.baseline:
            table += paired_table(folders, results, args.baseline)
    except (FileNotFoundError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(table)
    note = configuration_note(results)
    if note:
        print(note)
    if args.output:
        write_text_atomic(args.output, table)
    if args.plot:
        written = write_comparison_plot(results, args.plot, args.title)
        print(f"plot: {written}" if written else "plot: skipped (matplotlib is not installed)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
