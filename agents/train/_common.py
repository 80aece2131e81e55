"""Pieces SFT and GRPO share: precision and device choice, model loading, resume handling, LoRA,
and the tail of a run (train, save ``final/``, evaluate, write the run card)."""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .runcard import FINAL_DIR_NAME, latest_checkpoint, save_final_atomically

__all__ = [
    "checkpointing_kwargs",
    "finish_run",
    "lora_config",
    "load_tokenizer",
    "precision",
    "resume_point",
    "save_final",
]

logger = logging.getLogger("agents.train")


def precision(bf16: bool | None) -> tuple[bool, bool]:
    """``(use_cpu, bf16)``: CPU when no CUDA device; bf16 by default on GPUs that support it.

    On CPU bf16 stays off unless asked for (fp32 is the safe default for tiny test models).
    """
    import torch

    cuda = torch.cuda.is_available()
    if bf16 is None:
        bf16 = bool(cuda and torch.cuda.is_bf16_supported())
    return (not cuda), bool(bf16)


def load_tokenizer(path: str | Path) -> Any:
    """The model's tokenizer, with a pad token (the EOS token when it has none)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    if getattr(tokenizer, "chat_template", None) is None:
        raise ValueError(f"{path}: the tokenizer has no chat template; SFT and GRPO need a chat model")
    return tokenizer


def resume_point(output_dir: str | Path, resume: bool) -> Path | None:
    """The checkpoint to resume from, or ``None`` for a fresh run.

    Raises:
        FileExistsError: the folder already holds checkpoints and ``resume`` is off, so a
            fresh run would silently mix with (and rotate away) an earlier run's checkpoints.
    """
    last = latest_checkpoint(output_dir)
    if resume:
        if last is None:
            logger.warning("--resume: no complete checkpoint in %s; starting from scratch", output_dir)
        else:
            logger.info("resuming from %s", last)
        return last
    if last is not None:
        raise FileExistsError(
            f"{output_dir} already holds checkpoints (latest {last.name}); pass --resume to continue that run "
            "or choose another --output-dir"
        )
    return None


def lora_config(r: int, alpha: int, dropout: float, target_modules: str) -> Any:
    """A peft ``LoraConfig`` for causal-LM fine-tuning (``target_modules`` comma list or ``all-linear``)."""
    from peft import LoraConfig

    targets: Any = target_modules if target_modules == "all-linear" else [t.strip() for t in target_modules.split(",")]
    return LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets, task_type="CAUSAL_LM")


def save_final(trainer: Any, tokenizer: Any, output_dir: str | Path) -> Path:
    """Write the trained model to ``output_dir/final`` atomically; returns that folder.

    One process: LoRA adapters are merged so ``final`` is a plain model folder that the
    transformers and vLLM backends (and a GRPO run) load directly. Several processes
    (DDP / DeepSpeed / FSDP): every rank joins ``trainer.save_model`` (which gathers sharded
    weights; a LoRA run then saves its adapter) into a fixed temporary folder, and the main
    process renames it into place.
    """
    out = Path(output_dir)
    accelerator = trainer.accelerator
    if accelerator.num_processes == 1 and not trainer.is_deepspeed_enabled and not trainer.is_fsdp_enabled:
        def save(directory: Path) -> None:
            model = accelerator.unwrap_model(trainer.model)
            if hasattr(model, "merge_and_unload") and hasattr(model, "peft_config"):
                model = model.merge_and_unload()
            model.save_pretrained(directory)
            tokenizer.save_pretrained(directory)

        return save_final_atomically(out, save)
    tmp = out / f".{FINAL_DIR_NAME}.tmp"
    if accelerator.is_main_process and tmp.exists():
        shutil.rmtree(tmp)
    accelerator.wait_for_everyone()
    trainer.save_model(str(tmp))
    if accelerator.is_main_process:
        tokenizer.save_pretrained(tmp)
        save_final_atomically(out, lambda d: _move_contents(tmp, d))
        shutil.rmtree(tmp, ignore_errors=True)
    accelerator.wait_for_everyone()
    return out / FINAL_DIR_NAME


def _move_contents(src: Path, dst: Path) -> None:
    for child in src.iterdir():
        os.replace(child, dst / child.name)


def checkpointing_kwargs(enabled: bool) -> dict[str, Any]:
    """Trainer arguments for activation (gradient) checkpointing, under transformers 5's name.

    Always explicit: TRL's ``SFTConfig`` and ``GRPOConfig`` default the old name to ``True``,
    which would turn checkpointing on (about a third more compute) when the flag says off.
    """
    return {"activation_checkpointing": bool(enabled)}


def field_help(text: str, **extra: Any) -> dict[str, Any]:
    """Field metadata read by the command line: the flag's help text (and its type)."""
    return {"help": text, **extra}


