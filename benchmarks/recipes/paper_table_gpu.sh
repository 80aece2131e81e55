#!/usr/bin/env bash
# The paper's Table 2 on a GPU: Qwen2.5-3B-Instruct on OPeRA with the paper's settings, through
# the same pipeline as the CPU miniature (paper_table.sh). Nothing is downloaded: MODEL and OPERA
# are local copies. Resumable: rerun it after an interruption.
#
#   MODEL=/models/Qwen2.5-3B-Instruct OPERA=/data/opera bash benchmarks/recipes/paper_table_gpu.sh
#   # several GPUs (8 processes x 8 answers x 1 accumulation step = the paper's 64 answers a step):
#   TRAIN="scripts/launch_train.sh deepspeed_zero2 8" GRPO_ACCUMULATION=1 MODEL=... OPERA=... bash ...
#
# Paper settings (the flags' defaults): SFT 4 epochs of whole-session chats at lr 2e-5 cosine;
# GRPO 500 steps of 8 prompts x 8 answers, lr 1e-7 constant, T 0.6, KL 0.001, answers up to
# 256 tokens; full history with the env's 7,000-token page budget in GRPO and evaluation.
# Rollouts go through vLLM: colocated with training in GRPO, `--backend vllm` in evaluation
# (the `[vllm]` extra). Evaluation covers the whole test split.
#
# Knobs (environment): MODEL, OPERA (required), RUNS, OUT, SFT_MAX_LENGTH, GRPO_ACCUMULATION,
# VLLM_MEMORY, TRAIN, PY, DRY_RUN (see paper_table.sh).
set -euo pipefail

: "${MODEL:?MODEL: a local Qwen2.5-3B-Instruct folder}"
: "${OPERA:?OPERA: a local copy of NEU-HAI/OPeRA}"
SFT_MAX_LENGTH=${SFT_MAX_LENGTH:-8192}
GRPO_ACCUMULATION=${GRPO_ACCUMULATION:-8}
VLLM_MEMORY=${VLLM_MEMORY:-0.3}
CONTEXT="--history full --token-budget 7000"  # the same prompt in GRPO and evaluation

export MODEL CORPUS="opera:$OPERA"
export RUNS=${RUNS:-runs/paper-table-gpu} OUT=${OUT:-benchmarks/results/paper-table-gpu}
export SFT_ARGS="--max-length $SFT_MAX_LENGTH --gradient-checkpointing --save-steps 100"
export GRPO_ARGS="--gradient-accumulation-steps $GRPO_ACCUMULATION --gradient-checkpointing \
--use-vllm --vllm-mode colocate --vllm-gpu-memory-utilization $VLLM_MEMORY $CONTEXT --save-steps 25"
export EVAL_ARGS="--split test $CONTEXT --backend vllm --temperature 0.6 --max-new-tokens 256"
exec bash "$(dirname "$0")/paper_table.sh"
