#!/usr/bin/env bash
# Gemma 3 270M (issue 15): generation 16 × 256, training step 8 × 256 and tokenizer
# throughput, iap against transformers / tokenizers on the same GGUF, shapes and CPU
# threads, in the same run. Development-time: needs the reference Python environment.
#
#   bash scripts/bench-gemma.sh            # THREADS=2 by default
set -euo pipefail
cd "$(dirname "$0")/.."
python=$(bash scripts/python-reference.sh)
cache=${IAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iap}
make -s build build-bench >/dev/null
./.build/release/iap models pull gemma3-270m >/dev/null
gguf=$(ls "$cache"/models/gemma3-270m-*/gemma-3-270m-q4_k_m.gguf | head -1)
threads=${THREADS:-2}
"$python" bench/models_reference.py "$gguf" generate 16 256 "$threads" 2>/dev/null
./.build/release/iap-bench generate --model gemma3-270m --batch 16 --new-tokens 256 --threads "$threads"
# A long context (1,536-token prompts, window 512): the KV cache keeping only the window of
# the 15 local layers vs every slot, and transformers (whose Gemma 3 cache also slides).
PROMPT_TOKENS=1536 "$python" bench/models_reference.py "$gguf" generate 4 128 "$threads" 2>/dev/null
./.build/release/iap-bench generate --model gemma3-270m --batch 4 --new-tokens 128 --prompt-tokens 1536 --threads "$threads"
./.build/release/iap-bench generate --model gemma3-270m --batch 4 --new-tokens 128 --prompt-tokens 1536 --threads "$threads" --whole-window-cache
"$python" bench/models_reference.py "$gguf" train-step 8 256 "$threads" 2>/dev/null
./.build/release/iap-bench train-step --model gemma3-270m --batch 8 --length 256 --threads "$threads"
# The head's logits recomputed in the backward pass instead of kept (policy.kept_logits_mib: 0).
./.build/release/iap-bench train-step --model gemma3-270m --batch 8 --length 256 --threads "$threads" --kept-logits-mib 0
./.build/release/iap-bench train-step --model gemma3-270m --batch 8 --length 256 --threads "$threads" --checkpointing
# Tokenizer: the English text of scripts/bench-tokenizer.sh, ids compared.
mkdir -p "$cache/bench"
text="$cache/bench/english.txt"
ids="$cache/bench/english.gemma-ids.bin"
RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false "$python" scripts/bench_tokenizer_reference.py "$gguf" "$text" "$ids"
./.build/release/iap-bench tokenize --model gemma3-270m --file "$text" --reference-ids "$ids"
