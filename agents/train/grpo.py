"""Shop-R1 GRPO on TRL's ``GRPOTrainer`` (pinned: trl 1.16), with the self-certainty rationale reward.

The reward of a sampled answer is the chosen preset's components (``shop_r1``: format, type,
attribute, value, each a TRL reward function logged by name, see
:mod:`rewards.adapters.trl`) plus ``alpha * self_certainty`` of the rationale tokens. TRL
does not expose full logits (its log-prob pass uses a fused LM head), so
:class:`ShopR1GRPOTrainer` adds one no-grad forward pass of the policy over
prompt + completion in the scoring stage, reduces the completion's logits to two floats
per token (``logsumexp`` and ``mean``, :func:`rewards.self_certainty.token_stats`),
and hands them to the rationale reward function as :class:`~rewards.tokens.TokenInfo`
with character offsets, from which the rationale's token span is located. The logits are
the raw ones, before temperature [choice: the paper's p_t is the policy's distribution].

KL to the frozen reference (the starting checkpoint: the SFT model, or the base model for
the "no SFT" ablation) is TRL's k3 estimator weighted by ``beta``. Every reward component,
the total and the share of groups whose rewards have zero variance go to the console and
TensorBoard (``rewards/<preset>_<component>/mean``, ``zero_variance_group_share``).
"""

from __future__ import annotations

import json
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

__all__ = [
    "GRPORunConfig",
    "TOKEN_INFO_COLUMN",
    "ShopR1GRPOTrainer",  # noqa: F822 - built lazily by __getattr__
    "build_grpo_trainer",
    "make_reward_funcs",
    "run_grpo",
]

logger = logging.getLogger("agents.train")

#: Keyword under which the trainer passes each completion's TokenInfo to the reward functions.
TOKEN_INFO_COLUMN = "token_info"




