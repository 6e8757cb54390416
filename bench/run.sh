#!/usr/bin/env bash
# bench/run.sh - `make bench`: every benchmark, one after the other.
#
#   1. the stage benchmark (bench/stage_bench.py): relay throughput and
#      end-to-end latency on the dev broker, 0 / 1 / 3 hops, exactly-once and
#      at-least-once, each against a no-stage baseline measured in the same
#      run, and each stage (parser, enricher, router) against a relay;
#      builds its measuring client bench/benchwatch.c first;
#   2. the fleet chain (parser -> enricher -> router) against a 3-relay
#      chain (bench/chain_bench.py);
#   3. the MLLP listener (bench/mllp/run.sh) against a direct produce, and
#      the PostgreSQL sink (bench/sink/run.sh) against psql \copy;
#   4. the parser benchmark, bench/parse/run.sh (parser vs python-hl7 and
#      @medplum/core);
#   5. the mpi-linker's state path with 1,000,000 patients against raw
#      RocksDB get/put (bench/linker/run.sh);
#   6. patient matching on the FEBRL sets (bench/match/run.sh), its table
#      copied into RESULTS.md.
# Each prints its summary and rewrites only its own sections of
# bench/RESULTS.md. Runs the benchmarks one at a time: they would skew each
# other on a 2-core machine.
#
# Environment: BIN (binaries, default bin/; `make bench` sets it), BUILD
# (objects; default: the parent of BIN when BIN ends in /bin, else
# build/release), BENCH_SKIP_STAGE=1 / BENCH_SKIP_CHAIN=1 /
# BENCH_SKIP_MLLP=1 / BENCH_SKIP_SINK=1 / BENCH_SKIP_PARSE=1 /
# BENCH_SKIP_LINKER=1 / BENCH_SKIP_MATCH=1, and the
# knobs of each script (BENCH_RUNS, BENCH_SVR, CHAIN_RUNS, ...).
# Exit status: 0 when every benchmark ran, 1 otherwise.
set -uo pipefail

cd "$(dirname "$0")/.."
export BIN=${BIN:-bin}
if [ -z "${BUILD:-}" ]; then
    case "$BIN" in
        bin) BUILD=build/release ;;
        */bin) BUILD=$(dirname "$BIN") ;;
        *) BUILD=build/release ;;
    esac
fi
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
status=0
t0=$(date +%s)

if [ "${BENCH_SKIP_STAGE:-0}" != 1 ] || [ "${BENCH_SKIP_CHAIN:-0}" != 1 ] ||
    [ "${BENCH_SKIP_MLLP:-0}" != 1 ] || [ "${BENCH_SKIP_SINK:-0}" != 1 ]; then
    for b in hl7flow hl7flow-relay; do
        if [ ! -x "$BIN/$b" ]; then
            echo "bench: $BIN/$b is missing; run make (or make bench) first" >&2
            exit 1
        fi
    done
    echo "bench: building the measuring client (bench/benchwatch.c) in $BUILD/bench"
    pkgs="rdkafka jansson libmicrohttpd libcurl openssl libpq avro-c"
    if make --no-print-directory BUILD="$BUILD" BIN="$BIN" "$BUILD/libhl7flow.a" >/dev/null &&
        mkdir -p "$BUILD/bench" &&
        "${CC:-cc}" -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wformat=2 -Wvla -O2 -g -D_GNU_SOURCE -Icommon/include \
            $(pkg-config --cflags $pkgs) bench/benchwatch.c "$BUILD/libhl7flow.a" \
            $(pkg-config --libs $pkgs) -lrocksdb -lpthread -lm -o "$BUILD/bench/benchwatch"; then
        if [ "${BENCH_SKIP_STAGE:-0}" != 1 ] &&
            ! BENCH_SVR=${BENCH_SVR:-all} BENCHWATCH="$BUILD/bench/benchwatch" "$PY" bench/stage_bench.py; then
            echo "bench: the stage benchmark failed" >&2
            status=1
        fi
        if [ "${BENCH_SKIP_CHAIN:-0}" != 1 ]; then
            echo
            echo "bench: fleet chain vs relay chain (bench/chain_bench.py)"
            if ! BENCHWATCH="$BUILD/bench/benchwatch" "$PY" bench/chain_bench.py; then
                echo "bench: the chain benchmark failed" >&2
                status=1
            fi
        fi
        if [ "${BENCH_SKIP_SINK:-0}" != 1 ]; then
            echo
            echo "bench: PostgreSQL sink (bench/sink/run.sh)"
            if ! bash bench/sink/run.sh; then
                echo "bench: the sink benchmark failed" >&2
                status=1
            fi
        fi
        if [ "${BENCH_SKIP_MLLP:-0}" != 1 ]; then
            echo
            echo "bench: MLLP listener (bench/mllp/run.sh)"
            if ! BENCHWATCH="$BUILD/bench/benchwatch" bash bench/mllp/run.sh; then
                echo "bench: the MLLP benchmark failed" >&2
                status=1
            fi
        fi
    else
        echo "bench: could not build bench/benchwatch.c" >&2
        status=1
    fi
fi

if [ "${BENCH_SKIP_PARSE:-0}" != 1 ] && [ -f bench/parse/run.sh ]; then
    echo
    echo "bench: parser benchmark (bench/parse/run.sh)"
    # Its own build directory (default build/release): not ours, which may be
    # another mode's.
    if ! env -u BUILD bash bench/parse/run.sh; then
        echo "bench: the parser benchmark failed" >&2
        status=1
    fi
fi

if [ "${BENCH_SKIP_LINKER:-0}" != 1 ] && [ -f bench/linker/run.sh ]; then
    echo
    echo "bench: mpi-linker state path (bench/linker/run.sh)"
    if ! env -u BUILD bash bench/linker/run.sh; then
        echo "bench: the linker benchmark failed" >&2
        status=1
    fi
fi

if [ "${BENCH_SKIP_MATCH:-0}" != 1 ] && [ -f bench/match/run.sh ]; then
    echo
    echo "bench: patient matching (bench/match/run.sh)"
    if env -u BUILD bash bench/match/run.sh && [ -f bench/match/RESULTS.part.md ]; then
        "$PY" - <<'PYEOF' || status=1
import sys
sys.path.insert(0, "bench")
import stage_bench as sb
part = open("bench/match/RESULTS.part.md").read().strip()
sb.write_results({part.splitlines()[0].rstrip(): part + "\n"})
print("bench: patient matching table copied into bench/RESULTS.md")
PYEOF
    else
        echo "bench: the matching benchmark failed" >&2
        status=1
    fi
fi

echo
echo "bench: done in $(( $(date +%s) - t0 )) s; results in bench/RESULTS.md" \
     "$([ $status -eq 0 ] && echo '(all benchmarks ran)' || echo '(SOME FAILED, see above)')"
exit $status
