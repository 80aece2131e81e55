"""Supervised fine-tuning (the paper's first stage) on TRL's ``SFTTrainer``.

Whole sessions become multi-turn chats (the paper), or with ``--examples step`` one chat per step
with the prompt evaluation uses (:func:`agents.train.datasets.build_sft_dataset`); the
loss is on assistant turns only (labels built by :func:`~agents.train.datasets.assistant_token_mask`,
so no ``{% generation %}`` markers are needed in the chat template), full or LoRA
fine-tuning, checkpoints every ``save_steps`` that ``resume`` continues from with the same
data order, and at the end an atomically written ``final/`` model, an evaluation on the
validation split through the rollout harness, and ``run_card.json``.

Defaults are the paper's (SPEC section 3): 4 epochs, lr 2e-5. The CPU demo overrides
them on the command line (see docs/TRAINING.md).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shop_env.context import DEFAULT_TOKEN_BUDGET, parse_history
from shop_env.corpus import Corpus

from ._common import SharedRunOptions
from ._common import field_help as _help

__all__ = ["SFTRunConfig", "run_sft"]

logger = logging.getLogger("agents.train")




@dataclass
class SFTRunConfig(SharedRunOptions):
    """Settings of one SFT run; every field is a ``python -m agents.train sft --<field>`` flag."""

    model: str = field(default="smollm2-135m", metadata=_help("short model name or local model folder"))
    corpus: str = field(default="demo", metadata=_help("corpus source: demo, opera:DIR or jsonl:PATH"))
    train_split: str = field(default="train", metadata=_help("split to train on"))
    eval_split: str = field(default="valid", metadata=_help("split to evaluate on after training"))
    output_dir: str = field(default="runs/sft", metadata=_help("run folder: checkpoints, final/, run_card.json"))
    epochs: float = field(default=4.0, metadata=_help("training epochs (paper: 4)"))
    max_steps: int = field(default=-1, metadata=_help("stop after this many optimizer steps (-1: use epochs)"))
    learning_rate: float = field(default=2e-5, metadata=_help("peak learning rate (paper: 2e-5)"))
    lr_scheduler: str = field(default="cosine", metadata=_help("learning-rate schedule [choice]"))
    warmup_ratio: float = field(default=0.03, metadata=_help("share of steps used for warm-up [choice]"))
    per_device_batch_size: int = field(default=1, metadata=_help("chats per device per micro-batch"))
    gradient_accumulation_steps: int = field(default=8, metadata=_help("micro-batches per optimizer step"))
    max_length: int = field(default=4096, metadata=_help("tokens per chat; longer sessions are split into windows"))
    persona: bool = field(default=False, metadata=_help("prepend the shopper's persona (Customer-R1)"))
    examples: str = field(default="session", metadata=_help(
        "session: whole sessions as multi-turn chats (paper); step: one chat per step with the "
        "--history/--token-budget prompt that evaluation and GRPO use [choice]"))
    history: str = field(default="full", metadata=_help("prompt history of --examples step and of the evaluation "
                                                        "after training: full, latest or a number of pages"))
    token_budget: int | None = field(default=DEFAULT_TOKEN_BUDGET, metadata=_help(
        "max tokens of the user turn with --examples step and in the evaluation after training", type=int))
    limit_sessions: int | None = field(default=None, metadata=_help("train on the first N sessions only", type=int))
    seed: int = field(default=0, metadata=_help("seed of weights init, data order and sampling"))
    save_steps: int = field(default=100, metadata=_help("checkpoint every N optimizer steps"))
    logging_steps: int = field(default=10, metadata=_help("log every N optimizer steps"))

    def __post_init__(self) -> None:
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        if self.max_steps == -1 and self.epochs <= 0:
            raise ValueError("set epochs > 0 or max_steps > 0")
        if self.examples not in ("session", "step"):
            raise ValueError(f"examples must be 'session' or 'step', got {self.examples!r}")
        self.history = parse_history(self.history)  # type: ignore[assignment]
        for name in ("per_device_batch_size", "gradient_accumulation_steps", "save_steps", "logging_steps",
                     "max_length"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


def run_sft(
    config: SFTRunConfig,
    *,
    corpus: Corpus | None = None,
    eval_corpus: Corpus | None = None,
    callbacks: Sequence[Any] = (),
) -> dict[str, Any]:
    """Run (or resume) SFT; write ``final/`` and ``run_card.json`` into ``config.output_dir``.

    Args:
        config: the run's settings.
        corpus: train on this corpus object instead of loading ``config.corpus``.
        eval_corpus: evaluate on this corpus object instead of ``config.corpus``/``eval_split``.
        callbacks: extra ``transformers.TrainerCallback`` objects.

    Returns:
        ``{"final_dir", "run_card", "resumed_from", "metrics"}``.
    """
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig, SFTTrainer

    from agents.models import resolve_model

    from ._common import (
        checkpointing_kwargs,
        finish_run,
        load_tokenizer,
        lora_config,
        precision,
        resume_point,
    )
    from .datasets import build_sft_dataset, resolve_corpus

    started = time.time()
    out = Path(config.output_dir)
    resume_from = resume_point(out, config.resume)
    model_path = resolve_model(config.model)
    tokenizer = load_tokenizer(model_path)
    train_corpus = corpus if corpus is not None else resolve_corpus(config.corpus, config.train_split)
    dataset = build_sft_dataset(train_corpus, tokenizer, max_length=config.max_length, persona=config.persona,
                                limit=config.limit_sessions, examples=config.examples, history=config.history,
                                token_budget=config.token_budget)
    dataset = dataset.select_columns(["input_ids", "labels"])
    use_cpu, bf16 = precision(config.bf16)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype="float32")
    args = SFTConfig(
        output_dir=str(out),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler,
        warmup_steps=config.warmup_ratio,
        per_device_train_batch_size=config.per_device_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        max_length=config.max_length,
        packing=False,
        **checkpointing_kwargs(config.gradient_checkpointing),
        bf16=bf16,
        use_cpu=use_cpu,
        seed=config.seed,
        data_seed=config.seed,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        logging_steps=config.logging_steps,
        report_to=[] if config.report_to == "none" else [config.report_to],
        dataloader_num_workers=0,
    )
    peft_config = (lora_config(config.lora_r, config.lora_alpha, config.lora_dropout, config.lora_target_modules)
                   if config.lora else None)
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                         peft_config=peft_config, callbacks=list(callbacks))
    return finish_run(trainer, config, kind="sft", started=started, resume_from=resume_from,
                      train_corpus=train_corpus, model_path=model_path, eval_corpus=eval_corpus,
                      data_metrics={"train_examples": len(dataset)})
