#!/usr/bin/env bash
# tests/fuzz/run.sh - the bounded libFuzzer campaign behind `make fuzz`.
#
# For every target build/fuzz/fuzz_<x> (built by `make MODE=fuzz CC=clang
# fuzz-bins`): run it for $FUZZ_SECONDS seconds with -max_len=65536, the
# dictionary tests/fuzz/<x>.dict (or the one named after <x>'s first word,
# e.g. hl7.dict for hl7_parse), the checked-in seeds tests/fuzz/corpus/<x>/
# (read only) and a working corpus under $BUILD (kept between runs). Crash,
# leak and timeout inputs land in tests/fuzz/crashes/; minimize them
# (-minimize_crash=1) and add them to the seed corpus once fixed.
# Exits non-zero when any target crashed. FUZZ_JOBS>1 runs parallel jobs.
set -euo pipefail

cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build/fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_JOBS=${FUZZ_JOBS:-1}
CRASHES=tests/fuzz/crashes
mkdir -p "$CRASHES"

shopt -s nullglob
targets=()
for f in "$BUILD"/fuzz/fuzz_*; do
    [ -f "$f" ] && [ -x "$f" ] && targets+=("$f")
done
if [ ${#targets[@]} -eq 0 ]; then
    echo "fuzz: no targets in $BUILD/fuzz (run: make MODE=fuzz CC=clang fuzz-bins)" >&2
    exit 1
fi

failed=0
for bin in "${targets[@]}"; do
    name=$(basename "$bin")
    short=${name#fuzz_}
    seeds=tests/fuzz/corpus/$short
    work=$BUILD/fuzz/corpus-$short
    mkdir -p "$seeds" "$work"
    dict=()
    if [ -f "tests/fuzz/$short.dict" ]; then
        dict=(-dict="tests/fuzz/$short.dict")
    elif [ -f "tests/fuzz/${short%%_*}.dict" ]; then
        dict=(-dict="tests/fuzz/${short%%_*}.dict")
    fi
    jobs=()
    if [ "$FUZZ_JOBS" -gt 1 ]; then
        jobs=(-jobs="$FUZZ_JOBS" -workers="$FUZZ_JOBS")
    fi
    before=$(ls "$CRASHES" | wc -l)
    echo "fuzz: $name for ${FUZZ_SECONDS}s (seeds $seeds, ${dict[*]:-no dict})"
    rc=0
    "$bin" -max_total_time="$FUZZ_SECONDS" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$CRASHES/$name-" "${dict[@]}" "${jobs[@]}" \
        "$work" "$seeds" >"$BUILD/fuzz/$name.log.txt" 2>&1 || rc=$?
    after=$(ls "$CRASHES" | wc -l)
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs)' \
        "$BUILD/fuzz/$name.log.txt" | sed "s/^/fuzz: $name: /" || true
    if [ "$rc" -ne 0 ] || [ "$after" -gt "$before" ]; then
        echo "fuzz: $name FAILED (exit $rc, $((after - before)) new file(s) in $CRASHES);" \
            "log: $BUILD/fuzz/$name.log.txt" >&2
        tail -n 40 "$BUILD/fuzz/$name.log.txt" >&2
        failed=$((failed + 1))
    else
        echo "fuzz: $name ok"
    fi
done
echo "fuzz: $((${#targets[@]} - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
