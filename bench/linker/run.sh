#!/usr/bin/env bash
# bench/linker/run.sh - the mpi-linker's state path with 1,000,000 patients
# in state (bench/linker/linker_bench.c): load, events/s, and the apply
# time of one partition's restore. Kafka and PostgreSQL are not in the
# loop (see the file comment). Arguments: [PATIENTS] [EVENTS].
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
trap 'rm -rf "$dir"' EXIT
"$BUILD/bench/linker_bench" "$dir" "$@"
