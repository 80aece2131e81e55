"""What grounded decoding costs: seconds per generated token with and without each constraint.

The transformers backend with the default model decodes the same batch of chats (the
paper's system prompt and synthetic results pages) greedily under ``--constrain none``,
``json`` and ``candidates``; each figure is wall time over generated tokens after a warm-up
call, and the ratio is against ``none`` (target: at most 1.10). Constrained answers close
sooner, so per-token time, not per-answer time, is the cost of the mask; the mask's own time
(inside the grammar's logits processor, per decoding step) is a row of its own, since
answers of other lengths share a batch's prefill differently. The candidates
row includes compiling each page's grammar (they differ per page); the one-time set-up
(the tokenizer's tables, the plain schema) is not. The grammar compile times are rows of
their own.

``python -m benchmarks.perf_constraints [--quick]`` prints a table; ``benchmarks.perf
--only constraints`` runs it in the suite.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

__all__ = ["main", "run"]

MODEL = "smollm2-135m"
TARGET_RATIO = 1.10


class _MaskClock:
    """Time spent inside the grammar's logits processor, and its calls (one per decoding step)."""

    def __init__(self) -> None:
        self.seconds, self.calls = 0.0, 0

    @contextmanager
    def installed(self) -> Iterator[_MaskClock]:
        from agents.backends.grammar import SchemaLogitsProcessor

        original = SchemaLogitsProcessor.__call__

        def timed(processor: Any, input_ids: Any, scores: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(processor, input_ids, scores)
            finally:
                self.seconds += time.perf_counter() - started
                self.calls += 1

        SchemaLogitsProcessor.__call__ = timed  # type: ignore[method-assign]
        try:
            yield self
        finally:
            SchemaLogitsProcessor.__call__ = original  # type: ignore[method-assign]


def _decode(backend: Any, batch: list, schemas: list | None, new_tokens: int) -> tuple[float, int, _MaskClock]:
    from agents.base import GenerationConfig

    config = GenerationConfig(temperature=0, max_new_tokens=new_tokens)
    clock = _MaskClock()
    with clock.installed():
        started = time.perf_counter()
        gens = backend.generate(batch, config, schemas) if schemas is not None else backend.generate(batch, config)
        wall = time.perf_counter() - started
    return wall, sum(g.completion_tokens for g in gens), clock


def run(quick: bool = False) -> list[dict[str, Any]]:
    from agents.backends.grammar import SchemaCompiler
    from agents.backends.transformers_backend import TransformersBackend
    from agents.base import GenerationConfig
    from agents.constraints import schema_for
    from shop_env.html import candidates
    from shop_env.prompt import to_messages

    from .perf_backends import bench_prompts

    count, items, new_tokens = (4, 4, 32) if quick else (8, 12, 128)
    pages = bench_prompts(count, items)
    batch = [to_messages(p) for p in pages]
    backend = TransformersBackend(MODEL, dtype="float32", max_batch_size=count, with_token_info=False)
    backend.generate(batch[:1], GenerationConfig(temperature=0, max_new_tokens=4))  # warm-up
    html = [p[p.index("<html>"):] for p in pages]
    schemas = {"none": None, "json": [schema_for("json")] * count,
               "candidates": [schema_for("candidates", {"candidates": candidates(h)}) for h in html]}
    rows: list[dict[str, Any]] = []
    per_token: dict[str, float] = {}
    backend.generate(batch[:1], GenerationConfig(temperature=0, max_new_tokens=4), schemas["json"][:1])
    # ^ the tokenizer's grammar tables and the plain schema are built once per backend, not per step
    masks: list[dict[str, Any]] = []
    for mode, rows_schemas in schemas.items():
        wall, tokens, clock = _decode(backend, batch, rows_schemas, new_tokens)
        per_token[mode] = wall / max(tokens, 1)
        ref = per_token.get("none")
        rows.append({"name": f"transformers s/token, --constrain {mode} (batch {count}, up to {new_tokens} new)",
                     "value": per_token[mode], "unit": "s/tok", "reference": None if mode == "none" else ref,
                     "ratio": None if mode == "none" else per_token[mode] / ref, "tokens": tokens,
                     "target_ratio": None if mode == "none" else TARGET_RATIO})
        if clock.calls:
            # the mask's own share of the constrained run: independent of how long the answers are
            ms = 1000 * clock.seconds / clock.calls
            masks.append({"name": f"grammar mask's share of the decoding time, --constrain {mode} "
                                  f"({ms:.1f} ms a step, {clock.calls} steps)",
                          "value": clock.seconds / wall, "unit": "fraction", "reference": None, "ratio": None,
                          "steps": clock.calls, "ms_per_step": ms})
    rows.extend(masks)
    compiler = SchemaCompiler(backend.tokenizer, int(backend.model.config.vocab_size))
    for label, schema in (("json", schemas["json"][0]), ("one page's candidates", schemas["candidates"][0])):
        started = time.perf_counter()
        compiler.compile(schema)
        rows.append({"name": f"xgrammar compile ({label})", "value": time.perf_counter() - started, "unit": "s",
                     "reference": None, "ratio": None})
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.perf_constraints", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 short prompts, 32 new tokens")
    args = parser.parse_args(argv)
    from .perf import print_rows

    print_rows("constraints", run(quick=args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
