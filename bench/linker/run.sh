#!/usr/bin/env bash
# bench/linker/run.sh - the mpi-linker's state path with 1,000,000 patients
# in state (bench/linker/linker_bench.c): load, events/s, and the apply
# time of one partition's restore. Kafka and PostgreSQL are not in the
# loop (see the file comment), against a RocksDB-only peer on the same
# store in the same run. Prints a throughput line and the restore time and
# writes the "mpi-linker" section of bench/RESULTS.md (bench/linker/
# results.py; BENCH_NO_RESULTS=1 to skip). Arguments: [PATIENTS] [EVENTS];
# LINKER_BENCH_RUNS (default 1) runs, median reported.
set -euo pipefail

cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build/release}
make --no-print-directory MODE=release BUILD="$BUILD" "$BUILD/libhl7flow.a" >/dev/null
mkdir -p "$BUILD/bench"
# shellcheck disable=SC2046 # pkg-config prints several words
"${CC:-cc}" -std=c11 -Wall -Wextra -Werror -O2 -g -D_GNU_SOURCE -Icommon/include \
    $(pkg-config --cflags avro-c) bench/linker/linker_bench.c "$BUILD/libhl7flow.a" \
    -lrocksdb $(pkg-config --libs avro-c) -lm -o "$BUILD/bench/linker_bench"
[ "${BENCH_BUILD_ONLY:-0}" = 1 ] && exit 0
dir=$(mktemp -d /tmp/hl7flow-linker-bench.XXXXXX)
outdir=$(mktemp -d /tmp/hl7flow-linker-bench-out.XXXXXX)
trap 'rm -rf "$dir" "$outdir"' EXIT
runs=${LINKER_BENCH_RUNS:-1}
for i in $(seq 1 "$runs"); do
    rm -rf "${dir:?}"/*
    "$BUILD/bench/linker_bench" "$dir" "$@" | tee "$outdir/out.$i"
done
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
if [ "${BENCH_NO_RESULTS:-0}" != 1 ]; then
    "$PY" bench/linker/results.py "$outdir"/out.*
fi
