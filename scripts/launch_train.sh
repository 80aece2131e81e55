#!/usr/bin/env bash
# Multi-GPU launch of `python -m agents.train` through accelerate.
#
# Usage: scripts/launch_train.sh CONFIG NUM_PROCESSES sft|grpo [flags...]
#   CONFIG: multi_gpu | deepspeed_zero2 | deepspeed_zero3   (configs/accelerate/<CONFIG>.yaml)
# Example (8 GPUs, ZeRO-2, GRPO from the SFT model):
#   scripts/launch_train.sh deepspeed_zero2 8 grpo --model runs/sft/final --corpus opera:/data/opera \
#       --output-dir runs/grpo --gradient-accumulation-steps 1
# With 8 processes x 8 completions x 1 accumulation step the global batch stays 64 answers.
set -euo pipefail

if [ "$#" -lt 3 ]; then
    sed -n '2,10p' "$0"
    exit 2
fi
CONFIG="$1"; NPROC="$2"; shift 2
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONFIG_FILE="$ROOT/configs/accelerate/${CONFIG}.yaml"
if [ ! -f "$CONFIG_FILE" ]; then
    echo "error: no accelerate config $CONFIG_FILE" >&2
    exit 2
fi
exec accelerate launch --config_file "$CONFIG_FILE" --num_processes "$NPROC" -m agents.train "$@"
