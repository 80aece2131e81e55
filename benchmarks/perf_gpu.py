"""GPU figures of the project's own code paths: bf16 generation, SFT steps and GRPO steps.

Runs on one CUDA device, through the same entry points a user calls
(:class:`~agents.backends.transformers_backend.TransformersBackend`,
:func:`agents.train.sft.run_sft`, :func:`agents.train.grpo.run_grpo`), on demo-corpus prompts
with latest-page history and a 1,024-token budget:

- generation: generated tokens per second for batches of 1, 8 and 32 chats (bf16, sampling
  at the paper's temperature 0.6, ``max_new_tokens`` 128);
- SFT: seconds per optimizer step and trained tokens per second (per-step chats, 8 per step);
- GRPO: seconds per optimizer step (8 prompts x group of 8, completions up to 128 tokens, the
  Shop-R1 reward with self-certainty, the KL reference on the GPU too).

``--model`` is a model folder. When the folder holds no weights (``config.json`` and the
tokenizer only), the model is built from the config with random weights (seed 0): the
architecture and so every kernel and tensor shape is the real one, but the answers are noise
and never stop early, so generation always runs the full ``max_new_tokens``. Results go to
``results/perf/gpu.json`` (atomically) and a printed table naming the card.

Run: ``python -m benchmarks.perf_gpu --model DIR [--quick]``.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["device_info", "main", "materialise_model", "run"]

BUDGET = 1024
MAX_NEW_TOKENS = 128


def device_info() -> dict[str, Any]:
    """The card, its memory and the software that drives it."""
    import torch
    import transformers

    props = torch.cuda.get_device_properties(0)
    return {"card": torch.cuda.get_device_name(0), "memory_gib": round(props.total_memory / 2**30, 1),
            "multiprocessors": props.multi_processor_count, "capability": f"{props.major}.{props.minor}",
            "torch": torch.__version__, "cuda": torch.version.cuda, "transformers": transformers.__version__,
            "bf16": torch.cuda.is_bf16_supported()}


def materialise_model(model_dir: str | Path, work: Path) -> tuple[Path, bool]:
    """``(folder, random_weights)``: the folder itself when it holds weights, else a copy with
    weights built from its ``config.json`` (seed 0)."""
    src = Path(model_dir)
    if any(src.glob("*.safetensors")) or any(src.glob("*.bin")):
        return src, False
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    dst = work / "random-init"
    shutil.copytree(src, dst)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(src))
    model.save_pretrained(dst)
    return dst, True


def _prompts(count: int) -> list[list[dict[str, str]]]:
    """The first ``count`` step prompts of the demo test split, as GRPO and evaluation build them."""
    from agents.train.datasets import grpo_rows

    rows = grpo_rows("demo", split="test", history="latest", token_budget=BUDGET, limit=count)  # >= 1 step each
    return [row["prompt"] for row in rows[:count]]


def _generation(model: Path, batch_sizes: Sequence[int]) -> list[dict[str, Any]]:
    import torch

    from agents.backends.transformers_backend import TransformersBackend
    from agents.base import GenerationConfig

    backend = TransformersBackend(model, dtype="auto", max_batch_size=max(batch_sizes), stop_at_json=False)
    config = GenerationConfig(temperature=0.6, max_new_tokens=MAX_NEW_TOKENS, seed=0)
    prompts = _prompts(max(batch_sizes))
    backend.generate(prompts[:1], GenerationConfig(temperature=0, max_new_tokens=4))  # warm-up
    rows = []
    for n in batch_sizes:
        batch = prompts[:n]
        torch.cuda.synchronize()
        started = time.perf_counter()
        gens = backend.generate(batch, config)
        torch.cuda.synchronize()
        wall = time.perf_counter() - started
        tokens = sum(g.completion_tokens for g in gens)
        rows.append({"suite": "gpu", "name": f"generate batch {n}", "value": tokens / wall, "unit": "tokens/s",
                     "wall_s": wall, "prompt_tokens": sum(g.prompt_tokens for g in gens), "dtype": str(backend.model.dtype)})
    del backend
    torch.cuda.empty_cache()
    return rows


def _train_rows(kind: str, result: dict[str, Any], steps: int, wall: float) -> dict[str, Any]:
    train = result["metrics"]["train"]
    return {"suite": "gpu", "name": f"{kind} step", "value": train["train_runtime"] / steps, "unit": "s/step",
            "steps": steps, "wall_s": wall, "train_runtime_s": train["train_runtime"]}


def _sft(model: Path, out: Path, steps: int) -> tuple[dict[str, Any], Path]:
    from agents.train import precision
    from agents.train.sft import SFTRunConfig, run_sft

    config = SFTRunConfig(model=str(model), output_dir=str(out / "sft"), examples="step", history="latest",
                          token_budget=BUDGET, max_length=2048, max_steps=steps, per_device_batch_size=8,
                          gradient_accumulation_steps=1, limit_sessions=100, save_steps=10_000, logging_steps=1,
                          evaluate=False, report_to="none")
    started = time.perf_counter()
    result = run_sft(config)
    wall = time.perf_counter() - started
    row = _train_rows("SFT", result, steps, wall)
    tokens = max((float(entry.get("num_tokens", 0)) for entry in result["metrics"]["log_history"]), default=0.0)
    if tokens:
        row["trained_tokens"] = tokens
        row["tokens_per_s"] = tokens / result["metrics"]["train"]["train_runtime"]
    row["bf16"] = precision(config.bf16)[1]  # what the run used, not just what the card supports
    return row, Path(result["final_dir"])


def _grpo(model: Path, out: Path, steps: int) -> dict[str, Any]:
    from agents.train.grpo import GRPORunConfig, run_grpo

    config = GRPORunConfig(model=str(model), output_dir=str(out / "grpo"), reward="shop_r1", learning_rate=1e-6,
                           max_steps=steps, num_generations=8, per_device_batch_size=64,
                           gradient_accumulation_steps=1, max_completion_length=MAX_NEW_TOKENS, history="latest",
                           token_budget=BUDGET, limit_sessions=100, save_steps=10_000, logging_steps=1,
                           evaluate=False, report_to="none")
    started = time.perf_counter()
    result = run_grpo(config)
    wall = time.perf_counter() - started
    row = _train_rows("GRPO", result, steps, wall)
    row["completions_per_step"] = config.per_device_batch_size
    return row


def run(model: str | Path, quick: bool = False) -> dict[str, Any]:
    """Every GPU figure, with the device it was measured on."""
    import torch

    if not torch.cuda.is_available():
        raise SystemExit("benchmarks.perf_gpu needs a CUDA device; torch sees none")
    info = device_info()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        folder, random_weights = materialise_model(model, work)
        info.update({"model": str(model), "random_weights": random_weights})
        rows = _generation(folder, [1, 8] if quick else [1, 8, 32])
        sft_row, sft_final = _sft(folder, work, 3 if quick else 10)
        rows.append(sft_row)
        rows.append(_grpo(sft_final, work, 2 if quick else 5))
    return {"device": info, "rows": rows}


def main(argv: Sequence[str] | None = None) -> int:
    from shop_env.core.atomic import write_json_atomic

    p = argparse.ArgumentParser(prog="python -m benchmarks.perf_gpu", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="model folder (weights, or config.json + tokenizer only)")
    p.add_argument("--quick", action="store_true", help="fewer batches and steps")
    p.add_argument("--output", default="results/perf/gpu.json")
    args = p.parse_args(argv)
    result = run(args.model, quick=args.quick)
    write_json_atomic(args.output, result)
    dev = result["device"]
    print(f"\n{dev['card']} ({dev['memory_gib']} GiB), torch {dev['torch']}, CUDA {dev['cuda']}, "
          f"transformers {dev['transformers']}, random weights: {dev['random_weights']}")
    print("| figure | value | unit | wall s |\n| --- | ---: | --- | ---: |")
    for row in result["rows"]:
        print(f"| {row['name']} | {row['value']:.3g} | {row['unit']} | {row['wall_s']:.1f} |")
    print(f"\nwritten: {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
