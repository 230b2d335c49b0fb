#!/usr/bin/env bash
# Re-make data/alto_mayo from the real public layers in
# ../shared/data/alto_mayo_real (copied as published) plus synthetic rasters
# and parcels (scripts/make_alto_mayo.py, fixed seed).
#   scripts/make-alto-mayo.sh [OUT_DIR] [RESOLUTION_M]   (default data/alto_mayo, 100)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-data/alto_mayo}
res=${2:-100}
real=${GREENHALO_REAL_DATA:-../shared/data/alto_mayo_real}
[ -d "$real" ] || { echo "no $real: the real Alto Mayo layers are needed" >&2; exit 1; }
bash scripts/setup.sh
mkdir -p "$out"
for f in aoi.geojson provincial_capitals.geojson roads_departamental.geojson roads_vecinal.geojson \
         areas_conservacion.gpkg dem_srtm_30s.tif; do
  install -m 644 "$real/$f" "$out/$f"
done
.venv/bin/python scripts/make_alto_mayo.py "$out" "$res"
