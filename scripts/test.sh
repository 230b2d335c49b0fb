#!/usr/bin/env bash
# Install what is missing, then run the whole test suite: Rust unit,
# integration and doc tests, then the conformance suite against the
# reference tools (tests/conformance, in the project venv).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Library, binary, integration tests and examples; benchmarks are for
# `cargo bench` / scripts/bench.sh (clippy still checks they compile).
cargo test --lib --bins --tests --examples --locked "$@"
cargo test --doc --locked
GREENHALO=target/debug/greenhalo .venv/bin/python tests/conformance/run.py target/conformance
# The QGIS Processing provider through qgis_process, when QGIS is installed
# (.ci/run installs it and runs this check if it did not run here).
rm -f target/qgis-plugin-checked
if command -v qgis_process >/dev/null 2>&1; then
  bash scripts/check-qgis-plugin.sh target/debug/greenhalo
  touch target/qgis-plugin-checked
fi
