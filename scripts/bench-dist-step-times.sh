#!/usr/bin/env bash
# Step times of `iap train` by data-parallel strategy on this machine (docs/BENCHMARKS.md,
# "Step times by strategy"): one process, then 2 ranks with ddp (gradient sums overlapping
# the backward pass, then not), zero2 and fsdp, one after another, same settings. Prints
# each run's wall time and its time/update and time/generation per step. Needs the debug
# build (make build) and the embedded models; leaves its runs in $TMPDIR/iap-steptimes-*.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
settings=(--config configs/demo-cpu.yaml --set run.steps=3 --set run.checkpoint_every=100 --set rollout.questions_per_step=4
  --set rollout.group_size=2 --set "rollout.block_budgets=[4,6,4,8]" --set rollout.max_new_tokens=32
  --set rollout.reference_max_new_tokens=8 --set data.input=question --set policy.gradient_checkpointing=true --set optim.micro_batch=1)
for mode in single ddp ddp-sequential zero2 fsdp; do
  run="${TMPDIR:-/tmp}/iap-steptimes-$mode"
  rm -rf "$run"
  case $mode in
    single) extra=() ;;
    ddp-sequential) extra=(--nproc-per-node 2 --set dist.overlap_backward=false) ;;
    *) extra=(--nproc-per-node 2 --set "dist.strategy=$mode") ;;
  esac
  start=$(date +%s.%N)
  .build/debug/iap train "${settings[@]}" "${extra[@]}" --run-dir "$run" > "$run.log" 2>&1
  status=$?
  end=$(date +%s.%N)
  echo "$mode: exit $status, wall $(echo "$end - $start" | bc) s"
  echo "  update:     $(grep -o '"time/update":[0-9.]*' "$run/metrics.jsonl" | cut -d: -f2 | tr '\n' ' ')"
  echo "  generation: $(grep -o '"time/generation":[0-9.]*' "$run/metrics.jsonl" | cut -d: -f2 | tr '\n' ' ')"
done
