#!/usr/bin/env bash
# usage: short-demo.sh BINARY RUNDIR — the demo's pipeline, shortened: 2 training steps of
# configs/demo-cpu.yaml, answers for 2 test questions per domain, embedding-judge scores.
set -e
BIN=$1; R=$2
rm -rf $R
$BIN train --config configs/demo-cpu.yaml --run-dir $R --set run.steps=2
$BIN answer --method iap --model $R/final --limit 2 --max-tokens 160 --temperature 0 --out $R/trained.responses.json
$BIN evaluate --data data/sample --split test --limit 2 --judge embedding --no-cache --out $R/evaluation --responses $R/trained.responses.json
