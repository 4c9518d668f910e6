#!/usr/bin/env bash
# Runs the built test suite with its temporary files in a folder of its own, removed when the
# run ends however it ends: the training tests write checkpoints of real models (a data-parallel
# test leaves ~3 GB), which left in /tmp filled a 250 GB disk over a few dozen runs. Test code
# and the iap processes it starts take their temporary folders from $TMPDIR.
set -euo pipefail
swift=${1:-swift}
scratch=$(mktemp -d "${TMPDIR:-/tmp}/iap-tests.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
TMPDIR="$scratch" "$swift" test --skip-build --no-parallel
