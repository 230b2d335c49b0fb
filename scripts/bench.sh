#!/usr/bin/env bash
# Whole-command benchmarks: wall time, CPU time and peak RSS.
#   scripts/bench.sh            one table: `run` on data/sample, data/alto_mayo at 100 m and
#                               at 30 m (each stage's wall / CPU s and peak RSS), then
#                               cost-distance 4000² beside Whitebox Workflows and zonal-stats
#                               (20,000 polygons over 2000²) beside exactextract, same run
#                               (installs whitebox-workflows and fiona into .venv; the peer
#                               rows are left out without the .venv of scripts/setup.sh)
#   scripts/bench.sh runs       only the table's `run` rows
#   scripts/bench.sh peers      only the table's peer rows
#   scripts/bench.sh family     the family of landscapes (issue: no landscape-specific
#                               cliffs): the parcel stage alone over budgets and area
#                               targets (the budget binds, the area, both, neither) on
#                               data/alto_mayo and other parcel draws over the same real
#                               layers (5,000 to 40,000 parcels) and synth seeds and
#                               sizes (1,000 to 250,000 parcels); then whole runs of
#                               them all, with each stage's seconds per million cells
#                               and its spread across the family
#   scripts/bench.sh region [RES_M]
#                               a region-size synth landscape (250 x 200 km, 50,000 km²,
#                               a department like San Martín) run at RES_M (30 unless
#                               given): one row of wall, CPU, peak memory and stages
#   scripts/bench.sh sizes [N...]
#                               cost-distance on NxN rasters (1k, 4k and 10k unless given),
#                               and the roads stage on data/sample and a 1000x1000 synth
# Criterion benchmarks of the kernels: cargo bench
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: scripts/bench.sh [runs | peers | family | region [RES_M] | sizes [N...]]"
case "${1:-}" in
  "" | runs | peers | family | region | sizes) ;;
  *) echo "$usage" >&2; exit 2 ;;
esac
bash scripts/setup.sh
command -v /usr/bin/time >/dev/null 2>&1 || {
  if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
  "${sudo[@]}" apt-get install -y -qq time >/dev/null
}
cargo build --release --locked --bin greenhalo --example make_cost_raster --example parcel_family
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"