@dataclass
class SharedRunOptions:
    """Options every training run has: fine-tuning mode, precision, run lifecycle, evaluation.

    ``SFTRunConfig`` and ``GRPORunConfig`` inherit them, so both commands spell and
    document them the same way.
    """

    lora: bool = field(default=False, metadata=field_help(
        "train LoRA adapters (peft) instead of all weights (GRPO: the KL reference is the frozen base)"))
    lora_r: int = field(default=16, metadata=field_help("LoRA rank"))
    lora_alpha: int = field(default=32, metadata=field_help("LoRA alpha"))
    lora_dropout: float = field(default=0.05, metadata=field_help("LoRA dropout"))
    lora_target_modules: str = field(default="all-linear", metadata=field_help(
        "LoRA targets: all-linear or a comma list"))
    bf16: bool | None = field(default=None, metadata=field_help(
        "bf16 mixed precision (default: on for capable GPUs)", type=bool))
    gradient_checkpointing: bool = field(default=False, metadata=field_help("trade compute for memory"))
    save_total_limit: int | None = field(default=3, metadata=field_help(
        "keep only the N newest checkpoints", type=int))
    report_to: str = field(default="tensorboard", metadata=field_help("tensorboard, wandb, none, ..."))
    resume: bool = field(default=False, metadata=field_help("continue from the newest complete checkpoint"))
    evaluate: bool = field(default=True, metadata=field_help("evaluate the final model on eval_split"))
    eval_sessions: int | None = field(default=None, metadata=field_help(
        "evaluate on the first N sessions", type=int))
    eval_max_new_tokens: int = field(default=256, metadata=field_help("answer length cap during evaluation"))
    eval_batch_size: int = field(default=8, metadata=field_help("sessions stepped together during evaluation"))


def finish_run(trainer: Any, config: Any, *, kind: str, started: float, resume_from: Path | None,
               train_corpus: Any, model_path: str | Path, eval_corpus: Any = None,
               data_metrics: Mapping[str, Any] | None = None,
               eval_options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Train ``trainer`` (from ``resume_from``), save ``final/``, evaluate it, write the run card.

    The tail SFT and GRPO share, so both resume, save, evaluate and record the same way.

    Args:
        trainer: the built TRL trainer; its ``processing_class`` is saved with the model.
        config: the run's config (``SFTRunConfig`` or ``GRPORunConfig``).
        kind: ``"sft"`` or ``"grpo"`` (the run card's kind).
        started: ``time.time()`` when the run began (the card's ``wall_s``).
        resume_from: the checkpoint to continue from (:func:`resume_point`), or ``None``.
        train_corpus: the corpus trained on; its provenance goes into the card.
        model_path: the starting model's folder.
        eval_corpus: evaluate on this corpus object instead of ``config.corpus``/``eval_split``.
        data_metrics: counts of the training data kept with the metrics.
        eval_options: more :func:`~agents.train.evaluate.evaluate_model` arguments (GRPO's reward).

    Returns:
        ``{"final_dir", "run_card", "resumed_from", "metrics"}``; ``run_card`` is ``None``
        outside the main process.
    """
    from .runcard import write_run_card

    out = Path(config.output_dir)
    train_output = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    final_dir = save_final(trainer, trainer.processing_class, out)
    metrics: dict[str, Any] = {"train": dict(train_output.metrics), "log_history": list(trainer.state.log_history),
                               "global_step": trainer.state.global_step, **(data_metrics or {})}
    card = None
    if trainer.accelerator.is_main_process:
        if config.evaluate:
            metrics["eval"] = _evaluate_final(final_dir, config, eval_corpus, out / "eval_samples.jsonl",
                                              eval_options)
        card = write_run_card(out, kind=kind, config=config, metrics=metrics, extra={
            "corpus": train_corpus.describe(),
            "model_path": str(model_path),
            "resumed_from": str(resume_from) if resume_from else None,
            "final_dir": str(final_dir),
            "wall_s": time.time() - started,
        })
    return {"final_dir": final_dir, "run_card": card, "resumed_from": resume_from, "metrics": metrics}


def _evaluate_final(final_dir: Path, config: Any, eval_corpus: Any, sample_log: Path,
                    eval_options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The trained model's metrics on ``eval_split``, with the per-step prompt the run used.

    The prompt is the one evaluation shows and GRPO trains on: ``history``, ``token_budget``
    and ``persona`` of the run's config.
    """
    from .datasets import resolve_corpus
    from .evaluate import evaluate_model

    source = eval_corpus if eval_corpus is not None else resolve_corpus(config.corpus, config.eval_split)
    return evaluate_model(final_dir, source, split=config.eval_split, limit=config.eval_sessions,
                          max_new_tokens=config.eval_max_new_tokens, batch_size=config.eval_batch_size,
                          history=config.history, token_budget=config.token_budget, persona=config.persona,
                          seed=config.seed, sample_log=sample_log, **(eval_options or {}))
