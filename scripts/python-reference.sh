#!/usr/bin/env bash
# Development-time only: a Python virtual environment with the reference libraries
# (PyTorch 2.11 and, as later issues need them, transformers, tokenizers, bert_score; CUDA's
# compiler-side and CCCL headers for the NCCL plugin, scripts/build-nccl-plugin.sh),
# kept in the cache outside the repository. Tests never need it; benchmarks and the
# fixture scripts do. Prints the environment's python path on success.
set -euo pipefail
cache=${IAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iap}
venv="$cache/pyref"
packages=(torch==2.11.0 numpy gguf==0.19.0 transformers==5.24.0 tokenizers==0.23.3 accelerate bert-score==0.3.13 pandas matplotlib peft==0.21.2 sentencepiece==0.2.1 protobuf nvidia-cuda-cccl==13.0.85 nvidia-cuda-crt==13.0.88 pyarrow==26.0.1)
say() { printf 'python-reference: %s\n' "$*" >&2; }

# A venv records its own path, so it is built in place; the stamp, written last, holds the
# package list it was completed with (an interrupted install is started over; a longer list
# is installed into the existing environment).
stamp="$venv/.iap-complete"
# One builder at a time: a second caller (a build step beside a fixture script) waits here
# instead of deleting the environment the first is installing into.
mkdir -p "$cache"
exec 9>"$cache/pyref.lock"
flock 9
if [ ! -f "$stamp" ]; then
  command -v python3 >/dev/null || { say "python3 is missing: install python3 and python3-venv."; exit 1; }
  say "creating $venv (torch 2.11.0 with its CUDA dependencies: several GB, a few minutes)"
  rm -rf "$venv"
  python3 -m venv "$venv"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "${packages[*]}" ]; then
  "$venv/bin/pip" install -q "${packages[@]}" >&2 || { say "pip could not install ${packages[*]}; check the network."; exit 1; }
  printf '%s' "${packages[*]}" > "$stamp"
fi
printf '%s\n' "$venv/bin/python"
