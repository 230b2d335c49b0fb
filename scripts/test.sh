#!/usr/bin/env bash
# Install what is missing, then run the whole test suite: Rust unit,
# integration and doc tests, then the conformance suite against the
# reference tools (tests/conformance, in the project venv).
set -euo pipefail
cd "$(dirname "$0")/.."
# Each stage's seconds, said at the end (pass or fail).
t0=$SECONDS
timings=()
step() {
  local name=$1 s=$SECONDS
  shift
  "$@"
  timings+=("$(printf '%6d s  %s' $((SECONDS - s)) "$name")")
}
said() {
  printf 'test.sh: %s\n' "${timings[@]}" >&2
  echo "test.sh: $((SECONDS - t0)) s in all" >&2
}
trap said EXIT
step "setup" bash scripts/setup.sh
# Library, binary, integration tests and examples; benchmarks are for
# `cargo bench` / scripts/bench.sh (clippy still checks they compile).
# Built first, then run: the build's time and the tests' are said apart.
step "build the tests" cargo test --lib --bins --tests --examples --locked --no-run "$@"
step "Rust tests" cargo test --lib --bins --tests --examples --locked "$@"
step "doc tests" cargo test --doc --locked
step "conformance" env GREENHALO=target/debug/greenhalo .venv/bin/python tests/conformance/run.py target/conformance
# The QGIS Processing provider through qgis_process, when QGIS is installed
# (.ci/run installs it and runs this check if it did not run here).
rm -f target/qgis-plugin-checked
if command -v qgis_process >/dev/null 2>&1; then
  step "QGIS plugin" bash scripts/check-qgis-plugin.sh target/debug/greenhalo
  touch target/qgis-plugin-checked
fi
