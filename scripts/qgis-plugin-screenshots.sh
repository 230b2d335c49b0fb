#!/usr/bin/env bash
# Screenshots of the QGIS plugin in QGIS Desktop under Xvfb (for the README
# and a look by eye): the "Plan a landscape" dialog with data/sample's
# layers picked, and QGIS's window with the run's outputs loaded styled.
# Installs Debian's qgis and xvfb if missing.
#   scripts/qgis-plugin-screenshots.sh OUT_DIR [GREENHALO_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mkdir -p "$1" && realpath "$1")
bin=$(realpath "${2:-target/debug/greenhalo}")
if ! command -v qgis >/dev/null 2>&1 || ! command -v xvfb-run >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends qgis xvfb xauth >/dev/null
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export QGIS_CUSTOM_CONFIG_PATH="$work/config" GREENHALO_BINARY="$bin"
export GREENHALO_SHOTS="$out" GREENHALO_SAMPLE="$(realpath data/sample)"
export XDG_RUNTIME_DIR="$work/runtime"; mkdir -p "$XDG_RUNTIME_DIR"; chmod 700 "$XDG_RUNTIME_DIR"
bash scripts/install-qgis-plugin.sh "$work/config/profiles/default" >/dev/null
rm -rf "$out/plan" "$out/plan.landscape.toml"
# (no tips or welcome page on a fresh profile)
/usr/bin/python3 - "$work/config/profiles/default/QGIS/QGIS3.ini" <<'PY'
import sys
from qgis.PyQt.QtCore import QSettings
s = QSettings(sys.argv[1], QSettings.IniFormat)
for k, v in {"qgis/showTips322": False, "qgis/checkVersion": False,
             "qgis/allowVersionCheck": False, "core/Migration/settings": True,
             "qgis/projOpenAtLaunch": 0}.items():
    s.setValue(k, v)
s.sync()
PY
timeout 300 xvfb-run -a -s "-screen 0 1600x1000x24" qgis --nologo --noversioncheck \
  --code "$(realpath scripts/qgis_plugin_screenshots.py)" >"$work/qgis.log" 2>&1 || true
cat "$out/screenshots.log" 2>/dev/null || true
for f in qgis_plugin_dialog.png qgis_plugin_result.png; do
  [ -s "$out/$f" ] || { tail -20 "$work/qgis.log" >&2; echo "no $out/$f" >&2; exit 1; }
done
echo "screenshots in $out: qgis_plugin_dialog.png, qgis_plugin_result.png"
