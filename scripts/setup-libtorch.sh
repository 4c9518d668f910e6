#!/usr/bin/env bash
# Fetches the pinned libtorch (from the torch wheel on PyPI) and the two NVIDIA runtime
# libraries libtorch_cpu.so needs at load time, checks them against scripts/libtorch.lock,
# unpacks only what the build needs into a cache outside the repository, and points
# .deps/libtorch at it.
#
#   IAP_CACHE      cache root (default: $XDG_CACHE_HOME/iap or ~/.cache/iap)
#   IAP_LIBTORCH   use this already-unpacked folder instead (it must hold torch/include and
#                  torch/lib of torch 2.11.0); nothing is downloaded then.
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

if [ -n "${IAP_LIBTORCH:-}" ]; then
  [ -f "$IAP_LIBTORCH/torch/include/ATen/ATen.h" ] && [ -f "$IAP_LIBTORCH/torch/lib/libtorch_cpu.so" ] ||
    die "IAP_LIBTORCH=$IAP_LIBTORCH does not hold torch/include/ATen/ATen.h and torch/lib/libtorch_cpu.so; unset it to download the pinned libtorch instead."
  point_link_at "$IAP_LIBTORCH"
  say "using IAP_LIBTORCH=$IAP_LIBTORCH"
  exit 0
fi

[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] ||
  die "the pinned libtorch wheels are for Linux x86_64, this machine is $(uname -s)-$(uname -m); set IAP_LIBTORCH to an unpacked libtorch 2.11.0 for it."

# The stamp records the lock's content: changing a pin makes the old cache stale.
lock_sum=$(grep -v '^#' "$lock" | sha256sum | cut -c1-16)
dest="$cache/libtorch-2.11.0-$lock_sum"
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

say "downloading torch 2.11.0 and the CUDA runtime wheels (about 545 MB) into $cache"
specs=$(grep -v '^#' "$lock" | awk 'NF { print $1 }')
# shellcheck disable=SC2086
if ! python3 -m pip download --no-deps --only-binary=:all: --python-version 3.11 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_25_x86_64 \
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
done <"$lock"

say "unpacking headers and libraries"
python3 - "$work/wheels" "$work/unpacked" <<'PY'
import os, sys, zipfile
wheels, out = sys.argv[1], sys.argv[2]
keep_prefixes = ("torch/include/",)
keep_files = {
    "torch/lib/libtorch_cpu.so", "torch/lib/libc10.so", "torch/lib/libgomp.so.1",
    "nvidia/cu13/lib/libcudart.so.13", "nvidia/cu13/lib/libcupti.so.13",
}
for name in sorted(os.listdir(wheels)):
    with zipfile.ZipFile(os.path.join(wheels, name)) as z:
        for info in z.infolist():
            n = info.filename
            if info.is_dir() or not (n in keep_files or n.startswith(keep_prefixes)):
                continue
            z.extract(info, out)
            if n.endswith(".so") or ".so." in n:
                os.chmod(os.path.join(out, n), 0o755)
PY

for f in torch/include/ATen/ATen.h torch/lib/libtorch_cpu.so torch/lib/libc10.so nvidia/cu13/lib/libcudart.so.13; do
  [ -f "$work/unpacked/$f" ] || die "the wheels did not contain $f; the pins in $lock do not fit this script."
done

printf '%s\n' "$lock_sum" >"$work/unpacked/.iap-complete"
rm -rf "$dest"
mv "$work/unpacked" "$dest"
point_link_at "$dest"
say "ready at $dest ($(du -sh "$dest" | cut -f1))"
