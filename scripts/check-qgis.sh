#!/usr/bin/env bash
# Open the QGIS project of a run headless and check every layer is valid and
# styled, then render it to PNG. Installs QGIS's Python bindings if missing.
#   scripts/check-qgis.sh [OUT_DIR]   (default: out/sample, made by scripts/demo.sh)
# OUT_DIR may also be a comparison folder (`greenhalo compare`, or a sweep's
# comparison/): its comparison.qgs is checked against the runs' own layers.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/sample}
if ! python3 -c "import qgis.core" 2>/dev/null && ! /usr/bin/python3 -c "import qgis.core" 2>/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends python3-qgis qgis-providers >/dev/null
fi
if [ -f "$out/comparison.qgs" ]; then
  QT_QPA_PLATFORM=offscreen /usr/bin/python3 scripts/check_qgis_comparison.py "$out/comparison.qgs" "$out/qgis_render.png"
  exit
fi
[ -f "$out/greenhalo.qgs" ] || { echo "no $out/greenhalo.qgs: run greenhalo first (scripts/demo.sh)" >&2; exit 1; }
# Debian's python3-qgis is built for Debian's python3.
QT_QPA_PLATFORM=offscreen /usr/bin/python3 scripts/check_qgis.py "$out/greenhalo.qgs" "$out/qgis_render.png"
