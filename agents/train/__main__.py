"""Command line: ``python -m agents.train {sft,grpo,eval,verl-export} ...``.

Every field of :class:`~agents.train.sft.SFTRunConfig` / :class:`~agents.train.grpo.GRPORunConfig`
is a flag (``--learning-rate 1e-5``, ``--lora/--no-lora``), generated from the dataclass so
the CLI and the Python API can never disagree. Examples are in docs/TRAINING.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from shop_env.context import history_arg

from ..constraints import CONSTRAIN_MODES

__all__ = ["add_dataclass_arguments", "config_from_args", "main"]


def _none_or(kind: type) -> Any:
    def parse(text: str) -> Any:
        if text.lower() in ("none", "null", ""):
            return None
        if kind is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise argparse.ArgumentTypeError(f"expected true/false/none, got {text!r}")
        return kind(text)

    parse.__name__ = kind.__name__
    return parse


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """One ``--flag`` per dataclass field; the field's ``metadata["help"]`` is the help text.

    Booleans with a bool default become ``--x/--no-x``; fields whose default is ``None``
    take their type from ``metadata["type"]`` and accept ``none``.
    """
    own = set(cls.__dict__.get("__annotations__", {}))
    fields = dataclasses.fields(cls)
    # The command's own options first, then the options every run shares.
    for f in [f for f in fields if f.name in own] + [f for f in fields if f.name not in own]:
        flag = "--" + f.name.replace("_", "-")
        help_text = f.metadata.get("help", "")
        default = f.default
        if isinstance(default, bool):
            parser.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=default,
                                help=help_text)
            continue
        kind = f.metadata.get("type") or type(default)
        if default is None or "type" in f.metadata:
            parser.add_argument(flag, dest=f.name, type=_none_or(kind), default=default,
                                help=f"{help_text} (default: {default})")
        else:
            parser.add_argument(flag, dest=f.name, type=kind, default=default,
                                help=f"{help_text} (default: {default})")


def config_from_args(cls: type, namespace: argparse.Namespace) -> Any:
    """Build the dataclass from parsed arguments (validation runs in its ``__post_init__``)."""
    return cls(**{f.name: getattr(namespace, f.name) for f in dataclasses.fields(cls)})


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    metrics = result["metrics"]
    out = {"final_dir": str(result["final_dir"]), "run_card": str(result["run_card"]),
           "resumed_from": None if result["resumed_from"] is None else str(result["resumed_from"]),
           "global_step": metrics.get("global_step"), "train": metrics.get("train")}
    if "eval" in metrics:
        keep = ("n", "sessions", "exact_match", "type_accuracy", "type_macro_f1", "parse_failure_rate", "reward_mean")
        out["eval"] = {k: metrics["eval"].get(k) for k in keep}
    return out


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m agents.train`` (also used to check recipes' commands)."""
    from .grpo import GRPORunConfig
    from .sft import SFTRunConfig

    parser = argparse.ArgumentParser(prog="python -m agents.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    add_dataclass_arguments(sub.add_parser("sft", help="supervised fine-tuning on whole-session chats"),
                            SFTRunConfig)
    add_dataclass_arguments(sub.add_parser("grpo", help="Shop-R1 GRPO (any reward preset)"), GRPORunConfig)

    ev = sub.add_parser("eval", help="evaluate a model folder on a split through the rollout harness")
    ev.add_argument("--model", required=True, help="model folder or short name")
    ev.add_argument("--corpus", default="demo")
    ev.add_argument("--split", default="valid")
    ev.add_argument("--limit", type=int, default=None, help="first N sessions")
    ev.add_argument("--max-new-tokens", type=int, default=256)
    ev.add_argument("--batch-size", type=int, default=8)
    ev.add_argument("--history", type=history_arg, default="full")
    ev.add_argument("--token-budget", type=_none_or(int), default=7000)
    ev.add_argument("--persona", action="store_true", help="prepend the shopper's persona (as in training)")
    ev.add_argument("--reward", default="shop_r1")
    ev.add_argument("--sample-log", default=None, help="JSONL of every step (resumable)")
    ev.add_argument("--constrain", default="none", choices=CONSTRAIN_MODES,
                    help="grounded decoding: none (the paper), json, candidates or shown (agents.constraints)")
    ev.add_argument("--output", default=None, help="write the metrics JSON here (atomically)")

    vx = sub.add_parser("verl-export", help="write a corpus as verl parquet files (<split>.parquet)")
    vx.add_argument("--corpus", default="demo")
    vx.add_argument("--out", required=True, help="output folder")
    vx.add_argument("--splits", default="train,valid", help="comma list of splits")
    vx.add_argument("--reward", default="shop_r1", help="preset compute_score uses for these rows")
    vx.add_argument("--history", type=history_arg, default="full")
    vx.add_argument("--token-budget", type=_none_or(int), default=7000)
    vx.add_argument("--limit", type=int, default=None, help="first N sessions per split")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    from .grpo import GRPORunConfig
    from .sft import SFTRunConfig

    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "sft":
            from .sft import run_sft

            result = run_sft(config_from_args(SFTRunConfig, args))
            print(json.dumps(_summary(result), indent=2, default=str))
        elif args.command == "grpo":
            from .grpo import run_grpo

            result = run_grpo(config_from_args(GRPORunConfig, args))
            print(json.dumps(_summary(result), indent=2, default=str))
        elif args.command == "eval":
            from shop_env.core.atomic import write_json_atomic
            from shop_env.core.provenance import to_jsonable

            from .evaluate import evaluate_model

            metrics = evaluate_model(args.model, args.corpus, split=args.split, limit=args.limit,
                                     max_new_tokens=args.max_new_tokens, batch_size=args.batch_size,
                                     history=args.history, token_budget=args.token_budget, persona=args.persona,
                                     reward=args.reward, sample_log=args.sample_log, constrain=args.constrain)
            if args.output:
                write_json_atomic(args.output, to_jsonable(metrics))
            print(json.dumps(metrics, indent=2, default=str))
        else:
            from .datasets import export_verl_parquet

            paths = export_verl_parquet(args.corpus, args.out, splits=[s for s in args.splits.split(",") if s],
                                        reward=args.reward, history=args.history, token_budget=args.token_budget,
                                        limit=args.limit)
            print(json.dumps({k: str(v) for k, v in paths.items()}, indent=2))
    except (FileExistsError, FileNotFoundError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
