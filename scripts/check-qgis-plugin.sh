#!/usr/bin/env bash
# The QGIS Processing provider, headless, as a script user drives it through
# qgis_process (installs Debian's qgis if qgis_process is missing):
#   - `qgis_process list` shows the six greenhalo algorithms;
#   - "Zonal statistics (exact)" and "Cost distance" write the same files as
#     the command line;
#   - "Plan a landscape" on data/sample's layers picked one by one (no
#     landscape file) gives the same summary.json figures as `greenhalo run`
#     on data/sample/landscape.toml;
#   - "Validate a landscape" counts the sample's warning; a form missing a
#     required layer fails with greenhalo's words for it.
#   scripts/check-qgis-plugin.sh [GREENHALO_BINARY]   (default: target/debug/greenhalo)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-target/debug/greenhalo}")
[ -x "$bin" ] || { echo "no greenhalo executable at $bin: build it first" >&2; exit 1; }
if ! command -v qgis_process >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends qgis python3-qgis qgis-providers >/dev/null
fi
# Debian 12's qgis_process wrapper passes --noversioncheck, which its
# qgis_process.bin does not know ("Command --noversioncheck not known!"):
# use the wrapper when it works, the program itself otherwise.
qp=(qgis_process)
if ! QT_QPA_PLATFORM=offscreen qgis_process --version >/dev/null 2>&1; then
  qp=(/usr/bin/qgis_process.bin)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A profile of its own: the user's QGIS settings are never touched.
export QGIS_CUSTOM_CONFIG_PATH="$work/config" QT_QPA_PLATFORM=offscreen
export GREENHALO_BINARY="$bin" XDG_RUNTIME_DIR="$work/runtime"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
bash scripts/install-qgis-plugin.sh "$work/config/profiles/default" >/dev/null
qgis() { "${qp[@]}" "$@" 2> >(grep -v "setapi\|QStandardPaths" >&2); }

list=$(qgis list)
for alg in plan roads validate costdistance zonalstatistics batch; do
  grep -q "greenhalo:$alg" <<<"$list" || { echo "qgis_process list: no greenhalo:$alg" >&2; exit 1; }
done
echo "qgis_process list: the six greenhalo algorithms"

s=$(realpath data/sample)
# Zonal statistics: the same CSV as the command line, byte for byte.
qgis run greenhalo:zonalstatistics -- POLYGONS=$s/parcels.geojson RASTER=$s/forest.tif \
  OUTPUT="$work/zonal_qgis.csv" >"$work/zonal.log"
"$bin" -q zonal-stats --polygons $s/parcels.geojson --raster $s/forest.tif -o "$work/zonal_cli.csv"
cmp "$work/zonal_qgis.csv" "$work/zonal_cli.csv" || { echo "zonal statistics differ from the CLI's" >&2; exit 1; }
echo "Zonal statistics (exact): $(($(wc -l <"$work/zonal_cli.csv") - 1)) polygons, the same file as the CLI"
# With a weighting raster (the raster itself: the same grid) and frac.
qgis run greenhalo:zonalstatistics -- POLYGONS=$s/parcels.geojson RASTER=$s/forest.tif \
  WEIGHTS=$s/forest.tif STATS=12 DEFAULT_WEIGHT=0 OUTPUT="$work/zonalw_qgis.csv" >"$work/zonalw.log"
"$bin" -q zonal-stats --polygons $s/parcels.geojson --raster $s/forest.tif --weights $s/forest.tif \
  --stats weighted_mean --default-weight 0 -o "$work/zonalw_cli.csv"
cmp "$work/zonalw_qgis.csv" "$work/zonalw_cli.csv" || { echo "weighted zonal statistics differ from the CLI's" >&2; exit 1; }
echo "Zonal statistics, weighted_mean with a weighting raster: the same file as the CLI"

# Cost distance: the same GeoTIFF as the command line.
qgis run greenhalo:costdistance -- COST=$s/dem.tif SOURCES=$s/markets.shp \
  OUTPUT="$work/cost_qgis.tif" >"$work/cost.log"
"$bin" -q cost-distance --cost $s/dem.tif --sources $s/markets.shp -o "$work/cost_cli.tif"
cmp "$work/cost_qgis.tif" "$work/cost_cli.tif" || { echo "cost distance differs from the CLI's" >&2; exit 1; }
echo "Cost distance: the same GeoTIFF as the CLI ($(stat -c %s "$work/cost_cli.tif") bytes)"
qgis run greenhalo:costdistance -- COST=$s/dem.tif SOURCES=$s/markets.shp TYPE=1 \
  OUTPUT="$work/cost64_qgis.tif" >"$work/cost64.log"
