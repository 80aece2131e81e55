#!/usr/bin/env bash
# GPU check on a CUDA machine that has PyTorch but no network: install the project's other
# needs from wheels carried in .whl/ (downloaded where pip works, see docs/TRAINING.md), run
# the test suite with the GPU visible, benchmarks.perf_gpu on MODEL_DIR (a model folder;
# config + tokenizer only means random weights of that architecture), then the user-facing
# commands on the GPU: LoRA SFT and LoRA GRPO through `python -m agents.train` (each evaluated
# through the rollout harness) and `python -m benchmarks.run` on the GRPO model.
# Usage: bash scripts/device_check.sh MODEL_DIR OUT_DIR   (SKIP_TESTS=1 / SKIP_PERF=1 /
# SKIP_CLI=1 leave a part out)
set -uo pipefail
MODEL_DIR=$(realpath "${1:?model folder}")
OUT_DIR=$(realpath -m "${2:?output folder}")
cd "$(dirname "$0")/.."
mkdir -p "$OUT_DIR"
worst=0  # the exit status: the worst of the parts
SITE=/tmp/site
PY=${PY:-python3}  # PY=.venv/bin/python (with SKIP_WHEELS=1) runs it in the project's own venv
if [ -z "${SKIP_WHEELS:-}" ]; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/*.whl || exit 1
  "$PY" -m pip install -q --no-index --no-deps --no-build-isolation --no-compile --target "$SITE" . \
    || echo "[device_check] package metadata not installed: entry-point tests may fail"
  export PYTHONPATH="$PWD:$SITE"
fi
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || echo "[device_check] no nvidia-smi"
"$PY" -c "import torch, transformers, trl, datasets, gymnasium, peft; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), '| transformers', transformers.__version__, '| trl', trl.__version__, '| datasets', datasets.__version__, '| peft', peft.__version__)"
if [ -z "${SKIP_TESTS:-}" ]; then
  started=$(date +%s)
  timeout "${PYTEST_TIMEOUT:-300}" "$PY" -m pytest -q -p no:cacheprovider tests > "$OUT_DIR/pytest.log" 2>&1
  rc=$?; worst=$(( rc > worst ? rc : worst ))
  echo "[device_check] pytest rc $rc in $(( $(date +%s) - started )) s"; tail -15 "$OUT_DIR/pytest.log"
fi
if [ -z "${SKIP_PERF:-}" ]; then
  timeout "${PERF_TIMEOUT:-300}" "$PY" -m benchmarks.perf_gpu --model "$MODEL_DIR" --output "$OUT_DIR/gpu.json" \
    ${PERF_ARGS:-} > "$OUT_DIR/perf_gpu.log" 2>&1
  rc=$?; worst=$(( rc > worst ? rc : worst ))
  echo "[device_check] perf_gpu rc $rc"; grep -v -i "warn" "$OUT_DIR/perf_gpu.log" | tail -15
fi
if [ -z "${SKIP_CLI:-}" ]; then
  RUN=/tmp/device_check_runs; rm -rf "$RUN"; mkdir -p "$RUN"
  MODEL=$("$PY" -c "import sys; from pathlib import Path; from benchmarks.perf_gpu import materialise_model; \
print(materialise_model(sys.argv[1], Path(sys.argv[2]))[0])" "$MODEL_DIR" "$RUN") || { echo "[device_check] no model"; exit 1; }
  common=(--corpus demo --history latest --token-budget 1024 --limit-sessions 20 --lora --report-to none
          --eval-sessions 2 --eval-max-new-tokens 32)
  {
    "$PY" -m agents.train sft --model "$MODEL" --output-dir "$RUN/sft" --examples step --max-steps 3 \
      --per-device-batch-size 4 --gradient-accumulation-steps 1 "${common[@]}" &&
    "$PY" -m agents.train grpo --model "$RUN/sft/final" --output-dir "$RUN/grpo" --max-steps 2 --num-generations 4 \
      --per-device-batch-size 8 --gradient-accumulation-steps 1 --max-completion-length 32 "${common[@]}" &&
    "$PY" -m benchmarks.run --agent prompted --model "$RUN/grpo/final" --limit 3 --history latest \
      --token-budget 1024 --max-new-tokens 32 --no-progress --output-path "$OUT_DIR/bench"
  } > "$OUT_DIR/cli.log" 2>&1
  rc=$?; worst=$(( rc > worst ? rc : worst ))
  echo "[device_check] CLI rc $rc"; grep -E "^\[|^\|" "$OUT_DIR/cli.log" | tail -12
  for f in "$RUN"/sft/run_card.json "$RUN"/grpo/run_card.json; do
    [ -f "$f" ] && cp "$f" "$OUT_DIR/$(basename "$(dirname "$f")")_run_card.json"
  done
fi
exit "$worst"