@dataclass
class GRPORunConfig(SharedRunOptions):
    """Settings of one GRPO run; every field is a ``python -m agents.train grpo --<field>`` flag.

    Defaults are the paper's (SPEC section 3). The global batch is counted in completions:
    ``per_device_batch_size * gradient_accumulation_steps * processes`` = 8 * 8 * 1 = 64,
    i.e. 8 prompts x a group of 8 per optimizer step [choice: the paper says "global batch 64"].
    """

    model: str = field(default="smollm2-135m",
                       metadata=_help("starting model: the SFT run's final/ folder (or the base model: 'no SFT')"))
    corpus: str = field(default="demo", metadata=_help("corpus source: demo, opera:DIR or jsonl:PATH"))
    train_split: str = field(default="train", metadata=_help("split to train on"))
    eval_split: str = field(default="valid", metadata=_help("split to evaluate on after training"))
    output_dir: str = field(default="runs/grpo", metadata=_help("run folder: checkpoints, final/, run_card.json"))
    reward: str = field(default="shop_r1", metadata=_help(
        "reward preset: shop_r1, binary, no_format, no_rationale, no_dars, customer_r1, ... (rewards.available_rewards)"))
    reward_overrides: str = field(default="{}", metadata=_help("JSON of reward settings, e.g. '{\"dars_factor\": 100}'"))
    rationale_alpha: float | None = field(default=None, metadata=_help(
        "weight of the self-certainty term (default: the preset's, 0.005 for shop_r1)", type=float))
    self_certainty: bool = field(default=True, metadata=_help(
        "compute the rationale reward from the policy's logits (off: the term is absent)"))
    learning_rate: float = field(default=1e-7, metadata=_help("learning rate (paper: 1e-7, constant)"))
    lr_scheduler: str = field(default="constant", metadata=_help("learning-rate schedule [choice]"))
    max_steps: int = field(default=500, metadata=_help("optimizer steps (paper: 500)"))
    num_generations: int = field(default=8, metadata=_help("group size: sampled answers per prompt [choice: 8]"))
    per_device_batch_size: int = field(default=8, metadata=_help("completions per device per micro-batch"))
    gradient_accumulation_steps: int = field(default=8, metadata=_help("micro-batches per optimizer step"))
    temperature: float = field(default=0.6, metadata=_help("sampling temperature (paper: 0.6)"))
    top_p: float = field(default=1.0, metadata=_help("nucleus sampling mass"))
    beta: float = field(default=0.001, metadata=_help("KL weight to the frozen reference, k3 estimator (paper: 0.001)"))
    epsilon: float = field(default=0.2, metadata=_help("PPO clip range [choice: 0.2]"))
    loss_type: str = field(default="grpo", metadata=_help("TRL loss aggregation: grpo, dapo, dr_grpo, bnpo, ..."))
    scale_rewards: str = field(default="group", metadata=_help("advantage scaling: group, batch or none"))
    max_completion_length: int = field(default=256, metadata=_help("max answer tokens [choice: 256]"))
    history: str = field(default="full", metadata=_help("prompt history: full, latest or a number of pages"))
    token_budget: int | None = field(default=DEFAULT_TOKEN_BUDGET, metadata=_help(
        "max tokens of the prompt's user turn", type=int))
    persona: bool = field(default=False, metadata=_help("prepend the shopper's persona (Customer-R1)"))
    limit_sessions: int | None = field(default=None, metadata=_help("train on the first N sessions only", type=int))
    use_vllm: bool = field(default=False, metadata=_help("generate with vLLM (GPU only)"))
    vllm_mode: str = field(default="colocate", metadata=_help("vLLM mode: colocate (same GPUs) or server"))
    vllm_server_host: str = field(default="0.0.0.0", metadata=_help("vLLM server host (server mode, `trl vllm-serve`)"))
    vllm_server_port: int = field(default=8000, metadata=_help("vLLM server port (server mode)"))
    vllm_gpu_memory_utilization: float = field(default=0.3, metadata=_help("GPU memory share vLLM takes (colocate)"))
    self_certainty_batch_size: int = field(default=4, metadata=_help(
        "completions per extra forward pass for the rationale reward (memory: batch x tokens x vocab floats)"))
    seed: int = field(default=0, metadata=_help("seed of data order and sampling"))
    save_steps: int = field(default=50, metadata=_help("checkpoint every N optimizer steps"))
    logging_steps: int = field(default=1, metadata=_help("log every N optimizer steps"))
    log_completions: bool = field(default=False, metadata=_help("print sampled completions with their rewards"))

    def __post_init__(self) -> None:
        self.history = parse_history(self.history)  # type: ignore[assignment]
        if self.num_generations < 2:
            raise ValueError(f"num_generations must be >= 2 (GRPO compares answers within a group), "
                             f"got {self.num_generations}")
        if (self.per_device_batch_size * self.gradient_accumulation_steps) % self.num_generations:
            raise ValueError(
                f"per_device_batch_size x gradient_accumulation_steps ({self.per_device_batch_size} x "
                f"{self.gradient_accumulation_steps}) must be a multiple of num_generations ({self.num_generations})")
        if self.learning_rate <= 0 or self.max_steps < 1:
            raise ValueError("learning_rate must be > 0 and max_steps >= 1")
        if self.vllm_mode not in ("colocate", "server"):
            raise ValueError(f"vllm_mode must be 'colocate' or 'server', got {self.vllm_mode!r}")
        self.overrides()  # fail early on bad JSON

    def overrides(self) -> dict[str, Any]:
        """Reward settings: ``reward_overrides`` plus ``rationale_alpha`` when given."""
        try:
            out = json.loads(self.reward_overrides) if self.reward_overrides else {}
        except ValueError as exc:
            raise ValueError(f"reward_overrides is not valid JSON: {exc}") from exc
        if not isinstance(out, dict):
            raise ValueError(f"reward_overrides must be a JSON object, got {self.reward_overrides!r}")
        if self.rationale_alpha is not None:
            out["rationale_alpha"] = self.rationale_alpha
        return out


