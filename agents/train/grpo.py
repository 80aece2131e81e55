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
TensorBoard (``rewards/<preset>_<component>/mean``, TRL's ``frac_reward_zero_std``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
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




def _structured_sampling(constrain: str) -> dict[str, Any]:
    """GRPOConfig arguments that hold vLLM's samples to the answer protocol (``json``), or none."""
    if constrain == "none":
        return {}
    from agents.constraints import answer_regex

    return {"vllm_structured_outputs_regex": answer_regex()}


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
    constrain: str = field(default="none", metadata=_help(
        "sample under a constraint: none (the paper) or json (needs --use-vllm; TRL's vLLM structured outputs). "
        "The sampled answers are then not the policy's own samples: see docs/TRAINING.md"))
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
        if self.constrain not in ("none", "json"):
            raise ValueError(f"constrain must be 'none' or 'json' in GRPO (one expression for every prompt: no "
                             f"page candidates), got {self.constrain!r}")
        if self.constrain != "none" and not self.use_vllm:
            raise ValueError("constrain='json' needs use_vllm=True: TRL constrains sampling only through vLLM")
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
    """The GRPOTrainer subclass, built on first use so importing this module does not import TRL."""
    global _TRAINER_CLASS
    if _TRAINER_CLASS is None:
        _TRAINER_CLASS = _define_trainer_class()
    return _TRAINER_CLASS


def _define_trainer_class() -> type:
    """Subclass TRL's ``GRPOTrainer`` to hand each completion's logit statistics to the rewards.

    The share of groups without learning signal is TRL's own ``frac_reward_zero_std``.
    """
    from trl import GRPOTrainer

    class _ShopR1GRPOTrainer(GRPOTrainer):
        """``GRPOTrainer`` plus the rationale reward from the policy's own logits."""

        def __init__(self, *args: Any, self_certainty_batch_size: int = 4, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if self_certainty_batch_size < 1:
                raise ValueError("self_certainty_batch_size must be >= 1")
            self.self_certainty_batch_size = self_certainty_batch_size
            self._needs_token_info = any(getattr(f, "component", None) == "rationale" for f in self.reward_funcs)
            self._last_prompt_ids: list[list[int]] | None = None

        def _generate(self, prompts: list) -> Any:
            output = super()._generate(prompts)
            self._last_prompt_ids = [list(ids) for ids in output[0]]  # the scoring stage needs them
            return output

        def completion_token_infos(self, prompt_ids: Sequence[Sequence[int]],
                                   completion_ids: Sequence[Sequence[int]], completions: Sequence[Any]) -> list[Any]:
            """TokenInfo (logsumexp, mean logit, offsets) of each completion under the current policy."""
            return _completion_token_infos(self, prompt_ids, completion_ids, completions)

        def _calculate_rewards(self, inputs: list, prompts: list, completions: list,
                               completion_ids_list: list) -> Any:
            prompt_ids, self._last_prompt_ids = self._last_prompt_ids, None
            infos = None
            if self._needs_token_info and prompt_ids is not None:
                if len(prompt_ids) != len(completion_ids_list):
                    raise RuntimeError("prompt ids of the last generation do not match the completions to score")
                infos = self.completion_token_infos(prompt_ids, completion_ids_list, completions)
            with _token_info_column(inputs, infos):
                return super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)

    return _ShopR1GRPOTrainer


@contextmanager
def _token_info_column(inputs: list[dict[str, Any]], infos: Sequence[Any] | None) -> Iterator[None]:
    """Each input row carries its completion's TokenInfo (the reward functions' keyword) while scoring."""
    if infos is None:
        yield
        return
    for row, info in zip(inputs, infos, strict=True):
        row[TOKEN_INFO_COLUMN] = info
    try:
        yield
    finally:
        for row in inputs:
            row.pop(TOKEN_INFO_COLUMN, None)


def _completion_token_infos(trainer: Any, prompt_ids: Sequence[Sequence[int]],
                            completion_ids: Sequence[Sequence[int]], completions: Sequence[Any]) -> list[Any]:
    """TokenInfo of each completion, ``trainer.self_certainty_batch_size`` sequences per forward pass."""
    import torch

    tokenizer = getattr(trainer.processing_class, "tokenizer", trainer.processing_class)  # a processor wraps it
    step = trainer.self_certainty_batch_size
    infos: list[Any] = []
    with torch.no_grad():
        for start in range(0, len(completion_ids), step):
            rows = slice(start, start + step)
            infos += _chunk_token_infos(trainer, tokenizer, prompt_ids[rows], completion_ids[rows],
                                        list(completions[rows]))
    return infos


def _chunk_token_infos(trainer: Any, tokenizer: Any, prompt_ids: Sequence[Sequence[int]],
                       completion_ids: Sequence[Sequence[int]], completions: Sequence[Any]) -> list[Any]:
    """TokenInfo of a few completions from one forward pass of the policy over prompt + completion."""
    import torch

    from agents.backends.transformers_backend import char_offsets
    from rewards.adapters import completion_text
    from rewards.tokens import TokenInfo

    c_list = [torch.tensor(list(ids), dtype=torch.long) for ids in completion_ids]
    lse, mean, vocab = _completion_logit_stats(trainer, prompt_ids, c_list, tokenizer.pad_token_id)
    return [TokenInfo(logsumexp=lse[row, :len(cids)].tolist(), mean_logit=mean[row, :len(cids)].tolist(),
                      vocab_size=vocab, offsets=char_offsets(tokenizer, cids.tolist(), completion_text(completion)))
            for row, (cids, completion) in enumerate(zip(c_list, completions, strict=True))]


def _completion_logit_stats(trainer: Any, prompt_ids: Sequence[Sequence[int]], completions: Sequence[Any],
                            pad_id: int) -> tuple[Any, Any, int]:
    """Per completion token: ``logsumexp`` and mean of the policy's raw logits, and the vocabulary size.

    Prompts are left-padded and completions right-padded, so the completions line up at the end.
    """
    import torch
    from trl.trainer.utils import pad

    from rewards.self_certainty import token_stats

    p_list = [torch.tensor(list(ids), dtype=torch.long) for ids in prompt_ids]
    p = pad(p_list, padding_value=pad_id, padding_side="left")
    pm = pad([torch.ones_like(x) for x in p_list], padding_value=0, padding_side="left")
    c = pad(list(completions), padding_value=pad_id, padding_side="right")
    cm = pad([torch.ones_like(x) for x in completions], padding_value=0, padding_side="right")
    device = trainer.accelerator.device
    ids = torch.cat([p, c], dim=1).to(device)
    mask = torch.cat([pm, cm], dim=1).to(device)
    positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
    width = c.size(1)
    with trainer.accelerator.autocast():
        logits = trainer.model(input_ids=ids, attention_mask=mask, position_ids=positions,
                               logits_to_keep=width + 1).logits
    # logits[:, j] predicts token j + 1: the last width + 1 positions predict the completion
    logits = logits[:, -(width + 1):-1, :]
    lse, mean = token_stats(logits)
    return lse, mean, int(logits.shape[-1])


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
        **_structured_sampling(config.constrain),
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
    from ._common import finish_run, resume_point

    started = time.time()
    resume_from = resume_point(config.output_dir, config.resume)
    trainer = build_grpo_trainer(config, corpus=corpus, callbacks=callbacks, extra_reward_funcs=extra_reward_funcs)
    return finish_run(trainer, config, kind="grpo", started=started, resume_from=resume_from,
                      train_corpus=trainer.shop_r1_corpus, model_path=trainer.shop_r1_model_path,
                      eval_corpus=eval_corpus, eval_options={"reward": config.reward},
                      data_metrics={"train_prompts": len(trainer.train_dataset),
                                    "reward_functions": list(trainer.reward_func_names)})
