#!/usr/bin/env bash
# Tokenizer throughput as the input grows (issue 18 item 15): one text of 1, 4 and 16 MB
# encoded in a single call, WordPiece (all-MiniLM-L6-v2) and byte-level BPE (SmolLM2) on the
# same text in the same run. Linear tokenizers keep their MB/s as the size grows; the last
# line gives each model's 16 MB / 1 MB throughput ratio (1.0 = linear; quadratic gives ~1/16).
#
#   bash scripts/bench-wordpiece-scale.sh
set -euo pipefail
cd "$(dirname "$0")/.."
make -s build build-bench >/dev/null
./.build/release/iap models pull smollm2-135m-instruct all-minilm-l6-v2 >/dev/null
text=$(mktemp)
trap 'rm -f "$text" "$text.out"' EXIT
# English prose with accents, CJK, upper case and control characters, from the repo's docs.
{ cat README.md docs/*.md; printf 'Café NAÏVE résumé — Ångström. 北京大学 東京. Straße\tﬁn\n'; } > "$text"
for model in all-minilm-l6-v2 smollm2-135m-instruct; do
  for mb in 1 4 16; do
    ./.build/release/iap-bench tokenize --model "$model" --file "$text" --repeat-to-mb "$mb" --whole --rounds 1
  done
done | tee "$text.out"
python3 - "$text.out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
for model in dict.fromkeys(r["model"] for r in rows):
    mine = sorted((r for r in rows if r["model"] == model), key=lambda r: r["megabytes"])
    print(f"{model}: MB/s " + ", ".join(f'{r["megabytes"]} MB {r["mb_per_s"]}' for r in mine)
          + f"; 16 MB / 1 MB throughput ratio {mine[-1]['mb_per_s'] / mine[0]['mb_per_s']:.2f}")
PY
