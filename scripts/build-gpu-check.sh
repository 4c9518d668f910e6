#!/usr/bin/env bash
# Builds the GPU check program for a GPU machine: static Swift runtime (no Swift on that
# machine), libtorch linked dynamically and taken from that machine's own PyTorch 2.11
# (scripts/gpu-check-remote.sh finds it). Output: gpu/iap-gpu-check (git-ignored).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bash scripts/setup-libtorch.sh
bash scripts/setup-gloo.sh
swift build -c release --static-swift-stdlib --product iap-gpu-check --scratch-path .build-gpu >&2
mkdir -p gpu
cp .build-gpu/release/iap-gpu-check gpu/iap-gpu-check
strip gpu/iap-gpu-check 2>/dev/null || true
# xz-packed like iap and iap-bench (Foundation makes it ~58 MB stripped; the tree travels
# within 64 MiB): gpu-check-remote.sh unpacks it there.
xz -T2 -6 -f gpu/iap-gpu-check
cp scripts/gpu-check-remote.sh gpu/
ls -l gpu/iap-gpu-check.xz >&2
echo "built gpu/iap-gpu-check; on the GPU machine run: bash gpu/gpu-check-remote.sh" >&2
