#!/usr/bin/env bash
# bench/stage_cpu/run.sh - builds and runs the stage CPU benchmark
# (stage_cpu.c: the enricher's and the router's transforms without Kafka).
#
# Builds libhl7flow.a (release flags) in $BUILD (default build/release) and
# links bench/stage_cpu/stage_cpu.c with the enricher's and the router's
# sources (not their main.c), wrapping clock_gettime so output bytes are
# reproducible. Runs it pinned to one CPU when taskset is available, from
# the repository root. Arguments go to the benchmark: [-n MESSAGES]
# [-t SECONDS] [-m enricher|router] [-p PASSES] [-o FILE].
# BENCH_BUILD_ONLY=1: build only; the binary is $BUILD/bench/stage_cpu.
set -euo pipefail

cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build/release}
make --no-print-directory MODE=release BUILD="$BUILD" "$BUILD/libhl7flow.a" >/dev/null
mkdir -p "$BUILD/bench"
pkgs="rdkafka jansson libmicrohttpd libcurl openssl libpq avro-c icu-uc icu-i18n libevent_core libevent_openssl libevent_pthreads"
srcs=$(ls services/enricher/*.c services/router/*.c | grep -v '/main\.c$')
# shellcheck disable=SC2046,SC2086 # pkg-config prints several words; srcs is a list
"${CC:-cc}" -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
    -Wformat=2 -Wvla -O2 -g -D_GNU_SOURCE -Icommon/include -Icommon/src -Iservices/enricher \
    -Iservices/router $(pkg-config --cflags $pkgs) bench/stage_cpu/stage_cpu.c $srcs \
    "$BUILD/libhl7flow.a" -Wl,--wrap=clock_gettime $(pkg-config --libs $pkgs) -lrocksdb \
    -lpthread -lm -o "$BUILD/bench/stage_cpu"
[ "${BENCH_BUILD_ONLY:-0}" = 1 ] && exit 0
if command -v taskset >/dev/null 2>&1; then
    exec taskset -c "${BENCH_CPU:-0}" "$BUILD/bench/stage_cpu" "$@"
fi
exec "$BUILD/bench/stage_cpu" "$@"
