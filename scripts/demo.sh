#!/usr/bin/env bash
# Install what is missing, build in release, and run the whole pipeline on the
# landscapes in data/ (the synthetic sample, then the real Alto Mayo),
# writing out/sample and out/alto_mayo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --locked
# The quick synthetic sample, then the real Alto Mayo landscape (real AOI,
# roads, reserves and DEM; synthetic forest, population and parcels).
./target/release/greenhalo validate data/sample/landscape.toml
./target/release/greenhalo run data/sample/landscape.toml -o out/sample
./target/release/greenhalo validate data/alto_mayo/landscape.toml
./target/release/greenhalo run data/alto_mayo/landscape.toml -o out/alto_mayo
echo
echo "Outputs are in $(pwd)/out/sample and $(pwd)/out/alto_mayo:"
ls out/sample
echo "Open out/*/greenhalo.qgs in QGIS (every layer styled) and out/*/report.html in a browser; summary.json has every headline figure."
