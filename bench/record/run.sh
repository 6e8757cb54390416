#!/usr/bin/env bash
# bench/record/run.sh - builds and runs the record benchmark on one core.
#
# Builds libhl7flow.a (release flags) and bench/record/record_bench.c, then
# runs it pinned to one CPU when taskset is available, from the repository
# root (the avro-c comparison reads schemas/avro/hl7.validated.avsc).
# Arguments go to the benchmark: [-t SECONDS_PER_RUN] [-n MESSAGES]
# [-s SCHEMA.avsc]. Prints messages/s and MB/s, the median of 5 runs, for
# parse, parse+extract, parse+extract+encode (direct encoder, and avro-c's
# generic values for comparison) and decode.
set -euo pipefail

cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build/release}
make --no-print-directory MODE=release BUILD="$BUILD" "$BUILD/libhl7flow.a" >/dev/null
mkdir -p "$BUILD/bench"
# shellcheck disable=SC2046 # pkg-config prints several words
"${CC:-cc}" -std=c11 -Wall -Wextra -Werror -O2 -g -D_GNU_SOURCE -Icommon/include \
    $(pkg-config --cflags avro-c) bench/record/record_bench.c "$BUILD/libhl7flow.a" \
    $(pkg-config --libs avro-c) -lm -o "$BUILD/bench/record_bench"
[ "${BENCH_BUILD_ONLY:-0}" = 1 ] && exit 0
if command -v taskset >/dev/null 2>&1; then
    exec taskset -c "${BENCH_CPU:-0}" "$BUILD/bench/record_bench" "$@"
fi
exec "$BUILD/bench/record_bench" "$@"
