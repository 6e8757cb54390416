#!/usr/bin/env bash
# bench/parse/run.sh - builds and runs the HL7 parse benchmark on one core.
#
# Builds libhl7flow.a (release flags) and bench/parse/parse_bench.c, then
# runs it pinned to one CPU when taskset is available. Arguments go to the
# benchmark: [-t SECONDS_PER_RUN] [--builtin | FILE...]; by default it parses
# the first 1000 messages of the traffic generator (seed 1).
# Prints MB/s and messages/s, the median of 5 runs, for parse and parse+walk.
# Without arguments it then runs bench/peers/run.sh (ours against python-hl7
# and @medplum/core on one message file; writes its section of
# bench/RESULTS.md) unless BENCH_SKIP_PEERS=1; the exit status is 1 when
# either failed. BENCH_BUILD_ONLY=1: build the benchmark, run nothing.
set -euo pipefail

cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build/release}
make --no-print-directory MODE=release BUILD="$BUILD" "$BUILD/libhl7flow.a" >/dev/null
mkdir -p "$BUILD/bench"
"${CC:-cc}" -std=c11 -Wall -Wextra -Werror -O2 -g -D_GNU_SOURCE -Icommon/include \
    bench/parse/parse_bench.c "$BUILD/libhl7flow.a" -o "$BUILD/bench/parse_bench"
[ "${BENCH_BUILD_ONLY:-0}" = 1 ] && exit 0
PIN=()
if command -v taskset >/dev/null 2>&1; then
    PIN=(taskset -c "${BENCH_CPU:-0}")
fi
if [ $# -gt 0 ] || [ "${BENCH_SKIP_PEERS:-0}" = 1 ] || [ ! -f bench/peers/run.sh ]; then
    exec "${PIN[@]}" "$BUILD/bench/parse_bench" "$@"
fi
"${PIN[@]}" "$BUILD/bench/parse_bench"
echo
echo "bench: parser vs peers (bench/peers/run.sh)"
BUILD="$BUILD" bash bench/peers/run.sh
