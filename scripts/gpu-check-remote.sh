#!/usr/bin/env bash
# Runs on the GPU machine, from the repository root: points the loader at that machine's
# own PyTorch libraries (same version as our pin) and runs gpu/iap-gpu-check.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-python3}
info=$("$python" -c 'import os, torch; print(torch.__version__); print(os.path.join(os.path.dirname(torch.__file__), "lib")); print(torch.cuda.is_available())') || {
  echo "gpu-check: no PyTorch on this machine ($python -c 'import torch' failed)"; exit 2; }
version=$(sed -n 1p <<<"$info")
lib=$(sed -n 2p <<<"$info")
echo "gpu-check: PyTorch $version at $lib (python sees cuda: $(sed -n 3p <<<"$info"))"
case "$version" in
  2.11.0*) ;;
  *) echo "gpu-check: this binary was built against libtorch 2.11.0; the machine has $version"; exit 2 ;;
esac
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true
program=$(mktemp /tmp/iap-gpu-check.XXXXXX)
xz -dc "$here/iap-gpu-check.xz" > "$program" || { echo "gpu-check: gpu/iap-gpu-check.xz is missing: run make gpu-check"; exit 2; }
chmod +x "$program"
LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$program"
