#!/usr/bin/env bash
# GPU check on a CUDA machine that has PyTorch but no network: install the project's other
# needs from wheels carried in .whl/ (downloaded where pip works, see docs/TRAINING.md), run
# the test suite with the GPU visible, then benchmarks.perf_gpu on MODEL_DIR (a model folder;
# config + tokenizer only means random weights of that architecture).
# Usage: bash scripts/device_check.sh MODEL_DIR OUT_DIR
set -uo pipefail
MODEL_DIR=${1:?model folder}
OUT_DIR=${2:?output folder}
mkdir -p "$OUT_DIR"
SITE=/tmp/site
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/*.whl || exit 1
python3 -m pip install -q --no-index --no-deps --no-build-isolation --no-compile --target "$SITE" . \
  || echo "[device_check] package metadata not installed: entry-point tests may fail"
export PYTHONPATH="$PWD:$SITE" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
python3 -c "import torch, transformers, trl, datasets, gymnasium, peft; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), '| transformers', transformers.__version__, '| trl', trl.__version__, '| datasets', datasets.__version__, '| peft', peft.__version__)"
started=$(date +%s)
timeout "${PYTEST_TIMEOUT:-300}" python3 -m pytest -q -p no:cacheprovider tests > "$OUT_DIR/pytest.log" 2>&1
echo "[device_check] pytest rc $? in $(( $(date +%s) - started )) s"; tail -15 "$OUT_DIR/pytest.log"
timeout "${PERF_TIMEOUT:-300}" python3 -m benchmarks.perf_gpu --model "$MODEL_DIR" --output "$OUT_DIR/gpu.json" ${PERF_ARGS:-} \
  > "$OUT_DIR/perf_gpu.log" 2>&1
echo "[device_check] perf_gpu rc $?"; grep -v -i "warn" "$OUT_DIR/perf_gpu.log" | tail -15
