#!/usr/bin/env bash
# Builds gpu/libiap_nccl.so (GPUPlugins/iap_nccl.cpp): NCCL process groups, and
# gpu/libiap_cuda_graphs.so (GPUPlugins/iap_cuda_graphs.cpp): CUDA graphs of decode steps, against the
# CUDA build of PyTorch 2.11 from PyPI in the development python (scripts/python-reference.sh:
# its torch/include; CUDA's headers from the nvidia-cuda-runtime, -crt and -cccl wheels, all
# under nvidia/cu13/include; NCCL's from nvidia-nccl). It links to that torch's
# libraries by name only, so on the GPU machine it uses that machine's own PyTorch 2.11.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
python=$(bash "$repo/scripts/python-reference.sh")
site=$("$python" -c 'import os, torch; print(os.path.dirname(os.path.dirname(torch.__file__)))')
torch="$site/torch"
cuda_include=$(dirname "$(find "$site/nvidia" -name cuda_runtime_api.h | head -1)")
nccl_include="$site/nvidia/nccl/include"
[ -f "$nccl_include/nccl.h" ] || { echo "build-nccl-plugin: no nccl.h under $site/nvidia (the nvidia-nccl wheel)"; exit 1; }
abi=$("$python" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
mkdir -p "$repo/gpu"
flags=(-std=c++17 -O2 -fPIC -shared -D_GLIBCXX_USE_CXX11_ABI="$abi" -DUSE_CUDA
  -I"$torch/include" -I"$torch/include/torch/csrc/api/include" -I"$cuda_include"
  -L"$torch/lib" -ltorch_cuda -ltorch_cpu -lc10_cuda -lc10 -Wl,--no-as-needed)
g++ -o "$repo/gpu/libiap_nccl.so" "$repo/GPUPlugins/iap_nccl.cpp" -DUSE_C10D_NCCL -I"$nccl_include" "${flags[@]}"
g++ -o "$repo/gpu/libiap_cuda_graphs.so" "$repo/GPUPlugins/iap_cuda_graphs.cpp" "${flags[@]}"
echo "build-nccl-plugin: gpu/libiap_nccl.so gpu/libiap_cuda_graphs.so" >&2
