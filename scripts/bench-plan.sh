#!/usr/bin/env bash
# `iap plan` against measured memory (docs/plan.md): for three sizes, the planner's peak of a
# policy update (always-held terms + the update phase) beside the peak resident memory of
# `iap-bench policy-step` doing that update (a frozen reference copy or LoRA, forward,
# backward, AdamW) on the CPU. Prints one line per size and the ratio; fails past ±15 %.
# Needs the release build (make build; swift build -c release --product iap-bench), or IAP_BIN=.build/debug:
# the memory is the same, only slower.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${IAP_BIN:-.build/release}
status=0
# model  dtype  lora_r  batch  length
while read -r model dtype lora batch length; do
  measured=$("$bin/iap-bench" policy-step --model "$model" --dtype "$dtype" --lora-r "$lora" --batch "$batch" --length "$length" --steps 1 \
    | python3 -c 'import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])["peak_rss_mb"])')
  planned=$("$bin/iap" plan --config configs/demo-cpu.yaml --json --prompt-tokens "$((length - 1))" \
    --set policy.model="$model" --set policy.dtype="$dtype" --set policy.device=cpu --set policy.gradient_checkpointing=false \
    --set optim.micro_batch="$batch" --set rollout.max_new_tokens=1 --set lora.r="$lora" --set dist.strategy=ddp \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["plan"]["update_peak_bytes"] // 2**20)' || true)
  ratio=$(python3 -c "print(f'{$planned / $measured:.3f}')")
  echo "plan-check $model $dtype lora=$lora batch=$batch length=$length: planned ${planned} MB, measured ${measured} MB, ratio $ratio"
  python3 -c "import sys; sys.exit(0 if abs($planned / $measured - 1) <= 0.15 else 1)" || status=1
done <<'SIZES'
smollm2-135m-instruct float32 0 8 256
gemma3-270m float32 0 4 256
shape:llama-3.2-1b bfloat16 16 4 256
SIZES
exit $status
