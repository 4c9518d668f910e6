#!/usr/bin/env bash
# Renders an `iap report` page in headless Chromium (Debian's chromium package, installed when
# missing and this runs as root) and writes a PNG, to check and look at what a reader sees.
#   bash scripts/report-screenshot.sh report.html [out.png] [height]
set -euo pipefail
html=${1:?usage: report-screenshot.sh REPORT.html [OUT.png] [HEIGHT]}
png=${2:-${html%.html}.png}
height=${3:-3000}
[ -f "$html" ] || { echo "report-screenshot: $html does not exist" >&2; exit 1; }
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y --no-install-recommends chromium fonts-dejavu-core >/dev/null \
      || { apt-get update >/dev/null && apt-get install -y --no-install-recommends chromium fonts-dejavu-core >/dev/null; }
  else
    echo "report-screenshot: chromium is not installed (sudo apt-get install chromium)" >&2; exit 1
  fi
fi
abs=$(cd "$(dirname "$html")" && pwd)/$(basename "$html")
# No network: the page must render from the file alone.
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --proxy-server=127.0.0.1:9 \
  --window-size=1360,"$height" --screenshot="$png" "file://$abs" 2>/dev/null
[ -s "$png" ] || { echo "report-screenshot: chromium wrote no image" >&2; exit 1; }
echo "wrote $png"
