#!/usr/bin/env bash
# Fetches the Gloo headers that libtorch's ProcessGroupGloo.hpp includes (the torch wheel
# ships the c10d headers and Gloo's compiled code inside libtorch_cpu.so, but not Gloo's own
# headers) from Debian's libgloo-dev, checks the package against the pinned sha256, unpacks
# only include/gloo into a cache outside the repository, and points .deps/gloo at it.
# Only the declarations are used: nothing links against Debian's libgloo. The snapshot
# (2022) is older than the Gloo inside torch 2.11; the multi-rank tests are the proof that
# the calls we make (ProcessGroupGloo's constructor, its collectives through Backend,
# createDeviceForHostname) stay compatible — none of them inlines a Gloo class.
#
#   IAP_CACHE   cache root (default: $XDG_CACHE_HOME/iap or ~/.cache/iap)
#
# Idempotent; a complete cache is recognised by its stamp, written last.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${IAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iap}
version="0.0~git20220518.5b14351-3"
deb="libgloo-dev_${version}_amd64.deb"
sum=80529c9fd8af452faf489e686b94bf87075965c40673803810c4f41634b1e299
url="http://deb.debian.org/debian/pool/main/g/gloo/${deb//\~/%7E}"
dest="$cache/gloo-headers-${version//\~/-}"
link="$repo/.deps/gloo"

say() { printf 'setup-gloo: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
point_link_at() { mkdir -p "$repo/.deps" && ln -sfn "$1" "$link.tmp.$$" && mv -T "$link.tmp.$$" "$link"; }

if [ -f "$dest/.iap-complete" ]; then
  point_link_at "$dest"
  say "cached at $dest"
  exit 0
fi
mkdir -p "$cache"
work=$(mktemp -d "$cache/.gloo.XXXXXX")
trap 'rm -rf "$work"' EXIT
# apt first (it knows the machine's mirror and proxy), then the Debian archive directly.
(cd "$work" && apt-get download "libgloo-dev=$version" >/dev/null 2>&1) || true
if [ ! -f "$work/$deb" ]; then
  say "downloading $deb from deb.debian.org"
  python3 - "$url" "$work/$deb" <<'PY' || die "could not download $url (no network?); run 'make setup' again when it is reachable."
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=60) as r, open(sys.argv[2], "wb") as f:
    f.write(r.read())
PY
fi
got=$(sha256sum "$work/$deb" | cut -d' ' -f1)
[ "$got" = "$sum" ] || die "sha256 mismatch for $deb (expected $sum, got $got)."
command -v dpkg-deb >/dev/null || die "dpkg-deb is missing (Debian/Ubuntu's dpkg package) to unpack $deb."
dpkg-deb -x "$work/$deb" "$work/x"
[ -f "$work/x/usr/include/gloo/config.h" ] || die "$deb holds no usr/include/gloo/config.h."
mkdir -p "$work/out/include"
mv "$work/x/usr/include/gloo" "$work/out/include/gloo"
touch "$work/out/.iap-complete"
rm -rf "$dest"
mv "$work/out" "$dest"
point_link_at "$dest"
say "ready at $dest"
