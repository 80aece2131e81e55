#!/usr/bin/env bash
# The paper's Table 2 on GPUs: Qwen2.5-3B-Instruct on OPeRA with the paper's settings, through
# the same pipeline as the CPU miniature (paper_table.sh). Nothing is downloaded: MODEL and OPERA
# are local copies (relative paths are read from the repository root). Resumable: rerun it
# after an interruption.
#
#   MODEL=/models/Qwen2.5-3B-Instruct OPERA=/data/opera bash benchmarks/recipes/paper_table_gpu.sh
#   GPUS=8 MODEL=... OPERA=... bash benchmarks/recipes/paper_table_gpu.sh   # DeepSpeed ZeRO-2
#
# Paper settings (the flags' defaults): SFT 4 epochs of whole-session chats at lr 2e-5 cosine,
# 8 chats a step; GRPO 500 steps of 8 prompts x 8 answers, lr 1e-7 constant, T 0.6, KL 0.001,
# answers up to 256 tokens; full history with the env's 7,000-token page budget in GRPO and
# evaluation. With GPUS=N the accumulation steps shrink by N, so a step keeps the paper's batch.
# Rollouts go through vLLM: colocated with training in GRPO, `--backend vllm` in evaluation
# (the `[vllm]` extra). Evaluation covers the whole test split.
# Memory: full fine-tuning of 3B keeps fp32 weights, gradients and Adam states (~48 GB) plus the
# reference model and vLLM's share (VLLM_MEMORY of the card); one 80 GB card is short of that:
# use GPUS>1 (ZeRO-2 shards the optimizer), a 141 GB card, or add --lora through SFT_ARGS/GRPO_ARGS.
#
# Knobs (environment): MODEL, OPERA (required), GPUS, RUNS, OUT, SFT_MAX_LENGTH, VLLM_MEMORY,
# SFT_ARGS / GRPO_ARGS / EVAL_ARGS (extra flags, appended: they win), TRAIN, PY, DRY_RUN
# (see paper_table.sh).
set -euo pipefail

: "${MODEL:?MODEL: a local Qwen2.5-3B-Instruct folder}"
: "${OPERA:?OPERA: a local copy of NEU-HAI/OPeRA}"
GPUS=${GPUS:-1}
SFT_MAX_LENGTH=${SFT_MAX_LENGTH:-8192}
VLLM_MEMORY=${VLLM_MEMORY:-0.3}
if [ $((8 % GPUS)) -ne 0 ]; then echo "GPUS must divide 8 (the paper's 8 chats / 8 prompts a step), got $GPUS" >&2; exit 2; fi
ACCUMULATION=$((8 / GPUS))
if [ "$GPUS" -gt 1 ]; then export TRAIN=${TRAIN:-scripts/launch_train.sh deepspeed_zero2 $GPUS}; fi
CONTEXT="--history full --token-budget 7000"  # the same prompt in GRPO and evaluation

export MODEL CORPUS="opera:$OPERA"
export RUNS=${RUNS:-runs/paper-table-gpu} OUT=${OUT:-benchmarks/results/paper-table-gpu}
export SFT_ARGS="--max-length $SFT_MAX_LENGTH --gradient-accumulation-steps $ACCUMULATION \
--gradient-checkpointing --save-steps 100 ${SFT_ARGS:-}"
export GRPO_ARGS="--gradient-accumulation-steps $ACCUMULATION --gradient-checkpointing --use-vllm \
--vllm-mode colocate --vllm-gpu-memory-utilization $VLLM_MEMORY $CONTEXT --save-steps 25 ${GRPO_ARGS:-}"
export EVAL_ARGS="--split test $CONTEXT --backend vllm --temperature 0.6 --max-new-tokens 256 ${EVAL_ARGS:-}"
exec bash "$(dirname "$0")/paper_table.sh"