"$bin" -q cost-distance --cost $s/dem.tif --sources $s/markets.shp --type Float64 -o "$work/cost64_cli.tif"
cmp "$work/cost64_qgis.tif" "$work/cost64_cli.tif" || { echo "cost distance (Float64) differs from the CLI's" >&2; exit 1; }
echo "Cost distance, Float64: the same GeoTIFF as the CLI ($(stat -c %s "$work/cost64_cli.tif") bytes)"

# Plan a landscape from the layers picked one by one, as the form does.
qgis run greenhalo:plan -- NAME="picked in QGIS" SEED=7 RESOLUTION=100 \
  AOI=$s/aoi.geojson "ROADS=$s/roads.gpkg|layername=red_vial" ROAD_CLASS_FIELD=clase \
  ROAD_SURFACE_FIELD=superficie ROAD_AADT_FIELD=imd \
  "ROAD_CLASS_VALUES=nacional=primary, departamental=secondary, vecinal=tertiary, trocha=track" \
  MARKETS=$s/markets.shp MARKET_NAME_FIELD=name MARKET_WEIGHT_FIELD=population \
  PARCELS=$s/parcels.geojson PARCEL_ID_FIELD=parcela_id PARCEL_USE_FIELD=uso \
  "PARCEL_USE_VALUES=pasto=pasture, pasto_degradado=degraded_pasture, cultivo_anual=annual_crops, cafe=coffee, cacao=cocoa" \
  CONSERVATION=$s/conservation.fgb CONSERVATION_NAME_FIELD=nombre CONSERVATION_CATEGORY_FIELD=categoria \
  FOREST=$s/forest.tif ELEVATION=$s/dem.tif FOREST_LOSS=$s/forest_loss.tif \
  POPULATION=$s/population.tif LANDCOVER=$s/landcover.tif OUTPUT="$work/plan" >"$work/plan.log"
[ -f "$work/plan.landscape.toml" ] || { echo "Plan a landscape wrote no landscape file beside its output" >&2; exit 1; }
"$bin" -q run $s/landscape.toml -o "$work/cli"
/usr/bin/python3 - "$work/plan/summary.json" "$work/cli/summary.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
# What differs by nature: where and when it ran, what the files are called.
SKIP = {"landscape", "seconds", "stages", "inputs_hash", "layers_hash", "run", "version", "files", "started"}
diffs, n = [], 0
def walk(x, y, path):
    global n
    if isinstance(x, dict):
        for k in set(x) | set(y):
            if k in SKIP:
                continue
            if k not in x or k not in y:
                diffs.append(f"{path}.{k}: only in one")
                continue
            walk(x[k], y[k], f"{path}.{k}")
    elif isinstance(x, list):
        if len(x) != len(y):
            diffs.append(f"{path}: {len(x)} vs {len(y)} items")
        for i, (p, q) in enumerate(zip(x, y)):
            walk(p, q, f"{path}[{i}]")
    elif isinstance(x, (int, float)) and not isinstance(x, bool):
        n += 1
        if x != y:
            diffs.append(f"{path}: {x} vs {y}")
walk(a, b, "")
if diffs:
    sys.exit("Plan a landscape differs from greenhalo run:\n" + "\n".join(diffs[:20]))
print(f"Plan a landscape from picked layers: {n} summary.json figures equal to greenhalo run's "
      f"(return multiple {a['finance']['return_multiple']:.3f}, {len(a['roads']['portfolio']['segments'])} roads funded)")
PY

# Appraise roads: the same roads.csv as `greenhalo roads`.
qgis run greenhalo:roads -- LANDSCAPE=$s/landscape.toml OUTPUT="$work/roads_qgis" >"$work/roads.log"
"$bin" -q roads $s/landscape.toml -o "$work/roads_cli"
cmp "$work/roads_qgis/roads.csv" "$work/roads_cli/roads.csv" || { echo "Appraise roads differs from greenhalo roads" >&2; exit 1; }
echo "Appraise roads: the same roads.csv as greenhalo roads ($(($(wc -l <"$work/roads_cli/roads.csv") - 1)) segments)"

# Batch: two small landscapes, one broken; the table says so.
"$bin" -q synth --size-km 12,10 --resolution 200 -o "$work/lands/small"
mkdir -p "$work/lands/broken" && printf 'name = "broken"\n[layers]\naoi = "nowhere.geojson"\n' >"$work/lands/broken/landscape.toml"
qgis run greenhalo:batch --json -- LANDSCAPES="$work/lands" OUTPUT="$work/batch" >"$work/batch.json"
/usr/bin/python3 - "$work/batch.json" "$work/batch/batch_summary.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
t = json.load(open(sys.argv[2]))
assert r["FAILED"] == 1 and t["ok"] == 1 and t["failed"] == 1, (r, t)
print(f"Batch: {t['ok']} landscape ok, {t['failed']} failed and listed, as batch_summary.json says")
PY

