"""Corpus statistics and conversion: ``python -m shop_env.data {stats,convert}``.

``stats`` prints what a corpus holds (sessions, steps, action- and click-type
distributions, steps per session, page-size percentiles, outcomes) and how predictable its
next actions are for two model-free baselines (majority action, rule-based heuristic)
against the oracle, so a model's accuracy can be read against floors and a ceiling.
``convert`` writes any source to the project's JSONL format (one file, each line tagged
with its split, so ``jsonl:OUT`` restores the same splits).

Examples::

    python -m shop_env.data stats --source demo --split test   # (shop_env.data runs this module)
    python -m shop_env.data stats --source opera:~/OPeRA --option config=full --json
    python -m shop_env.data convert --source opera:~/OPeRA --out opera.jsonl.gz
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from .corpus import Corpus, FirstSessions, first_sessions, load_corpus
from .predictors import predictability
from .splits import SPLITS

__all__ = [
    "LimitedCorpus",
    "build_parser",
    "corpus_stats",
    "main",
    "parse_options",
    "percentiles",
    "predictability",
]

PAGE_PERCENTILES: tuple[float, ...] = (10, 50, 90, 99)
STEP_PERCENTILES: tuple[float, ...] = (50, 90)


#: The first sessions of a corpus (``--limit``): :func:`shop_env.corpus.first_sessions`.
LimitedCorpus = FirstSessions


def percentiles(values: Sequence[float], qs: Iterable[float]) -> dict[str, float]:
    """Linear-interpolated percentiles (numpy's default rule) keyed ``p50`` etc.; NaN when empty."""
    ordered = sorted(values)
    out: dict[str, float] = {}
    for q in qs:
        key = f"p{q:g}"
        if not ordered:
            out[key] = math.nan
            continue
        pos = (len(ordered) - 1) * q / 100.0
        lo, hi = math.floor(pos), math.ceil(pos)
        out[key] = float(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo))
    return out


def _summary(values: Sequence[float], qs: Iterable[float]) -> dict[str, float]:
    if not values:
        return {"mean": math.nan, "min": math.nan, **percentiles(values, qs), "max": math.nan}
    return {"mean": sum(values) / len(values), "min": float(min(values)), **percentiles(values, qs),
            "max": float(max(values))}


def _ranked(counter: Counter[str]) -> dict[str, dict[str, float]]:
    total = sum(counter.values())
    return {key: {"count": n, "share": n / total} for key, n in counter.most_common()}


def corpus_stats(corpus: Corpus) -> dict[str, Any]:
    """Everything ``stats`` prints except predictability, from one streaming pass over the corpus."""
    action_types: Counter[str] = Counter()
    click_types: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    steps_per_session: list[int] = []
    page_chars: list[int] = []
    human_rationales = 0
    for session in corpus:
        steps_per_session.append(len(session.steps))
        outcomes[session.outcome] += 1
        for step in session.steps:
            action_types[step.action.type] += 1
            if step.action.type == "click":
                click_types[step.click_type or "(none)"] += 1
            page_chars.append(len(step.html))
            human_rationales += step.rationale_source == "human"
    stats: dict[str, Any] = {
        **corpus.describe(),
        "steps": len(page_chars),
        "action_types": _ranked(action_types),
        "click_types": _ranked(click_types),
        "outcomes": _ranked(outcomes),
        "steps_per_session": _summary(steps_per_session, STEP_PERCENTILES),
        "page_chars": {**_summary(page_chars, PAGE_PERCENTILES), "total": sum(page_chars)},
        "human_rationales": human_rationales,
    }
    return stats


# --------------------------------------------------------------------------- command line


