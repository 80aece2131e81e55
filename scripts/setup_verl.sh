#!/usr/bin/env bash
# Build a separate virtual environment for verl (GPU machines only; NOT run in CI).
#
# verl 0.9.x pins transformers < 5.11 and a CUDA torch + vLLM, which conflict with the main
# .venv (transformers 5.23, CPU torch), so it lives in its own venv. shop-r1-gym is installed
# into it without dependencies: verl only needs the light core (shop_env, rewards) to load
# rewards/adapters/verl.py, and that core imports no torch or transformers.
#
# Usage: scripts/setup_verl.sh [VENV_DIR]        (default .venv-verl)
set -euo pipefail

VENV="${1:-.venv-verl}"
VERL_VERSION="${VERL_VERSION:-0.9.1}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if ! command -v nvidia-smi >/dev/null 2>&1; then
    echo "warning: no nvidia-smi found; verl refuses to train without GPUs ('Total available GPUs 0')." >&2
fi

python3 -m venv "$VENV"
"$VENV/bin/pip" install --upgrade pip
# verl brings its own pinned torch / transformers / vllm stack.
"$VENV/bin/pip" install "verl[vllm]==${VERL_VERSION}"
# The light core of this project and its small dependencies (no torch, no transformers).
"$VENV/bin/pip" install "gymnasium>=1.0,<2" "numpy>=1.24" "lxml>=5" "beautifulsoup4>=4.12" "pyarrow>=14" \
    "tqdm>=4.60" "rich>=13"
"$VENV/bin/pip" install --no-deps -e "$ROOT"

# Smoke check: the reward module loads by path, as verl loads it, and scores a gold answer.
"$VENV/bin/python" - <<'PY'
import importlib.util, json
spec = importlib.util.spec_from_file_location("shop_r1_verl_reward", "rewards/adapters/verl.py")
module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
gold = json.dumps({"type": "click", "name": "add_to_cart.buy_now"})
answer = json.dumps({"rationale": "I want it.", "action": {"type": "click", "name": "add_to_cart.buy_now"}})
print("verl reward module ok:", module.compute_score("shop_r1", answer, gold, {}))
PY
echo "verl environment ready: $VENV (see docs/TRAINING.md, 'verl recipe')"
