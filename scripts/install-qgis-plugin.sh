#!/usr/bin/env bash
# Install greenhalo's QGIS Processing provider (scripts/qgis_plugin) into a
# QGIS profile and enable it, so the greenhalo algorithms appear in the
# Processing toolbox and in qgis_process.
#   scripts/install-qgis-plugin.sh [PROFILE_DIR]
# PROFILE_DIR defaults to the default profile of the user's QGIS 3
# (~/.local/share/QGIS/QGIS3/profiles/default). The plugin runs the greenhalo
# executable found on PATH, in $GREENHALO_BINARY, or set in Processing >
# Options > Providers > greenhalo (scripts/demo.sh builds target/release/greenhalo).
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${1:-${HOME}/.local/share/QGIS/QGIS3/profiles/default}
plugins="$profile/python/plugins"
mkdir -p "$plugins"
rm -rf "$plugins/greenhalo_processing"
cp -r scripts/qgis_plugin/greenhalo_processing "$plugins/"
find "$plugins/greenhalo_processing" -name __pycache__ -prune -exec rm -rf {} +
# Enabled in the profile's settings, as the Plugin Manager does.
ini="$profile/QGIS/QGIS3.ini"
mkdir -p "$(dirname "$ini")"
# (QGIS's own settings class, so the rest of the file is kept as QGIS wrote it)
/usr/bin/python3 - "$ini" <<'PY'
import sys
from qgis.PyQt.QtCore import QSettings
s = QSettings(sys.argv[1], QSettings.IniFormat)
s.setValue("PythonPlugins/greenhalo_processing", True)
s.sync()
PY
echo "installed the greenhalo Processing provider into $plugins/greenhalo_processing (enabled in $ini)"