# One whole `run`: wall, CPU and peak RSS from /usr/bin/time, seconds per
# stage from the run log.
run_row() {
  local name=$1 toml=$2 out="$work/run_$3"
  /usr/bin/time -f "%e %U %S %M" -o "$work/t_$3.txt" ./target/release/greenhalo -q run "$toml" -o "$out" --force
  read -r wall user sys rss < "$work/t_$3.txt"
  # Each stage as "wall / CPU s, peak MB" (the halo's CPU time is in access's).
  stages=$(awk '/^per stage:/ {on=1; next}
    on && NF == 4 && $1 != "total" {
      sep = (n++ ? "; " : "")
      if ($3 == "-") printf "%s%s %s s (beside access)", sep, $1, $2
      else printf "%s%s %s / %s s, %s MB", sep, $1, $2, $3, $4 }
    on && NF != 4 {on=0}' "$out/run_log.txt")
  awk -v n="$name" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v st="$stages" 'BEGIN {
    printf "| %s | %.1f | %.1f | %.2f | %.0f | - | - | - | - | %s |\n", n, w, u + s, (u + s) / w, r / 1024, st }'
}
# The table's head: a `run` row has no peer (none does the whole
# pipeline) and its last column gives each stage; a peer row's gives the
# check of the two answers.
table_head() {
  echo "Wall and CPU seconds (all threads), peak resident memory; a stage's memory is the peak by its end."
  echo "Peer rows: each side's best of ${PEERS_REPEATS:-3} runs by wall time, with that run's CPU (and greenhalo's memory)."
  echo
  echo "| what | wall s | CPU s | cores | peak RSS MB | peer, same run | peer wall s | peer CPU s | peer / greenhalo | per stage (wall / CPU s, peak MB), or check |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
}
run_table() {
  run_row "data/sample" data/sample/landscape.toml sample
  if [ -f data/alto_mayo/landscape.toml ]; then
    run_row "data/alto_mayo 100 m" data/alto_mayo/landscape.toml am100
    # The 30 m variant: the same layers, the resolution of the forest-loss
    # data analysts use.
    mkdir -p "$work/am30"
    sed -e 's/^resolution_m = .*/resolution_m = 30.0/' \
      -e "s#\"\([A-Za-z_0-9.-]*\.\(geojson\|shp\|gpkg\|tif\)\)\"#\"$PWD/data/alto_mayo/\1\"#g" \
      data/alto_mayo/landscape.toml > "$work/am30/landscape.toml"
    run_row "data/alto_mayo 30 m" "$work/am30/landscape.toml" am30
  fi
}
# greenhalo and its peers in the same run (scripts/peers.py).
peer_table() {
  local py=.venv/bin/python
  [ -x "$py" ] || { echo "| peers | - | - | - | - | no .venv (scripts/setup.sh makes it): left out | - | - | - | - |"; return; }
  "$py" -c "import whitebox_workflows, fiona" 2>/dev/null || .venv/bin/pip install -q whitebox-workflows fiona >/dev/null 2>&1 || true
  mkdir -p "$work/4000"
  [ -f "$work/4000/cost_4000.tif" ] || ./target/release/examples/make_cost_raster 4000 "$work/4000" >/dev/null
  if "$py" -c "import whitebox_workflows" 2>/dev/null; then
    GREENHALO=target/release/greenhalo "$py" scripts/peers.py cost "$work" 4000
  else
    echo "| cost-distance 4000² | - | - | - | - | whitebox-workflows not installable here | - | - | - | - |"
  fi
  GREENHALO=target/release/greenhalo "$py" scripts/peers.py zonal "$work/zonal"
}
# The family: parcel draws over the real Alto Mayo layers (seed, count),
# the parcel stage over a grid of budgets and targets on each, then whole
# runs with per-stage seconds per million cells.
family_table() {
  local lands=()
  if [ -f data/alto_mayo/landscape.toml ] && [ -d "${GREENHALO_REAL_DATA:-../shared/data/alto_mayo_real}" ]; then
    lands+=(data/alto_mayo/landscape.toml)
    for draw in "1 25000" "2 25000" "3 5000" "4 40000"; do
      set -- $draw
      d="$work/am_p$1_$2"
      if [ ! -f "$d/parcels.shp" ]; then
        mkdir -p "$d"
        cp data/alto_mayo/{aoi.geojson,provincial_capitals.geojson,roads_departamental.geojson,roads_vecinal.geojson,areas_conservacion.gpkg,dem_srtm_30s.tif,landscape.toml} "$d/"
        .venv/bin/python scripts/make_alto_mayo.py "$d" 100 "$1" "$2" >/dev/null
      fi
      lands+=("$d/landscape.toml")
    done
  fi
  # Synth seeds and sizes (seed, km, parcel lattice spacing in m): the
  # last has about 250,000 parcels of 0.1 to 0.4 ha.
  for sz in "1 40,30 140,470" "2 60,50 140,470" "3 100,80 140,470" "5 150,120 30,70"; do
    set -- $sz
    d="$work/synth_$1"
    [ -f "$d/landscape.toml" ] || ./target/release/greenhalo -q synth --seed "$1" --size-km "$2" --parcel-spacing-m "$3" -o "$d"
    lands+=("$d/landscape.toml")
  done
  echo "The parcel stage alone (all its selection rounds), budgets US\$ M x area targets km²:"
  echo
  local first=1
  for l in "${lands[@]}"; do
    if [ $first = 1 ]; then ./target/release/examples/parcel_family "$l"; first=0
    else ./target/release/examples/parcel_family "$l" | tail -n +3; fi
  done
  echo
  echo "Whole runs:"
  echo
  table_head
  local k=0
  for l in "${lands[@]}"; do
    k=$((k + 1))
    run_row "$l" "$l" "fam$k"
  done
  echo
  .venv/bin/python - "$work" <<'PY'
import glob, json, os, statistics, sys
work = sys.argv[1]
rows = {}
for d in sorted(glob.glob(os.path.join(work, "run_fam*"))):
    cells = json.load(open(os.path.join(d, "summary.json")))["grid"]["cells"] / 1e6
    on = False
    for line in open(os.path.join(d, "run_log.txt")):
        if line.startswith("per stage:"):
            on = True
            continue
        f = line.split()
        if on and len(f) == 4 and f[0] != "total":
            rows.setdefault(f[0], []).append(float(f[1]) / cells)
        elif on and len(f) != 4:
            on = False
print("| stage | s per M cells: min | median | max | max / median |")
print("|---|---|---|---|---|")
for st, v in rows.items():
    m = statistics.median(v)
    print(f"| {st} | {min(v):.3f} | {m:.3f} | {max(v):.3f} | {max(v) / m if m > 0 else 0:.1f} |")
PY
}
# (the binary is built above with the example: building it alone again
# would unify the dependencies' features otherwise and recompile it)
# (the arguments were checked at the top)
if [ "${1:-}" = family ]; then
  family_table
  exit 0
