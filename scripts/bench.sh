#!/usr/bin/env bash
# Whole-command benchmarks with /usr/bin/time: wall time and peak RSS.
#   scripts/bench.sh            cost-distance on 1k, 4k and 10k square rasters, and run on data/sample
#   scripts/bench.sh 1000 4000  only those sizes
# Criterion benchmarks of the kernels: cargo bench
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
command -v /usr/bin/time >/dev/null 2>&1 || {
  if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
  "${sudo[@]}" apt-get install -y -qq time >/dev/null
}
cargo build --release --locked --bin greenhalo --example make_cost_raster
sizes=("$@")
# (pass sizes to limit the cost-distance runs; the roads runs always follow)
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 4000 10000)
work=${BENCH_DIR:-$(mktemp -d)}
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
