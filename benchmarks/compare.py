"""``python -m benchmarks.compare DIR...``: one table across benchmark result folders.

Each DIR is a folder holding ``results.json`` or a run folder holding ``<agent>/results.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .report import markdown_table, predicted_types_table, write_comparison_plot

__all__ = ["collect", "main"]


def collect(dirs: Sequence[str]) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for d in dirs:
        p = Path(d)
        files = [p / "results.json"] if (p / "results.json").exists() else sorted(p.glob("*/results.json"))
        if not files:
            raise FileNotFoundError(f"no results.json in {p} or its subfolders")
        for f in files:
            data = json.loads(f.read_text(encoding="utf-8"))
            key = f"{f.parent.parent.name}/{f.parent.name}"
            found[key] = data
    return found


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m benchmarks.compare``."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__.split("\n\n")[0])
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--output", default=None, help="also write the markdown table here")
    ap.add_argument("--plot", default=None, help="also draw the rows as grouped bars into this PNG")
    ap.add_argument("--title", default="", help="title of the plot")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        results = collect(args.dirs)
    except (FileNotFoundError, json.JSONDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    hashes = {r.get("config_hash") for r in results.values()}
    table = markdown_table(results) + "\nAction types the answers predict (counts of test steps):\n\n" \
        + predicted_types_table(results)
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
