#!/usr/bin/env bash
# `iap plan` against measured memory (docs/plan.md), on the CPU, at three sizes:
#  1. the planner's peak of a policy update (always-held terms + the update phase) beside the
#     peak resident memory of `iap-bench policy-step` doing that update (no-grad passes of the
#     policy and a frozen reference copy or LoRA's adapter-free view, forward, backward, AdamW);
#  2. the planner's peak of a whole training step beside `iap-bench iap-step`'s (two steps of
#     configs/demo-cpu.yaml: rollouts, reference answers, the update; a stand-in judge).
# Prints one line per row and the ratio; fails past ±15 %. PLAN_STEPS=0 skips the whole steps
# (they take ~10 minutes each on 2 cores; the 1B row is float32: bfloat16 is emulated, and far
# slower, on CPUs without AVX-512).
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
[ "${PLAN_STEPS:-1}" = 0 ] && exit $status
while read -r model extra; do
  line=$("$bin/iap-bench" iap-step --config configs/demo-cpu.yaml --set policy.device=cpu --set dapo.dynamic_sampling=false \
    --model "$model" $extra --steps 2 | tail -1)
  read -r measured planned ratio < <(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["peak_rss_mb"], d["plan_peak_mib"], d["rss_over_plan"])' "$line")
  echo "plan-check iap-step $model $extra: planned ${planned} MiB, measured ${measured} MB, measured/planned $ratio"
  python3 -c "import sys; sys.exit(0 if abs($planned / $measured - 1) <= 0.15 else 1)" || status=1
done <<'STEPS'
smollm2-135m-instruct
gemma3-270m
shape:llama-3.2-1b --tokenizer smollm2-135m-instruct --set lora.r=16
STEPS
exit $status
