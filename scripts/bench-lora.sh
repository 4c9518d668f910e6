#!/usr/bin/env bash
# LoRA (issue 16): one policy update of the demo's model (SmolLM2-135M, 8 × 256 tokens) with
# full fine-tuning — a frozen second copy as the reference — and with LoRA r = 16 on every
# linear layer (the reference is the same weights with the adapters off); time and peak
# resident memory, each in its own process. Then the demo's first training step both ways.
#
#   bash scripts/bench-lora.sh            # THREADS=2 by default
set -euo pipefail
cd "$(dirname "$0")/.."
make -s build build-bench >/dev/null
threads=${THREADS:-2}
./.build/release/iap-bench policy-step --batch 8 --length 256 --threads "$threads"
./.build/release/iap-bench policy-step --batch 8 --length 256 --threads "$threads" --lora-r 16
runs=$(mktemp -d)
trap 'rm -rf "$runs"' EXIT
for r in 0 16; do
  /usr/bin/time -f "{\"bench\":\"demo_step\",\"lora_r\":$r,\"wall_s\":%e,\"peak_rss_kb\":%M}" \
    ./.build/release/iap train --config configs/demo-cpu.yaml --run-dir "$runs/r$r" --set run.steps=1 --set lora.r=$r \
    >/dev/null 2>"$runs/r$r.err" || { cat "$runs/r$r.err"; exit 1; }
  tail -1 "$runs/r$r.err"
  grep -o '"time/[a-z_]*":[0-9.]*' "$runs/r$r/metrics.jsonl" | tr '\n' ' '; echo
done
