#!/usr/bin/env bash
# The GPU suite (issue 13), run from the repository root of the carried tree after
# `make gpu-bundle` wrote gpu/:
#
#   bash gpu/suite.sh                 # on the GPU machine: every step on cuda
#   bash gpu/suite.sh --cpu-dry-run   # here: the same steps on the CPU with tiny shapes
#
# Results: $OUT/suite.json (one entry per step; a failed step records its error and the
# suite goes on), $OUT/suite.log, $OUT/train.log. The GPU machine has python with PyTorch
# 2.11 (CUDA 13) and transformers but no Swift and no network: the binaries come xz-packed
# in gpu/ and load that python's libtorch. The dry run unpacks the same binaries and loads
# the development python's libtorch (scripts/python-reference.sh), as the GPU machine would.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
mode=cuda
case "${1:-}" in
  "") ;;
  --cpu-dry-run) mode=cpu-dry-run ;;
  *) echo "usage: bash gpu/suite.sh [--cpu-dry-run]"; exit 2 ;;
esac

if [ "$mode" = cuda ]; then
  python=${PYTHON:-python3}
  bash "$here/gpu-check-remote.sh" 2>&1 | tee "$OUT/gpu-check.txt"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
else
  python=$(bash "$here/../scripts/python-reference.sh") || exit 1
fi
lib=$("$python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))') || {
  echo "suite: $python has no PyTorch"; exit 1; }
export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
bin=$(mktemp -d /tmp/iap-bin.XXXXXX)
for program in iap iap-bench; do
  xz -dc "$here/$program.xz" > "$bin/$program" || { echo "suite: gpu/$program.xz is missing: run make gpu-bundle"; exit 1; }
  chmod +x "$bin/$program"
done
# iap's NCCL plugin (dist.backend: nccl), built against the same PyTorch 2.11.
export IAP_NCCL_PLUGIN="$here/libiap_nccl.so"
# iap's CUDA graphs plugin (--decode-steps cuda-graphs), likewise.
export IAP_CUDA_GRAPHS_PLUGIN="$here/libiap_cuda_graphs.so"
"$python" "$here/suite.py" --mode "$mode" --bin "$bin" --tokenizer "$here/tokenizer" --encoder "$here/encoder" 2>&1 | tee "$OUT/suite.log"
exit "${PIPESTATUS[0]}"
