#!/usr/bin/env bash
# bench/linker/run.sh - the mpi-linker's state path with 1,000,000 patients
# in state (bench/linker/linker_bench.c): load, events/s, and the apply
# time of one partition's restore. Kafka and PostgreSQL are not in the
# loop (see the file comment), against a RocksDB-only peer on the same
# store in the same run. Prints a throughput line and the restore time and
# writes the "mpi-linker" section of bench/RESULTS.md (bench/linker/
# results.py; BENCH_NO_RESULTS=1 to skip). Arguments: [PATIENTS] [EVENTS];
# LINKER_BENCH_RUNS (default 1) runs, median reported.
# Then the service itself (bench/linker/service_bench.py): hl7flow-mpi-linker
# on the dev broker with 1,000,000 patients preloaded into its stores
# (bench/linker/linker_preload.c) against hl7flow-relay, same run;
# BENCH_LINKER_SERVICE=0 skips it (the section keeps its last service
# figures), LINKER_SERVICE_RUNS (default 7) alternating pairs. Needs BIN
# (default bin/) with the services built, and bench/benchwatch.c (built
# here into $BUILD/bench unless BENCHWATCH is set).
set -euo pipefail

cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build/release}
make --no-print-directory MODE=release BUILD="$BUILD" "$BUILD/libhl7flow.a" >/dev/null
mkdir -p "$BUILD/bench"
# shellcheck disable=SC2046 # pkg-config prints several words
"${CC:-cc}" -std=c11 -Wall -Wextra -Werror -O2 -g -D_GNU_SOURCE -Icommon/include \
    $(pkg-config --cflags avro-c) bench/linker/linker_bench.c "$BUILD/libhl7flow.a" \
    -lrocksdb $(pkg-config --libs avro-c) -lm -o "$BUILD/bench/linker_bench"
service=${BENCH_LINKER_SERVICE:-1}
if [ "$service" != 0 ]; then
    warn="-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla"
    # shellcheck disable=SC2046,SC2086 # pkg-config prints several words
    "${CC:-cc}" -std=c11 $warn -O2 -g -D_GNU_SOURCE -Icommon/include \
        bench/linker/linker_preload.c "$BUILD/libhl7flow.a" \
        $(pkg-config --libs avro-c) -lrocksdb -lm -o "$BUILD/bench/linker_preload"
    if [ -z "${BENCHWATCH:-}" ]; then
        pkgs="rdkafka jansson libmicrohttpd libcurl openssl libpq avro-c"
        # shellcheck disable=SC2046,SC2086
        "${CC:-cc}" -std=c11 $warn -O2 -g -D_GNU_SOURCE -Icommon/include \
            $(pkg-config --cflags $pkgs) bench/benchwatch.c "$BUILD/libhl7flow.a" \
            $(pkg-config --libs $pkgs) -lrocksdb -lpthread -lm -o "$BUILD/bench/benchwatch"
        BENCHWATCH=$BUILD/bench/benchwatch
    fi
fi
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
svc_args=()
if [ "$service" != 0 ]; then
    echo "bench: mpi-linker service vs relay (bench/linker/service_bench.py)"
    BIN=${BIN:-bin} BENCHWATCH=$BENCHWATCH LINKER_PRELOAD=$BUILD/bench/linker_preload \
        BENCH_PVR_RUNS=${LINKER_SERVICE_RUNS:-7} \
        "$PY" bench/linker/service_bench.py --out "$outdir/service.json"
    svc_args=(--service "$outdir/service.json")
fi
if [ "${BENCH_NO_RESULTS:-0}" != 1 ]; then
    "$PY" bench/linker/results.py "${svc_args[@]}" "$outdir"/out.*
fi
