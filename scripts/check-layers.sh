#!/usr/bin/env bash
# Prints which target imports which (our targets only) and fails when a layer imports one
# above it, or a pure target (no libtorch) imports the tensor side. Run by `make test`.
set -euo pipefail
cd "$(dirname "$0")/../Sources"
ours=$(ls -d */ | tr -d / | tr '\n' ' ')
# Rank: a target may import only targets of a lower rank.
declare -A rank=([FileIO]=0 [JSONFiles]=1 [SafeTensors]=1 [Hub]=1 [Parquet]=1 [ModelStore]=2 [CTorch]=0 [OpenAIWire]=0 [ModelFormats]=2 [Torch]=2
  [Transformers]=3 [LaMPQACore]=3 [IAPCore]=4 [LaMPQA]=4 [IAP]=5 [Serving]=5 [CommandSupport]=6 [iap]=7 [iap-bench]=7 [iap-gpu-check]=7)
pure="FileIO JSONFiles SafeTensors Hub Parquet ModelStore ModelFormats OpenAIWire LaMPQACore IAPCore"
torch="CTorch Torch Transformers LaMPQA IAP Serving"
status=0
for target in $ours; do
  imports=$( (grep -rhoE "^(@testable )?import [A-Za-z]+" "$target" || true) | awk "{print \$NF}" | sort -u)
  mine=""
  for m in $imports; do
    [[ " $ours " == *" $m "* ]] || continue
    mine+="$m "
    if [ "${rank[$m]:-9}" -ge "${rank[$target]:-9}" ] && [ "$m" != "$target" ]; then
      echo "layer error: $target imports $m (same or higher layer)"; status=1
    fi
    if [[ " $pure " == *" $target "* && " $torch " == *" $m "* ]]; then
      echo "layer error: $target must build without libtorch but imports $m"; status=1
    fi
  done
  printf '%-14s → %s\n' "$target" "${mine:-(none)}"
done
exit $status
