#!/usr/bin/env bash
# Grounded decoding against free decoding on the paper table's miniature: every model row that
# exists (zero-shot always; SFT and the GRPO rows when their runs are in $RUNS) evaluated with
# --constrain none, json, candidates and shown on the same test steps, with the same code and the same
# checkpoints, then paired against each other with benchmarks.compare (and Shop-R1 against SFT
# under each mode when both exist).
#
# Resumable: each cell resumes from its sample log, so a larger EVAL_SESSIONS later continues
# the same sessions. Usage: bash benchmarks/recipes/constrained_table.sh
# Environment: EVAL_SESSIONS (default 30, the miniature's), RUNS (default runs/paper-table-cpu),
# OUT (default benchmarks/results/constrained-cpu), PY (default .venv/bin/python), DRY_RUN=1.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
EVAL_SESSIONS=${EVAL_SESSIONS:-30}
RUNS=${RUNS:-runs/paper-table-cpu}
OUT=${OUT:-benchmarks/results/constrained-cpu}
MODEL=${MODEL:-smollm2-135m}
# the miniature's evaluation settings (benchmarks/recipes/paper_table_cpu.sh)
EVAL=(--data demo --split test --limit "$EVAL_SESSIONS" --history latest --token-budget 1024
      --temperature 0.6 --max-new-tokens 128 --no-progress)

MODES=(none json candidates shown)  # agents.constraints.CONSTRAIN_MODES, none (the paired baseline) first
run() { if [ "${DRY_RUN:-0}" != 0 ]; then echo "+ $(printf '%q ' "$@")"; else "$@"; fi; }

declare -A MODELS=([zero-shot]="$MODEL")
for row in sft:sft shop-r1:grpo-shop_r1; do
  if [ -d "$RUNS/${row#*:}/final" ]; then MODELS[${row%%:*}]="$RUNS/${row#*:}/final"; fi
done
ROWS=()
for row in zero-shot sft shop-r1; do
  [ -n "${MODELS[$row]:-}" ] || { echo "[constrained] $row: no model in $RUNS (rebuild it with paper_table_cpu.sh)"; continue; }
  for mode in "${MODES[@]}"; do
    echo "[constrained] $row --constrain $mode"
    run "$PY" -m benchmarks.run --agent prompted --model "${MODELS[$row]}" --constrain "$mode" "${EVAL[@]}" \
      --output-path "$OUT/$row-$mode"
    ROWS+=("$OUT/$row-$mode")
  done
done
# every cell in one table, paired against zero-shot free decoding; then each model's constrained
# cells paired against its own free-decoding cell (what constraining buys that model)
run "$PY" -m benchmarks.compare "${ROWS[@]}" --output "$OUT/table.md" --plot "$OUT/table.png" \
  --baseline "zero-shot-none/prompted-$(basename "${MODELS[zero-shot]}")"
# each trained row against zero-shot under the same mode: does constraining change the paper's
# comparison? (the trained rows present in $RUNS; nothing to pair when only zero-shot exists)
for mode in "${MODES[@]}"; do
  CELLS=()
  for row in sft shop-r1; do
    if [ -n "${MODELS[$row]:-}" ]; then CELLS+=("$OUT/$row-$mode"); fi
  done
  [ "${#CELLS[@]}" -gt 0 ] || break
  suffix=""; [ "$mode" = none ] || suffix="-$mode"
  run "$PY" -m benchmarks.compare "$OUT/zero-shot-$mode" "${CELLS[@]}" --output "$OUT/by-mode-$mode.md" \
    --baseline "zero-shot-$mode/prompted-$(basename "${MODELS[zero-shot]}")$suffix"
  # Shop-R1 against SFT under the same mode: does RL's lead over SFT survive a constraint?
  if [ -n "${MODELS[sft]:-}" ] && [ -n "${MODELS[shop-r1]:-}" ]; then
    run "$PY" -m benchmarks.compare "$OUT/sft-$mode" "$OUT/shop-r1-$mode" --output "$OUT/shop-r1-vs-sft-$mode.md" \
      --baseline "sft-$mode/prompted-$(basename "${MODELS[sft]}")$suffix"
  fi
done
for row in zero-shot sft shop-r1; do
  [ -n "${MODELS[$row]:-}" ] || continue
  run "$PY" -m benchmarks.compare "${MODES[@]/#/$OUT/$row-}" \
    --output "$OUT/paired-$row.md" --baseline "$row-none/prompted-$(basename "${MODELS[$row]}")"
done
