#!/usr/bin/env bash
# The paper's Table 2 in miniature on CPU: the default model (SmolLM2-135M-Instruct) on the
# GENERATED demo corpus. Rows: zero-shot, SFT, SFT + GRPO (binary), Shop-R1 (SFT + GRPO,
# shop_r1 reward), and the no-DARS ablation, all evaluated with `python -m benchmarks.run` on
# the same test sessions.
#
# Every stage checkpoints; rerun the script after an interruption and it resumes where it
# stopped (finished stages are skipped, unfinished ones continue with --resume). RUNS must
# hold only this recipe's runs: a checkpoint there is resumed as it is.
# Context for CPU speed: latest-page history and a 1,024-token budget everywhere (say so next to
# any table). SFT trains on one chat per step with that same prompt (--examples step), not on
# whole-session chats: a demo page is ~1,700 tokens, so 300 whole sessions are 5.8M tokens
# (about 24 h of CPU for one epoch), while the per-step prompts are what evaluation shows.
# SFT sees SFT_MAX_STEPS x 4 steps drawn at random from the first SFT_SESSIONS sessions; its
# learning rate (SFT_LR) and GRPO's (GRPO_LR, the paper's 1e-7 raised to move a 100-step run)
# are stated in each run's run_card.json.
#
# Knobs (environment): MODEL, RUNS, OUT, SFT_SESSIONS, SFT_MAX_STEPS, SFT_LR, GRPO_STEPS, GRPO_LR,
# GRPO_SESSIONS, EVAL_SESSIONS, PY.
set -euo pipefail
cd "$(dirname "$0")/../.."

PY=${PY:-.venv/bin/python}
MODEL=${MODEL:-smollm2-135m}
RUNS=${RUNS:-runs/paper-table-cpu}
OUT=${OUT:-benchmarks/results/paper-table-cpu}
SFT_SESSIONS=${SFT_SESSIONS:-300}
SFT_MAX_STEPS=${SFT_MAX_STEPS:-60}
SFT_LR=${SFT_LR:-5e-5}
GRPO_STEPS=${GRPO_STEPS:-100}
GRPO_LR=${GRPO_LR:-3e-6}
GRPO_SESSIONS=${GRPO_SESSIONS:-400}
EVAL_SESSIONS=${EVAL_SESSIONS:-30}
BUDGET=1024

resume_flag() {  # --resume when the run folder already holds a checkpoint
  if compgen -G "$1/checkpoint-*" > /dev/null; then echo --resume; fi
}

sft_dir="$RUNS/sft"
if [ ! -f "$sft_dir/run_card.json" ]; then
  echo "[recipe] SFT: $SFT_MAX_STEPS steps x 4 step-chats from $SFT_SESSIONS sessions, lr $SFT_LR"
  "$PY" -m agents.train sft --model "$MODEL" --corpus demo --output-dir "$sft_dir" --examples step \
    --history latest --token-budget "$BUDGET" --max-length 2048 --max-steps "$SFT_MAX_STEPS" \
    --per-device-batch-size 1 --gradient-accumulation-steps 4 --learning-rate "$SFT_LR" \
    --limit-sessions "$SFT_SESSIONS" --save-steps 5 --logging-steps 5 --no-evaluate $(resume_flag "$sft_dir")
fi

evaluate() {  # row name, model; skipped when its results are newer than the model, else resumed from its sample log
  local done_file
  done_file=$(compgen -G "$OUT/$1/*/results.json" | head -n 1 || true)
  if [ -n "$done_file" ]; then
    if [ ! -d "$2" ] || [ "$done_file" -nt "$2/config.json" ]; then return; fi
    echo "[recipe] $1: results are older than $2, evaluating again"; rm -rf "${OUT:?}/$1"
  fi
  echo "[recipe] evaluate $1 on $EVAL_SESSIONS test sessions"
  "$PY" -m benchmarks.run --agent prompted --model "$2" --split test --limit "$EVAL_SESSIONS" \
    --history latest --token-budget "$BUDGET" --temperature 0.6 --max-new-tokens 128 \
    --output-path "$OUT/$1"
}
# the first two rows as soon as SFT is done: a failed SFT shows before hours of GRPO
evaluate zero-shot "$MODEL"
evaluate sft "$sft_dir/final"

for reward in binary shop_r1 no_dars; do
  dir="$RUNS/grpo-$reward"
  if [ ! -f "$dir/run_card.json" ]; then
    echo "[recipe] GRPO from SFT, reward $reward, $GRPO_STEPS steps, lr $GRPO_LR"
    "$PY" -m agents.train grpo --model "$sft_dir/final" --corpus demo --output-dir "$dir" --reward "$reward" \
      --learning-rate "$GRPO_LR" --max-steps "$GRPO_STEPS" --num-generations 4 --per-device-batch-size 4 \
      --gradient-accumulation-steps 1 --max-completion-length 128 --history latest --token-budget "$BUDGET" \
      --limit-sessions "$GRPO_SESSIONS" --save-steps 5 --logging-steps 1 --no-evaluate $(resume_flag "$dir")
  fi
done

evaluate sft-grpo-binary "$RUNS/grpo-binary/final"
evaluate shop-r1 "$RUNS/grpo-shop_r1/final"
evaluate no-dars "$RUNS/grpo-no_dars/final"
ROWS=(zero-shot sft sft-grpo-binary shop-r1 no-dars)
"$PY" -m benchmarks.compare "${ROWS[@]/#/$OUT/}" --output "$OUT/table.md" --plot "$OUT/table.png"
"$PY" -m benchmarks.training_curves binary="$RUNS/grpo-binary" shop-r1="$RUNS/grpo-shop_r1" \
  no-dars="$RUNS/grpo-no_dars" --output "$OUT/grpo_curves.png" --json "$OUT/grpo_curves.json"
mkdir -p "$OUT/run_cards"  # the training settings and logs next to the results they produced
for run in sft grpo-binary grpo-shop_r1 grpo-no_dars; do cp "$RUNS/$run/run_card.json" "$OUT/run_cards/$run.json"; done
