#!/usr/bin/env bash
# Load a run's report.html in headless Chromium (installing Debian's
# chromium if missing), fail on console errors or an empty page, on a table
# wider than its container at 1400 or 390 px, on a missing warning or on a
# heading alone at an A4 page's foot; save screenshots and the PDF beside it.
#   scripts/check-report.sh [OUT_DIR]   (default: out/sample)
# OUT_DIR may also be a comparison folder: its comparison.html is loaded,
# must show the figures side by side and the map, and is screenshot.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/sample}
page="$(cd "$out" && pwd)/report.html"
if [ -f "$out/comparison.html" ]; then page="$(cd "$out" && pwd)/comparison.html"; fi
[ -f "$page" ] || { echo "no $page: run greenhalo first (scripts/demo.sh)" >&2; exit 1; }
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
profile=$(mktemp -d)
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --user-data-dir="$profile" --enable-logging=stderr --v=0)
dom=$(chromium "${flags[@]}" --dump-dom "file://$page" 2>"$profile/log.txt")
if [[ "$page" == */comparison.html ]]; then
  chromium "${flags[@]}" --window-size=1200,2400 --screenshot="$out/comparison.png" "file://$page" 2>>"$profile/log.txt" >/dev/null
  if grep -E "Uncaught|CONSOLE\(.*(error|Error)" "$profile/log.txt"; then
    echo "comparison.html logged errors in Chromium" >&2; exit 1
  fi
  [[ "$dom" == *"Return multiple"* ]] || { echo "comparison.html has no headline figures" >&2; exit 1; }
  [[ "$dom" == *"map of the differences"* ]] || { echo "comparison.html has no map of the differences" >&2; exit 1; }
  rm -rf "$profile"
  echo "comparison.html opens in Chromium: figures side by side and the map, no console errors; screenshot $out/comparison.png"
  exit
fi
chromium "${flags[@]}" --window-size=1200,2400 --screenshot="$out/report.png" "file://$page" 2>>"$profile/log.txt" >/dev/null
if grep -E "Uncaught|CONSOLE\(.*(error|Error)" "$profile/log.txt"; then
  echo "report.html logged errors in Chromium" >&2; exit 1
fi
svgs=$(printf '%s' "$dom" | grep -o "<svg" | wc -l)
[ "$svgs" -ge 5 ] || { echo "report.html shows $svgs charts, expected at least 5" >&2; exit 1; }
[[ "$dom" == *"Return multiple"* ]] || { echo "report.html has no headline figures" >&2; exit 1; }
echo "report.html opens in Chromium: $svgs SVG charts, no console errors; screenshot $out/report.png"
rm -rf "$profile"
# What its readers see: no table wider than its container at 1400 px and on
# a phone, every warning of the run, no heading alone at an A4 page's foot.
[ -x .venv/bin/python ] && .venv/bin/python -c "import pypdf" 2>/dev/null || bash scripts/setup.sh >/dev/null
.venv/bin/python scripts/check_report.py "$out"
