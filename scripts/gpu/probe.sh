#!/usr/bin/env bash
# Runs on the GPU machine from the repository root (bundle from scripts/build-gpu-bundle.sh):
# the GPU check program, then probe.py (our iap binary against transformers on that GPU).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
bash "$here/gpu-check-remote.sh" 2>&1 | tee "$OUT/gpu-check.txt"
lib=$(python3 -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
xz -dc "$here/iap.xz" > /tmp/iap && chmod +x /tmp/iap
xz -dc "$here/iap-bench.xz" > /tmp/iap-bench && chmod +x /tmp/iap-bench
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 "$here/probe.py" /tmp/iap /tmp/iap-bench "$here/tokenizer" "$here/encoder" 2>&1 | tee "$OUT/probe.log"
