#!/usr/bin/env bash
# usage: demo-steps.sh BINARY RUNDIR — the steps of `make demo` with a given iap binary (to
# compare two builds on the same machine: the training metrics, rollouts and the start /
# trained scores must be identical). Run from the repository root of the binary's checkout.
# Long (the demo's training run, then answers for the whole test split): start it with
# setsid/nohup so it outlives the shell.
set -e
BIN=$1; R=$2
rm -rf "$R"
start=$(date +%s)
"$BIN" train --config configs/demo-cpu.yaml --run-dir "$R"
"$BIN" answer --method iap --model smollm2-135m-instruct --max-tokens 160 --temperature 0 --out "$R/start.responses.json"
"$BIN" answer --method iap --model "$R/final" --max-tokens 160 --temperature 0 --out "$R/trained.responses.json"
"$BIN" evaluate --data data/sample --split test --judge embedding --no-cache --out "$R/evaluation" \
  --responses "$R/start.responses.json" "$R/trained.responses.json"
"$BIN" compare "$R/evaluation/start.responses" "$R/evaluation/trained.responses" --names start trained
echo "wall seconds: $(( $(date +%s) - start ))"