fi
if [ "${1:-}" = region ]; then
  res=${2:-30}
  d="$work/region"
  # The synth's rasters at 100 m (warped to the run's grid like any input);
  # the run's grid at RES_M.
  [ -f "$d/landscape.toml" ] || ./target/release/greenhalo -q synth --seed 11 --size-km 250,200 --resolution 100 -o "$d"
  sed -e "s/^resolution_m = .*/resolution_m = $res/" "$d/landscape.toml" > "$d/landscape_$res.toml"
  table_head
  run_row "synth region 250x200 km at $res m" "$d/landscape_$res.toml" "region$res"
  exit 0
fi
if [ "${1:-}" != sizes ]; then
  table_head
  [ "${1:-}" = peers ] || run_table
  [ "${1:-}" = runs ] || peer_table
  exit 0
fi
shift
sizes=("$@")
# (pass sizes to limit the cost-distance runs; the roads runs always follow)
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 4000 10000)
echo "| command | cells | wall s | cells/s | peak RSS MB | bytes/cell |"
echo "|---|---|---|---|---|---|"
for n in "${sizes[@]}"; do
  d="$work/$n"
  [ -f "$d/cost_$n.tif" ] || ./target/release/examples/make_cost_raster "$n" "$d"
  /usr/bin/time -f "%e %M" -o "$d/time.txt" ./target/release/greenhalo -q cost-distance \
    --cost "$d/cost_$n.tif" --sources "$d/sources.gpkg" -o "$d/acc.tif"
  read -r wall rss < "$d/time.txt"
  cells=$((n * n))
  awk -v n="$n" -v c="$cells" -v w="$wall" -v r="$rss" 'BEGIN {
    printf "| cost-distance %dx%d | %d | %.2f | %.2fM | %.0f | %.1f |\n", n, n, c, w, c / w / 1e6, r / 1024, r * 1024 / c }'
done
out="$work/sample_out"
/usr/bin/time -f "%e %M" -o "$work/run_time.txt" ./target/release/greenhalo -q run data/sample/landscape.toml -o "$out"
read -r wall rss < "$work/run_time.txt"
echo "| run data/sample | - | $wall | - | $((rss / 1024)) | - |"

# Roads: every segment of data/sample, and of a 100 x 100 km synth landscape
# (1000 x 1000 cells) cut into short segments (at least 2,000).
/usr/bin/time -f "%e %M" -o "$work/roads_time.txt" ./target/release/greenhalo -q roads data/sample/landscape.toml -o "$work/roads_sample"
read -r wall rss < "$work/roads_time.txt"
n=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['roads']['segments'])" "$work/roads_sample/summary.json")
echo "| roads data/sample ($n segments) | - | $wall | - | $((rss / 1024)) | - |"
big="$work/big"
[ -f "$big/landscape.toml" ] || {
  ./target/release/greenhalo -q synth --seed 3 --size-km 100,100 --resolution 100 -o "$big"
  printf '\n[road_upgrades]\nmax_segment_km = 0.25\n' >> "$big/landscape.toml"
}
/usr/bin/time -f "%e %M" -o "$work/roads_big_time.txt" ./target/release/greenhalo -q roads "$big/landscape.toml" -o "$work/roads_big"
read -r wall rss < "$work/roads_big_time.txt"
n=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['roads']['segments'])" "$work/roads_big/summary.json")
echo "| roads synth 1000x1000 ($n segments) | 1000000 | $wall | - | $((rss / 1024)) | - |"
