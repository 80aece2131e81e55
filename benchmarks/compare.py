"""``python -m benchmarks.compare DIR...``: one table across benchmark result folders.

Each DIR is a folder holding ``results.json`` or a run folder holding ``<agent>/results.json``.
With ``--baseline DIR`` it also says, for every other row, how far it is above the baseline
on the same test steps, with a paired bootstrap over sessions read from ``samples.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .report import markdown_table, predicted_types_table, write_comparison_plot

__all__ = ["collect", "main", "paired_table", "result_folders"]


def result_folders(dirs: Sequence[str]) -> dict[str, Path]:
    """Each result folder under ``dirs``, keyed ``<run>/<agent>`` as the tables name its row."""
    found: dict[str, Path] = {}
    for d in dirs:
        p = Path(d)
        files = [p / "results.json"] if (p / "results.json").exists() else sorted(p.glob("*/results.json"))
        if not files:
            raise FileNotFoundError(f"no results.json in {p} or its subfolders")
        for f in files:
            found[f"{f.parent.parent.name}/{f.parent.name}"] = f.parent
    return found


def collect(dirs: Sequence[str]) -> dict[str, dict]:
    return {key: json.loads((folder / "results.json").read_text(encoding="utf-8"))
            for key, folder in result_folders(dirs).items()}


def _step_answers(folder: Path) -> dict[tuple[str, int], dict]:
    """The sample log's records keyed by (session, step); the last record of a step wins, as in a resumed run."""
    path = folder / "samples.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no sample log; the paired comparison reads every step's answer from it")
    records: dict[tuple[str, int], dict] = {}
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
                records[(r["session_id"], int(r["step_index"]))] = r
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{path}:{lineno}: not a sample record ({exc})") from exc
    return records


def paired_table(folders: dict[str, Path], baseline: str, *, n_bootstrap: int = 1000, seed: int = 0) -> str:
    """Markdown rows: each result's metric minus the baseline's, with paired bootstrap CIs over sessions."""
    from rewards.metrics import CI_METRICS, paired_difference
    from shop_env.types import Action

    from .report import format_rate

    if baseline not in folders:
        raise ValueError(f"baseline {baseline!r} is not among the results: {', '.join(folders)}")
    base = _step_answers(folders[baseline])
    keys = sorted(base)
    golds = [Action.from_dict(base[k]["gold_action"]) for k in keys]
    sessions = [k[0] for k in keys]

    def predictions(records: dict[tuple[str, int], dict]) -> list[Action | None]:
        return [Action.from_dict(records[k]["predicted_action"]) if records[k]["predicted_action"] else None
                for k in keys]

    preds_base = predictions(base)
    names = {"exact_match": "exact", "type_accuracy": "type acc", "type_macro_f1": "type F1"}
    lines = ["| agent | " + " | ".join(f"{names[m]} minus baseline [95% CI]" for m in CI_METRICS)
             + " | resamples where exact is not above | steps exact only here / only in baseline |",
             "|" + "|".join(["---"] * (len(CI_METRICS) + 3)) + "|"]
    for key, folder in folders.items():
        if key == baseline:
            continue
        records = _step_answers(folder)
        if set(records) != set(base):
            raise ValueError(f"{key} and the baseline {baseline} answered different test steps "
                             f"({len(records)} vs {len(base)}); a paired comparison needs the same ones")
        for k in keys:
            if records[k]["gold_action"] != base[k]["gold_action"]:
                raise ValueError(f"{key}: session {k[0]} step {k[1]} has another gold action than in {baseline}")
        diff = paired_difference(preds_base, predictions(records), golds, sessions, n_bootstrap=n_bootstrap, seed=seed)
        cells = [f"{diff[m]['difference']:+.3f} [{diff[m]['ci'][0]:+.3f}, {diff[m]['ci'][1]:+.3f}]"
                 for m in CI_METRICS]
        only_here = sum(1 for k in keys if records[k]["exact_match"] and not base[k]["exact_match"])
        only_base = sum(1 for k in keys if base[k]["exact_match"] and not records[k]["exact_match"])
        lines.append("| " + " | ".join([key, *cells, format_rate(diff["exact_match"]["share_not_above"]),
                                        f"{only_here} / {only_base}"]) + " |")
    return "\n".join(lines) + "\n"


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m benchmarks.compare``."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__.split("\n\n")[0])
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--output", default=None, help="also write the markdown table here")
    ap.add_argument("--plot", default=None, help="also draw the rows as grouped bars into this PNG")
    ap.add_argument("--title", default="", help="title of the plot")
    ap.add_argument("--baseline", default=None, metavar="RUN/AGENT",
                    help="also compare every row with this one (a row name such as sft/prompted-final) on the "
                         "same test steps: paired bootstrap over sessions from the sample logs")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        folders = result_folders(args.dirs)
        results = collect(args.dirs)
        table = markdown_table(results) + "\nAction types the answers predict (counts of test steps):\n\n" \
            + predicted_types_table(results)
        if args.baseline:
            table += (f"\nEach row minus {args.baseline} on the same test steps (paired bootstrap over sessions, "
                      f"1,000 resamples):\n\n" + paired_table(folders, args.baseline))
    except (FileNotFoundError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
        print(f"error: {exc}", file=sys.stderr)
        return 2
    hashes = {r.get("config_hash") for r in results.values()}
    print(table)
    if len(hashes) > 1:
        print(f"note: {len(hashes)} different reward/prompt/context configurations (config_hash) in this table")
    if args.output:
        out = Path(args.output)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(table, encoding="utf-8")
        tmp.replace(out)
    if args.plot:
        written = write_comparison_plot(results, args.plot, args.title)
        print(f"plot: {written}" if written else "plot: skipped (matplotlib is not installed)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