# Validate: the sample's one warning counted; a missing layer named.
qgis run greenhalo:validate --json -- LANDSCAPE=$s/landscape.toml >"$work/validate.json"
/usr/bin/python3 - "$work/validate.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
assert r["ERRORS"] == 0 and r["WARNINGS"] == 1, r
print(f"Validate a landscape: {r['ERRORS']} errors, {r['WARNINGS']} warning, as greenhalo validate says")
PY
if qgis run greenhalo:plan -- AOI=$s/aoi.geojson OUTPUT="$work/missing" >"$work/missing.log" 2>&1; then
  echo "Plan a landscape ran without its road layer" >&2; exit 1
fi
grep -q "Road network" "$work/missing.log" || { cat "$work/missing.log" >&2; echo "the missing layer is not named" >&2; exit 1; }
echo "a form without its required layers fails, naming them"

# Cancelling in QGIS stops greenhalo: the algorithm ends as cancelled, no
# output folder and no staging folder are left (a run on Alto Mayo, long
# enough to be cancelled mid-way, from PyQGIS as the dialog's Cancel does).
mkdir -p "$work/cancel"
/usr/bin/python3 - "$work/config/profiles/default/python/plugins" "$(realpath data/alto_mayo/landscape.toml)" "$work/cancel/out" <<'PY'
import os, sys, threading, time
sys.path.insert(0, sys.argv[1])
from qgis.core import QgsApplication, QgsProcessingContext, QgsProcessingException, QgsProcessingFeedback
QgsApplication.setPrefixPath("/usr", True)
app = QgsApplication([], False)
app.initQgis()
sys.path.insert(0, "/usr/share/qgis/python/plugins")
from processing.core.Processing import Processing
Processing.initialize()
from greenhalo_processing.provider import GreenhaloProvider
provider = GreenhaloProvider()
QgsApplication.processingRegistry().addProvider(provider)
alg = QgsApplication.processingRegistry().createAlgorithmById("greenhalo:plan")
# Loaded into the project as the run's greenhalo.qgs lays it out: the same
# groups and layers, each valid and styled (a renderer of the .qml's kind).
import xml.etree.ElementTree as ET
from qgis.core import QgsProject
sample = os.path.join(os.path.dirname(sys.argv[2]), "..", "sample", "landscape.toml")
loaded = os.path.join(os.path.dirname(sys.argv[3]), "loaded")
context = QgsProcessingContext()
context.setProject(QgsProject.instance())
res, ok = alg.run({"LANDSCAPE": os.path.abspath(sample), "OUTPUT": loaded}, context, QgsProcessingFeedback(), {}, False)
assert ok, res
want = [(g.get("name"), n.get("name")) for g in ET.parse(os.path.join(loaded, "greenhalo.qgs")).getroot().iter("layer-tree-group")
        if g.get("name") for n in g.findall("layer-tree-layer")]
top = QgsProject.instance().layerTreeRoot().children()[0]
got = [(n.parent().name(), n.name()) for n in top.findLayers()]
assert got == want, (got, want)
for n in top.findLayers():
    lyr = n.layer()
    assert lyr is not None and lyr.isValid(), n.name()
    kind = lyr.renderer().type()
    qml = os.path.splitext(lyr.source().split("|")[0])[0] + ".qml"
    assert ET.parse(qml).getroot().find(".//renderer-v2") is None or ET.parse(qml).getroot().find(".//renderer-v2").get("type") == kind, (n.name(), kind)
assert QgsProject.instance().crs().authid() == "EPSG:32718", QgsProject.instance().crs().authid()
print(f"Plan a landscape loaded {len(got)} layers into the project in greenhalo.qgs's groups, each valid and styled, in EPSG:32718")
import shutil
shutil.rmtree(loaded)
steps = []
class Feedback(QgsProcessingFeedback):
    def setProgressText(self, text):
        steps.append(text)
        super().setProgressText(text)
feedback = Feedback()
threading.Timer(4.0, feedback.cancel).start()
t0 = time.time()
try:
    alg.run({"LANDSCAPE": sys.argv[2], "OUTPUT": sys.argv[3], "LOAD": False}, QgsProcessingContext(), feedback, {}, False)
    sys.exit("the run was not cancelled")
except QgsProcessingException as e:
    said = str(e)
left = os.listdir(os.path.dirname(sys.argv[3]))
assert "cancelled" in said, said
assert not left, f"left behind after the cancel: {left}"
assert steps, "no progress reached the feedback"
print(f"cancelled after {time.time() - t0:.1f} s (steps seen: {', '.join(dict.fromkeys(steps))}); nothing left in the output's folder")
PY
