#!/usr/bin/env bash
# The paper's Table 2 in miniature on CPU: the default model (SmolLM2-135M-Instruct) on the
# GENERATED demo corpus, through the shared pipeline in paper_table.sh (rows: zero-shot, SFT,
# SFT + GRPO binary, Shop-R1, no DARS; the heuristic on the same steps as a reference; SFT sampled
# again with seed 1 as a noise check).
# Resumable: rerun it after an interruption.
#
# Context for CPU speed: latest-page history and a 1,024-token budget everywhere (say so next to
# any table). SFT trains on one chat per step with that same prompt (--examples step), not on
# whole-session chats: a demo page is ~1,700 tokens, so 300 whole sessions are 5.8M tokens
# (about 24 h of CPU for one epoch), while the per-step prompts are what evaluation shows.
# SFT sees SFT_MAX_STEPS x 4 steps drawn at random from the first SFT_SESSIONS sessions; its
# learning rate (SFT_LR) and GRPO's (GRPO_LR, the paper's 1e-7 raised to move a 100-step run)
# are stated in each run's run_card.json.
#
# Knobs (environment): MODEL, RUNS, OUT, SFT_SESSIONS, SFT_MAX_STEPS, SFT_LR, GRPO_STEPS, GRPO_LR,
# GRPO_SESSIONS, EVAL_SESSIONS, SFT_ARGS / GRPO_ARGS / EVAL_ARGS (extra flags, appended: they
# win), PY, DRY_RUN (see paper_table.sh). Relative paths are read from the repository root.
set -euo pipefail

SFT_SESSIONS=${SFT_SESSIONS:-300}
SFT_MAX_STEPS=${SFT_MAX_STEPS:-60}
SFT_LR=${SFT_LR:-5e-5}
GRPO_STEPS=${GRPO_STEPS:-100}
GRPO_LR=${GRPO_LR:-3e-6}
GRPO_SESSIONS=${GRPO_SESSIONS:-400}
EVAL_SESSIONS=${EVAL_SESSIONS:-30}
BUDGET=1024
CONTEXT="--history latest --token-budget $BUDGET"  # the same prompt in SFT, GRPO and evaluation

export MODEL=${MODEL:-smollm2-135m} CORPUS=demo
export RUNS=${RUNS:-runs/paper-table-cpu} OUT=${OUT:-benchmarks/results/paper-table-cpu}
export SFT_ARGS="--examples step $CONTEXT --max-length 2048 --max-steps $SFT_MAX_STEPS \
--per-device-batch-size 1 --gradient-accumulation-steps 4 --learning-rate $SFT_LR \
--limit-sessions $SFT_SESSIONS --save-steps 5 --logging-steps 5 ${SFT_ARGS:-}"
export GRPO_ARGS="--learning-rate $GRPO_LR --max-steps $GRPO_STEPS --num-generations 4 \
--per-device-batch-size 4 --gradient-accumulation-steps 1 --max-completion-length 128 $CONTEXT \
--limit-sessions $GRPO_SESSIONS --save-steps 5 --logging-steps 1 ${GRPO_ARGS:-}"
export EVAL_ARGS="--split test --limit $EVAL_SESSIONS $CONTEXT --temperature 0.6 --max-new-tokens 128 ${EVAL_ARGS:-}"
exec bash "$(dirname "$0")/paper_table.sh"