def make_reward_funcs(reward: str = "shop_r1", *, self_certainty: bool = True, **overrides: Any) -> list[Any]:
    """TRL reward functions for a preset: one per component, plus the rationale term when asked.

    The rationale function reads the ``token_info`` the trainer adds; presets without the
    term (``no_rationale``, ``binary``) make it return ``None``, which TRL ignores.
    """
    from rewards.adapters.trl import make_trl_reward_funcs

    return make_trl_reward_funcs(reward, split_components=True, include_rationale=self_certainty,
                                 token_column=TOKEN_INFO_COLUMN, **overrides)


def _trainer_class() -> type:
    """Build the GRPOTrainer subclass on first use, so importing this module does not import TRL."""
    global _TRAINER_CLASS
    if _TRAINER_CLASS is not None:
        return _TRAINER_CLASS

    import torch
    from trl import GRPOTrainer
    from trl.trainer.utils import pad

    from agents.backends.transformers_backend import char_offsets
    from rewards.adapters import completion_text
    from rewards.self_certainty import token_stats
    from rewards.tokens import TokenInfo

    class _ShopR1GRPOTrainer(GRPOTrainer):
        """``GRPOTrainer`` plus the rationale reward from the policy's own logits and group-variance logging."""

        def __init__(self, *args: Any, self_certainty_batch_size: int = 4, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if self_certainty_batch_size < 1:
                raise ValueError("self_certainty_batch_size must be >= 1")
            self.self_certainty_batch_size = self_certainty_batch_size
            self._needs_token_info = any(getattr(f, "component", None) == "rationale" for f in self.reward_funcs)
            self._last_prompt_ids: list[list[int]] | None = None

        def _generate(self, prompts: list) -> Any:
            output = super()._generate(prompts)
            self._last_prompt_ids = [list(ids) for ids in output[0]]
            return output

        @torch.no_grad()
        def completion_token_infos(self, prompt_ids: Sequence[Sequence[int]],
                                   completion_ids: Sequence[Sequence[int]], completions: Sequence[Any]) -> list[Any]:
            """TokenInfo (logsumexp, mean logit, offsets) of each completion under the current policy."""
            tokenizer = self.processing_class
            tokenizer = getattr(tokenizer, "tokenizer", tokenizer)  # a processor wraps the tokenizer
            device = self.accelerator.device
            pad_id = tokenizer.pad_token_id
            infos: list[Any] = []
            step = self.self_certainty_batch_size
            for start in range(0, len(completion_ids), step):
                p_list = [torch.tensor(list(ids), dtype=torch.long) for ids in prompt_ids[start:start + step]]
                c_list = [torch.tensor(list(ids), dtype=torch.long) for ids in completion_ids[start:start + step]]
                p = pad(p_list, padding_value=pad_id, padding_side="left")
                pm = pad([torch.ones_like(x) for x in p_list], padding_value=0, padding_side="left")
                c = pad(c_list, padding_value=pad_id, padding_side="right")
                cm = pad([torch.ones_like(x) for x in c_list], padding_value=0, padding_side="right")
                ids = torch.cat([p, c], dim=1).to(device)
                mask = torch.cat([pm, cm], dim=1).to(device)
                positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
                width = c.size(1)
                with self.accelerator.autocast():
                    logits = self.model(input_ids=ids, attention_mask=mask, position_ids=positions,
                                        logits_to_keep=width + 1).logits
                # logits[:, j] predicts token j + 1: the last width + 1 positions predict the completion
                logits = logits[:, -(width + 1):-1, :]
                lse, mean = token_stats(logits)
                vocab = int(logits.shape[-1])
                del logits
                for row, cids in enumerate(c_list):
                    n = len(cids)
                    text = completion_text(completions[start + row])
                    infos.append(TokenInfo(
                        logsumexp=lse[row, :n].tolist(),
                        mean_logit=mean[row, :n].tolist(),
                        vocab_size=vocab,
                        offsets=char_offsets(tokenizer, cids.tolist(), text),
                    ))
            return infos

        def _calculate_rewards(self, inputs: list, prompts: list, completions: list,
                               completion_ids_list: list) -> Any:
            added = False
            if self._needs_token_info and self._last_prompt_ids is not None:
                if len(self._last_prompt_ids) != len(completion_ids_list):
                    raise RuntimeError("prompt ids of the last generation do not match the completions to score")
                infos = self.completion_token_infos(self._last_prompt_ids, completion_ids_list, completions)
                for row, info in zip(inputs, infos, strict=True):
                    row[TOKEN_INFO_COLUMN] = info
                added = True
            try:
                rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
            finally:
                if added:
                    for row in inputs:
                        row.pop(TOKEN_INFO_COLUMN, None)
                self._last_prompt_ids = None
            self._log_group_variance(rewards_per_func)
            return rewards_per_func

        def _log_group_variance(self, rewards_per_func: Any) -> None:
            """Log the share of groups whose total rewards are all equal (no learning signal)."""
            mode = "train" if self.model.training else "eval"
            group = self.num_generations if mode == "train" else self.num_generations_eval
            if not group or group < 2 or rewards_per_func.size(0) % group:
                return
            weights = self.reward_weights.to(rewards_per_func.device).unsqueeze(0)
            totals = (rewards_per_func * weights).nansum(dim=1).view(-1, group)
            spread = totals.max(dim=1).values - totals.min(dim=1).values
            share = (spread.abs() <= 1e-6).float().mean().item()
            self._metrics[mode]["zero_variance_group_share"].append(share)

    _TRAINER_CLASS = _ShopR1GRPOTrainer
    return _TRAINER_CLASS


_TRAINER_CLASS: type | None = None


def __getattr__(name: str) -> Any:
    """``ShopR1GRPOTrainer`` is built lazily (it subclasses TRL's trainer)."""
    if name == "ShopR1GRPOTrainer":
        return _trainer_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_grpo_trainer(
    config: GRPORunConfig,
    *,
    corpus: Corpus | None = None,
    callbacks: Sequence[Any] = (),
    extra_reward_funcs: Sequence[Any] = (),
) -> Any:
    """The configured :class:`ShopR1GRPOTrainer` for a run, not yet trained.

    Args:
        config: the run's settings.
        corpus: train on this corpus object instead of loading ``config.corpus``.
        callbacks: extra ``transformers.TrainerCallback`` objects.
        extra_reward_funcs: more TRL reward functions, added (weight 1) to the preset's,
            e.g. a user's shaper ``f(prompts, completions, **columns) -> list[float]``.

    Returns:
        The trainer; its ``train_dataset`` holds the prompts and ``shop_r1_corpus`` the corpus.
    """
    from trl import GRPOConfig

    from agents.models import resolve_model

    from ._common import checkpointing_kwargs, load_tokenizer, lora_config, precision
    from .datasets import build_grpo_dataset, resolve_corpus, tokenizer_counter

    model_path = resolve_model(config.model)
    tokenizer = load_tokenizer(model_path)
    train_corpus = corpus if corpus is not None else resolve_corpus(config.corpus, config.train_split)
    dataset = build_grpo_dataset(train_corpus, history=config.history, token_budget=config.token_budget,
                                 persona=config.persona, token_counter=tokenizer_counter(tokenizer),
                                 limit=config.limit_sessions)
    reward_funcs = make_reward_funcs(config.reward, self_certainty=config.self_certainty, **config.overrides())
    reward_funcs += list(extra_reward_funcs)
    use_cpu, bf16 = precision(config.bf16)
    args = GRPOConfig(
        output_dir=str(config.output_dir),
        max_steps=config.max_steps,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler,
        per_device_train_batch_size=config.per_device_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        num_generations=config.num_generations,
        temperature=config.temperature,
        top_p=config.top_p,
        beta=config.beta,
        epsilon=config.epsilon,
        loss_type=config.loss_type,
        scale_rewards=config.scale_rewards,
        max_completion_length=config.max_completion_length,
        **checkpointing_kwargs(config.gradient_checkpointing),
        bf16=bf16,
        use_cpu=use_cpu,
        use_vllm=config.use_vllm,
        vllm_mode=config.vllm_mode,
        vllm_server_host=config.vllm_server_host,
        vllm_server_port=config.vllm_server_port,
        vllm_gpu_memory_utilization=config.vllm_gpu_memory_utilization,
        seed=config.seed,
        data_seed=config.seed,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        logging_steps=config.logging_steps,
        log_completions=config.log_completions,
        report_to=[] if config.report_to == "none" else [config.report_to],
        model_init_kwargs={"dtype": "float32"},
        dataloader_num_workers=0,
    )
    peft_config = (lora_config(config.lora_r, config.lora_alpha, config.lora_dropout, config.lora_target_modules)
                   if config.lora else None)
    trainer = _trainer_class()(
        model=str(model_path), reward_funcs=reward_funcs, args=args, train_dataset=dataset,
        processing_class=tokenizer, peft_config=peft_config, callbacks=list(callbacks),
        self_certainty_batch_size=config.self_certainty_batch_size,
    )
    trainer.shop_r1_corpus = train_corpus
    trainer.shop_r1_model_path = model_path
    return trainer


def run_grpo(
    config: GRPORunConfig,
    *,
    corpus: Corpus | None = None,
    eval_corpus: Corpus | None = None,
    callbacks: Sequence[Any] = (),
    extra_reward_funcs: Sequence[Any] = (),
) -> dict[str, Any]:
    """Run (or resume) Shop-R1 GRPO; write ``final/`` and ``run_card.json`` into ``config.output_dir``.

    Args:
        config: the run's settings.
        corpus: train on this corpus object instead of loading ``config.corpus``.
        eval_corpus: evaluate on this corpus object instead of ``config.corpus``/``eval_split``.
        callbacks: extra ``transformers.TrainerCallback`` objects.
        extra_reward_funcs: more TRL reward functions added to the preset's.

    Returns:
        ``{"final_dir", "run_card", "resumed_from", "metrics"}``.
    """
    from ._common import resume_point, save_final
    from .datasets import resolve_corpus
    from .evaluate import evaluate_model
    from .runcard import write_run_card

    started = time.time()
    out = Path(config.output_dir)
    resume_from = resume_point(out, config.resume)
    trainer = build_grpo_trainer(config, corpus=corpus, callbacks=callbacks, extra_reward_funcs=extra_reward_funcs)
    tokenizer = trainer.processing_class
    train_output = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    final_dir = save_final(trainer, tokenizer, out)
    metrics: dict[str, Any] = {"train": dict(train_output.metrics), "log_history": list(trainer.state.log_history),
                               "global_step": trainer.state.global_step, "train_prompts": len(trainer.train_dataset),
                               "reward_functions": list(trainer.reward_func_names)}
    if config.evaluate and trainer.accelerator.is_main_process:
        eval_source = eval_corpus if eval_corpus is not None else resolve_corpus(config.corpus, config.eval_split)
        metrics["eval"] = evaluate_model(final_dir, eval_source, split=config.eval_split, limit=config.eval_sessions,
                                         max_new_tokens=config.eval_max_new_tokens,
                                         batch_size=config.eval_batch_size, history=config.history,
                                         token_budget=config.token_budget, persona=config.persona,
                                         reward=config.reward, seed=config.seed,
                                         sample_log=out / "eval_samples.jsonl")
    card = None
    if trainer.accelerator.is_main_process:
        card = write_run_card(out, kind="grpo", config=config, metrics=metrics, extra={
            "corpus": trainer.shop_r1_corpus.describe(),
            "model_path": str(trainer.shop_r1_model_path),
            "resumed_from": str(resume_from) if resume_from else None,
            "final_dir": str(final_dir),
            "wall_s": time.time() - started,
        })
    return {"final_dir": final_dir, "run_card": card, "resumed_from": resume_from, "metrics": metrics}
