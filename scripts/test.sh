#!/usr/bin/env bash
# Install what is missing, then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Library, binary, integration tests and examples; benchmarks are for
# `cargo bench` / scripts/bench.sh (clippy still checks they compile).
cargo test --lib --bins --tests --examples --locked "$@"
cargo test --doc --locked
