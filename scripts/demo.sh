#!/usr/bin/env bash
# Install what is missing, build in release, and run the whole pipeline on the
# sample landscape in data/sample, writing out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --locked
./target/release/greenhalo validate data/sample/landscape.toml
./target/release/greenhalo run data/sample/landscape.toml -o out
echo
echo "Outputs are in $(pwd)/out:"
ls out
echo "Open out/greenhalo.qgs in QGIS (every layer styled) and out/report.html in a browser; summary.json has every headline figure."
