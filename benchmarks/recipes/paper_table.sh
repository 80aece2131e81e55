#!/usr/bin/env bash
# The paper's Table 2 pipeline, whatever the machine: SFT, then GRPO from the SFT model with
# the Shop-R1 reward, the no-DARS ablation and the binary reward, then every row evaluated with
# `python -m benchmarks.run` on the same test sessions, next to the page-reading heuristic on
# those steps (its token budget counted with MODEL's tokenizer, so it sees the same page), the
# SFT model sampled again with another seed (how far sampling alone moves a row), the GRPO
# curves, the run cards, and last one table (each row also paired against SFT) and a plot.
# Run it through paper_table_cpu.sh (the miniature) or paper_table_gpu.sh
# (Qwen2.5-3B-Instruct on OPeRA), which set the knobs below.
#
# Every stage checkpoints; rerun after an interruption and it resumes where it stopped
# (finished stages are skipped, unfinished ones continue with --resume). RUNS must hold only
# this recipe's runs: a checkpoint there is resumed as it is.
#
# Knobs (environment):
#   MODEL, CORPUS      starting model (short name or folder) and corpus source (demo, opera:DIR)
#   RUNS, OUT          training runs (checkpoints) and results (the committed rows)
#                      (relative paths are read from the repository root)
#   SFT_ARGS, GRPO_ARGS, EVAL_ARGS   extra flags of `agents.train sft`, `agents.train grpo` and
#                      `benchmarks.run` (words split on spaces; no quoting, so no spaces inside a value)
#   TRAIN              training command prefix (default: "$PY -m agents.train"; several GPUs:
#                      "scripts/launch_train.sh deepspeed_zero2 8")
#   PY                 Python (default .venv/bin/python)
#   DRY_RUN=1          print each command, shell-quoted after "+ ", instead of running it
set -euo pipefail
cd "$(dirname "$0")/../.."

PY=${PY:-.venv/bin/python}
: "${MODEL:?MODEL: the starting model (short name or folder)}"
: "${CORPUS:?CORPUS: corpus source (demo, opera:DIR, jsonl:PATH)}"
: "${RUNS:?RUNS: folder of the training runs}"
: "${OUT:?OUT: folder of the result rows}"
read -r -a train <<< "${TRAIN:-$PY -m agents.train}"
read -r -a sft_args <<< "${SFT_ARGS:-}"
read -r -a grpo_args <<< "${GRPO_ARGS:-}"
read -r -a eval_args <<< "${EVAL_ARGS:-}"

run() {  # run a command, or print it under DRY_RUN
  if [ "${DRY_RUN:-0}" != 0 ]; then echo "+ $(printf '%q ' "$@")"; else "$@"; fi
}

resume_flag() {  # --resume when the run folder already holds a checkpoint
  if compgen -G "$1/checkpoint-*" > /dev/null; then echo --resume; fi
}

row_name() {  # the table's row for a GRPO reward preset
  case "$1" in shop_r1) echo shop-r1 ;; no_dars) echo no-dars ;; binary) echo sft-grpo-binary ;; esac
}

evaluate() {  # row name, model, extra flags; skipped when its results are newer than the model, else resumed from its sample log
  local done_file
  done_file=$(compgen -G "$OUT/$1/*/results.json" | head -n 1 || true)
  if [ -n "$done_file" ]; then
    if [ ! -d "$2" ] || [ "$done_file" -nt "$2/config.json" ]; then return; fi
    echo "[recipe] $1: results are older than $2, evaluating again"; run rm -rf "${OUT:?}/$1"
  fi
  echo "[recipe] evaluate $1"
  run "$PY" -m benchmarks.run --agent prompted --model "$2" --data "$CORPUS" "${eval_args[@]}" "${@:3}" \
    --output-path "$OUT/$1"
}

sft_dir="$RUNS/sft"
if [ ! -f "$sft_dir/run_card.json" ]; then
  echo "[recipe] SFT from $MODEL"
  run "${train[@]}" sft --model "$MODEL" --corpus "$CORPUS" --output-dir "$sft_dir" "${sft_args[@]}" \
    --no-evaluate $(resume_flag "$sft_dir")
fi
# the first two rows as soon as SFT is done: a failed SFT shows before hours of GRPO
evaluate zero-shot "$MODEL"
evaluate sft "$sft_dir/final"
# a reference on the same test steps: the page-reading heuristic (no model, seconds), its
# budget counted with the model's tokenizer as the rows' is
if [ ! -f "$OUT/reference/heuristic/results.json" ]; then
  echo "[recipe] evaluate the heuristic reference"
  run "$PY" -m benchmarks.run --agent heuristic --tokenizer "$MODEL" --data "$CORPUS" "${eval_args[@]}" \
    --output-path "$OUT/reference"
fi

# Shop-R1 first: it is the row the claim is about; each GRPO row is evaluated as soon as its run ends
for reward in shop_r1 no_dars binary; do
  dir="$RUNS/grpo-$reward"
  if [ ! -f "$dir/run_card.json" ]; then
    echo "[recipe] GRPO from SFT, reward $reward"
    run "${train[@]}" grpo --model "$sft_dir/final" --corpus "$CORPUS" --output-dir "$dir" --reward "$reward" \
      "${grpo_args[@]}" --no-evaluate $(resume_flag "$dir")
  fi
  evaluate "$(row_name "$reward")" "$dir/final"
done
# the SFT model evaluated once more with another sampling seed: its difference from the SFT row
# is one draw of how far sampling at the evaluation temperature alone moves a row
evaluate sft-seed1 "$sft_dir/final" --seed 1

run "$PY" -m benchmarks.training_curves binary="$RUNS/grpo-binary" shop-r1="$RUNS/grpo-shop_r1" \
  no-dars="$RUNS/grpo-no_dars" --output "$OUT/grpo_curves.png" --json "$OUT/grpo_curves.json"
run mkdir -p "$OUT/run_cards"  # the training settings and logs next to the results they produced
for run_name in sft grpo-binary grpo-shop_r1 grpo-no_dars; do
  run cp "$RUNS/$run_name/run_card.json" "$OUT/run_cards/$run_name.json"
done
# the table last: if its paired comparison refuses a row, everything else is already written
ROWS=(zero-shot sft sft-grpo-binary shop-r1 no-dars reference sft-seed1)  # the paper's order, then the checks
# every row against SFT on the same test steps too: is Shop-R1 above SFT beyond resampling noise?
run "$PY" -m benchmarks.compare "${ROWS[@]/#/$OUT/}" --output "$OUT/table.md" --plot "$OUT/table.png" \
  --baseline sft/prompted-final
