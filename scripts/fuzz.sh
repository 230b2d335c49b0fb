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
# The HiGHS the tests' build compiled (newest first), if there is one: the
# fuzz build links it instead of compiling HiGHS's C++ a second time. The
# same highs-sys version builds both (both lock files say so).
pc=$(ls -t target/debug/build/highs-sys-*/out/lib/pkgconfig/highs.pc 2>/dev/null | head -1 || true)
if [ -n "$pc" ] && [ -f "$(dirname "$pc")/../libhighs.a" ]; then
    export PKG_CONFIG_PATH="$PWD/$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
    echo "fuzz: HiGHS from the tests' build ($(dirname "$(dirname "$(dirname "$pc")")"))"
fi
log=target/fuzz-landscape_file.log
status=0
# 16 codegen units (cargo-fuzz's default is 1 with -O): the instrumented
# build from cold and 20 s of fuzzing took 6.8 min with 1 and 5.3 with 16 on 2 cores, with the
# same executions a second.
cargo fuzz run --fuzz-dir tests/fuzz --target-dir target/fuzz -s none -O --codegen-units 16 \
    landscape_file target/fuzz-corpus tests/fuzz/corpus/landscape_file -- \
    -max_total_time="$SECONDS_TO_RUN" -max_len=16384 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1 || status=$?
grep -E "INITED|DONE|stat::number_of_executed_units|==[0-9]+==|SUMMARY|panicked" "$log" || true
if [ "$status" -ne 0 ]; then
    tail -40 "$log"
    echo "fuzz: failed (exit $status); the crashing input is in tests/fuzz/artifacts" >&2
fi
exit "$status"
