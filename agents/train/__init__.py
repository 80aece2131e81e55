"""Training: SFT and Shop-R1 GRPO on TRL, resumable runs, dataset builders and scale-out recipes.

Importing this package is light (no torch, transformers or TRL): the names below are
loaded on first access.

Example::

    from agents.train import SFTRunConfig, run_sft, GRPORunConfig, run_grpo

    sft = run_sft(SFTRunConfig(model="smollm2-135m", corpus="demo", output_dir="runs/sft"))
    run_grpo(GRPORunConfig(model=str(sft["final_dir"]), corpus="demo", output_dir="runs/grpo"))

Command line: ``python -m agents.train sft|grpo|eval|verl-export --help``; docs/TRAINING.md.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "GRPORunConfig",
    "SFTRunConfig",
    "ShopR1GRPOTrainer",
    "assistant_token_mask",
    "build_grpo_dataset",
    "build_grpo_trainer",
    "build_sft_dataset",
    "evaluate_model",
    "export_verl_parquet",
    "grpo_rows",
    "latest_checkpoint",
    "make_reward_funcs",
    "precision",
    "run_grpo",
    "run_sft",
    "sft_chats",
    "tokenize_sft_chat",
    "verl_rows",
    "write_run_card",
]

_WHERE = {
    "GRPORunConfig": "grpo",
    "ShopR1GRPOTrainer": "grpo",
    "build_grpo_trainer": "grpo",
    "make_reward_funcs": "grpo",
    "run_grpo": "grpo",
    "SFTRunConfig": "sft",
    "run_sft": "sft",
    "assistant_token_mask": "datasets",
    "build_grpo_dataset": "datasets",
    "build_sft_dataset": "datasets",
    "export_verl_parquet": "datasets",
    "grpo_rows": "datasets",
    "sft_chats": "datasets",
    "tokenize_sft_chat": "datasets",
    "verl_rows": "datasets",
    "evaluate_model": "evaluate",
    "latest_checkpoint": "runcard",
    "precision": "_common",
    "write_run_card": "runcard",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
