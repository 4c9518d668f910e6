#!/usr/bin/env bash
# Checks that the CUDA set-up (IAP_CUDA=1 make setup) is complete without a card to try it
# on: every shared library that libtorch_cuda.so, the NCCL and CUDA-graph plugins (gpu/*.so,
# when built) and each library of the NVIDIA wheels need resolves, transitively, inside the
# libtorch folder — no system CUDA toolkit. The driver's own libcuda.so.1 (and libnvidia-ml)
# come from the NVIDIA driver and are allowed to be missing here; so are the optional fabric
# plug-ins NVSHMEM and cuFile open only where a cluster has RDMA, MPI, UCX or libfabric
# (nvshmem_bootstrap_*, nvshmem_transport_*, libcufile_rdma: listed, not failed).
#
#   bash scripts/check-cuda-libs.sh [LIBTORCH_FOLDER]    (default: .deps/libtorch)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "${1:-$repo/.deps/libtorch}" && pwd -P)
say() { printf 'check-cuda-libs: %s\n' "$*"; }

[ -f "$root/torch/lib/libtorch_cuda.so" ] ||
  { say "no torch/lib/libtorch_cuda.so in $root: run 'IAP_CUDA=1 make setup' first."; exit 1; }

# Only the folder's own libraries on the search path: what resolves comes from there.
search=$(find "$root" -name '*.so*' -type f -printf '%h\n' | sort -u | paste -sd:)
driver='^(libcuda\.so\.1|libnvidia-ml\.so\.1)$'
libraries=("$root"/torch/lib/*.so)
while IFS= read -r lib; do libraries+=("$lib"); done < <(find "$root/nvidia" -name '*.so*' -type f | sort)
for plugin in "$repo"/gpu/*.so; do [ -f "$plugin" ] && libraries+=("$plugin"); done

status=0
checked=0
optional=()
for lib in "${libraries[@]}"; do
  checked=$((checked + 1))
  missing=$(env -i LD_LIBRARY_PATH="$search" ldd "$lib" 2>&1 | awk '/not found/ { print $1 }' | grep -Ev "$driver" || true)
  case "$(basename "$lib")" in
    nvshmem_bootstrap_*|nvshmem_transport_*|libcufile_rdma*)
      [ -n "$missing" ] && optional+=("$(basename "$lib") ($(echo "$missing" | paste -sd' '))")
      continue ;;
  esac
  if [ -n "$missing" ]; then
    say "${lib#"$root"/} needs, not found in $root: $(echo "$missing" | paste -sd' ')"
    status=1
  fi
done
[ ${#optional[@]} -gt 0 ] && say "optional fabric plug-ins without their cluster libraries: ${optional[*]}"
[ $status = 0 ] && say "ok: $checked libraries under $root resolve (the driver's libcuda.so.1 and fabric plug-ins aside)"
exit $status