def parse_options(pairs: Sequence[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs as loader options; a VALUE that parses as JSON is used as such (0.2, true)."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--option expects KEY=VALUE, got {pair!r}")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m shop_env.data", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--source", default="demo", help="demo, opera:DIR, jsonl:PATH (default: demo)")
        sub.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                         help="loader option, repeatable (config=full, valid_fraction=0.2, seed=1)")
        sub.add_argument("--skip-invalid", action="store_true", help="skip bad rows and report how many")
        sub.add_argument("--limit", type=int, default=None, help="use only the first N sessions of a split")

    stats = commands.add_parser("stats", help="print corpus statistics and baseline predictability")
    common(stats)
    stats.add_argument("--split", default="train", choices=SPLITS)
    stats.add_argument("--json", action="store_true", help="print JSON instead of tables")
    stats.add_argument("--no-predictability", action="store_true", help="skip the baseline predictors")

    convert = commands.add_parser("convert", help="write a source to the JSONL session format")
    common(convert)
    convert.add_argument("--split", default="all", choices=("all", *SPLITS),
                         help="one split, or all (default), each line tagged with its split")
    convert.add_argument("--out", required=True, help="output .jsonl or .jsonl.gz file")
    return parser


def _load(args: argparse.Namespace, split: str) -> Corpus:
    options = parse_options(args.option)
    if args.skip_invalid:
        options["skip_invalid"] = True
    return first_sessions(load_corpus(args.source, split=split, **options), args.limit)


def _print_tables(stats: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    label = " (GENERATED demo data, not real shoppers)" if stats["generated"] else ""
    summary = Table(title=f"{stats['source']} split={stats['split']}{label}", show_header=False)
    summary.add_column("key")
    summary.add_column("value", justify="right")
    for key in ("sessions", "steps", "human_rationales", "skipped_invalid", "dropped_sessions"):
        if key in stats:
            summary.add_row(key, f"{stats[key]:,}")
    for action_type, n in (stats.get("dropped_actions") or {}).items():
        summary.add_row(f"dropped {action_type} rows", f"{n:,}")
    console.print(summary)

    for key, title in (("action_types", "Action types"), ("click_types", "Click types"), ("outcomes", "Outcomes")):
        table = Table(title=title)
        table.add_column("value")
        table.add_column("count", justify="right")
        table.add_column("share", justify="right")
        for value, row in stats[key].items():
            table.add_row(value, f"{row['count']:,}", f"{row['share']:.1%}")
        console.print(table)

    for key, title in (("steps_per_session", "Steps per session"), ("page_chars", "Page size (characters)")):
        table = Table(title=title)
        for name in stats[key]:
            table.add_column(name, justify="right")
        table.add_row(*(f"{v:,.1f}" if isinstance(v, float) else f"{v:,}" for v in stats[key].values()))
        console.print(table)

    pred = stats.get("predictability")
    if pred is None:
        return
    table = Table(title=f"Predictability: exact match on {pred['steps']:,} steps "
                        f"(majority fitted on {pred['fitted_on']})")
    table.add_column("predictor")
    table.add_column("exact match", justify="right")
    for name in ("majority", "rule_based", "oracle"):
        table.add_row(name, f"{pred[name]:.1%}")
    console.print(table)


def _stats_command(args: argparse.Namespace) -> int:
    corpus = _load(args, args.split)
    stats = corpus_stats(corpus)
    if not args.no_predictability:
        fit = corpus if args.split == "train" else _load(args, "train")
        if len(fit) == 0:
            raise ValueError(f"the train split of {args.source} is empty, and predictability fits the majority "
                             "action on it: give the corpus train sessions (a JSONL line's \"split\": \"train\" "
                             "key, or a train.jsonl in the folder), or pass --no-predictability")
        stats["predictability"] = predictability(corpus, fit)
    if args.json:
        print(json.dumps(stats, indent=2, default=str))
    else:
        _print_tables(stats)
    return 0


def _convert_command(args: argparse.Namespace) -> int:
    from .sources.jsonl import write_jsonl_splits

    splits = SPLITS if args.split == "all" else (args.split,)
    corpora = {name: _load(args, name) for name in splits}
    written = write_jsonl_splits(corpora, args.out)
    sizes = ", ".join(f"{name} {len(c):,}" for name, c in corpora.items())
    print(f"wrote {written:,} sessions ({sizes}) to {args.out}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (errors print one line, status 2)."""
    from .corpus import CorpusError

    args = build_parser().parse_args(argv)
    try:
        return _stats_command(args) if args.command == "stats" else _convert_command(args)
    except (CorpusError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
