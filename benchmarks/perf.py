"""``python -m benchmarks.perf``: the performance suite, each figure against a reference
measured in the same run (loading, simplifier, reward scoring, env steps, harness overhead).

``--quick`` runs small sizes; ``--only NAME`` picks suites; results go to
``results/perf/perf.json`` (atomically) and a printed table.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Sequence
from typing import Any

SUITES = {
    "loading": "benchmarks.perf_loading",
    "html": "benchmarks.perf_html",
    "rewards": "benchmarks.perf_rewards",
    "env": "benchmarks.perf_env",
    "harness": "benchmarks.perf_harness",
    "backends": "benchmarks.perf_backends",
    "simulate": "benchmarks.perf_simulate",
    "constraints": "benchmarks.perf_constraints",
}


def print_rows(suite: str, rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"perf: {suite}")
    for col in ("benchmark", "value", "unit", "reference", "ratio"):
        table.add_column(col, justify="left" if col == "benchmark" else "right")

    def fmt(v: Any) -> str:
        return "-" if v is None else (f"{v:,.3g}" if isinstance(v, float) else str(v))

    for r in rows:
        table.add_row(r["name"], fmt(r.get("value")), str(r.get("unit", "")), fmt(r.get("reference")), fmt(r.get("ratio")))
    Console(width=150).print(table)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.perf", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", action="append", choices=sorted(SUITES))
    ap.add_argument("--output", default="results/perf/perf.json")
    args = ap.parse_args(argv)
    from shop_env.core.atomic import write_json_atomic

    out: dict[str, Any] = {"quick": args.quick, "suites": {}}
    for name in args.only or list(SUITES):
        try:
            module = importlib.import_module(SUITES[name])
        except ImportError as exc:
            print(f"[perf] skip {name}: {exc}", file=sys.stderr)
            continue
        t0 = time.perf_counter()
        rows = module.run(quick=args.quick)
        out["suites"][name] = {"rows": rows, "wall_s": time.perf_counter() - t0}
        print_rows(name, rows)
    write_json_atomic(args.output, out)
    print(f"[perf] wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
