#!/usr/bin/env bash
# Fuzz the landscape-file parser and settings validator with cargo-fuzz
# (libFuzzer) for SECONDS (default 60), starting from the seed corpus in
# tests/fuzz/corpus (the init template, the sample and Alto Mayo files, a
# run record). New inputs go to target/fuzz-corpus, never into the committed
# seeds; a crash is saved under tests/fuzz/artifacts and fails the script.
# Runs on the stable toolchain (no sanitizer: -s none).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN="${1:-60}"
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --version 0.13.2 --locked
fi
mkdir -p target/fuzz-corpus
log=target/fuzz-landscape_file.log
status=0
cargo fuzz run --fuzz-dir tests/fuzz --target-dir target/fuzz -s none -O \
    landscape_file target/fuzz-corpus tests/fuzz/corpus/landscape_file -- \
    -max_total_time="$SECONDS_TO_RUN" -max_len=16384 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1 || status=$?
grep -E "INITED|DONE|stat::number_of_executed_units|==[0-9]+==|SUMMARY|panicked" "$log" || true
if [ "$status" -ne 0 ]; then
    tail -40 "$log"
    echo "fuzz: failed (exit $status); the crashing input is in tests/fuzz/artifacts" >&2
fi
exit "$status"
