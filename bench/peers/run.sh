#!/usr/bin/env bash
# bench/peers/run.sh - our parser against python-hl7 and @medplum/core, in one
# run, on the same messages, one core each.
#
# Generates ONE message file (`hl7flow gen --seed 1 --count N --format mllp`,
# N = PEERS_COUNT, default 1000) and measures on it, each pinned to CPU
# BENCH_CPU (default 0) with taskset when available:
#   - ours, parse only: bench/parse/parse_bench on the file (median of 5 runs);
#   - ours, parse+extract+encode: bench/record/record_bench -n N (median of 5
#     runs; it takes the same N messages straight from gen.h with the same
#     defaults, seed 1; the script checks the byte counts agree);
#   - python-hl7 (hl7.parse, Debian's /usr/bin/python3): py_hl7_bench.py;
#   - @medplum/core (Hl7Message.parse, Node): medplum_bench.mjs, after
#     `npm ci` into bench/peers/node_modules when that is missing.
# Peers run PEERS_RUNS times (default 5) for at least PEERS_SECONDS (default 2)
# each; medians throughout. Prints a summary and rewrites the "## Parser vs
# peers" section of bench/RESULTS.md (BENCH_RESULTS: another file;
# BENCH_NO_RESULTS=1: leave it alone), keeping every other section.
# A missing or failing peer is recorded as such and does not fail the run;
# exit status 1 only when our own benchmarks could not run.
#
# Environment: BUILD (objects, default build/release), BIN (where a built
# hl7flow CLI may already be; default bin/, else it is built in $BUILD/bin).
set -uo pipefail

cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build/release}
BIN=${BIN:-bin}
COUNT=${PEERS_COUNT:-1000}
RUNS=${PEERS_RUNS:-5}
SECS=${PEERS_SECONDS:-2}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
PIN=()
if command -v taskset >/dev/null 2>&1; then
    PIN=(taskset -c "${BENCH_CPU:-0}")
fi
say() { echo "peers: $*"; }

TMP=$(mktemp -d /tmp/hl7flow-peers-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)

# --- our binaries (built by the benchmarks' own scripts) and the CLI ------
say "building the benchmarks (release, $BUILD)"
if ! BUILD="$BUILD" BENCH_BUILD_ONLY=1 bash bench/parse/run.sh; then
    echo "peers: could not build bench/parse/parse_bench.c" >&2
    exit 1
fi
rec_ok=1
if ! BUILD="$BUILD" BENCH_BUILD_ONLY=1 bash bench/record/run.sh; then
    echo "peers: could not build bench/record/record_bench.c (parse+extract+encode skipped)" >&2
    rec_ok=0
fi
CLI="$BIN/hl7flow"
if [ ! -x "$CLI" ]; then
    CLI="$BUILD/bin/hl7flow"
    if ! make --no-print-directory MODE=release BUILD="$BUILD" BIN="$BUILD/bin" "$CLI" >/dev/null; then
        echo "peers: could not build the hl7flow CLI" >&2
        exit 1
    fi
fi

MSGS="$TMP/gen-seed1-$COUNT.mllp"
if ! "$CLI" gen --seed 1 --count "$COUNT" --format mllp --out "$MSGS"; then
    echo "peers: hl7flow gen failed" >&2
    exit 1
fi
framed=$(stat -c %s "$MSGS")
UNFRAMED=$((framed - 3 * COUNT)) # 0x0B ... 0x1C 0x0D around each message
say "messages: $MSGS ($COUNT, $UNFRAMED bytes unframed)"

# --- ours ----------------------------------------------------------------
say "ours, parse (bench/parse/parse_bench on the file)"
if ! "${PIN[@]}" "$BUILD/bench/parse_bench" -t 0.5 "$MSGS" >"$TMP/ours_parse.txt"; then
    cat "$TMP/ours_parse.txt" >&2
    echo "peers: parse_bench failed" >&2
    exit 1
fi
cat "$TMP/ours_parse.txt"
if [ $rec_ok = 1 ]; then
    say "ours, parse+extract+encode (bench/record/record_bench -n $COUNT)"
    if "${PIN[@]}" "$BUILD/bench/record_bench" -t 0.5 -n "$COUNT" >"$TMP/ours_record.txt"; then
        cat "$TMP/ours_record.txt"
    else
        echo "peers: record_bench failed" >&2
        rec_ok=0
    fi
fi
[ $rec_ok = 1 ] || echo "record_bench did not run (see the log of bench/peers/run.sh)" >"$TMP/ours_record.txt"

# --- python-hl7 ----------------------------------------------------------
say "python-hl7 ($PY, hl7.parse), $RUNS runs of >= $SECS s"
if ! "${PIN[@]}" "$PY" bench/peers/py_hl7_bench.py "$MSGS" --seconds "$SECS" --runs "$RUNS" \
        >"$TMP/python.json" 2>"$TMP/python.err"; then
    { echo "python-hl7 did not run:"; tail -3 "$TMP/python.err"; } >"$TMP/python.fail"
    cat "$TMP/python.fail" >&2
fi
cat "$TMP/python.json" 2>/dev/null

# --- @medplum/core -------------------------------------------------------
say "@medplum/core (Node, Hl7Message.parse), $RUNS runs of >= $SECS s"
medplum_fail=""
if ! command -v node >/dev/null 2>&1; then
    medplum_fail="node is not installed"
elif [ ! -f bench/peers/node_modules/@medplum/core/package.json ]; then
    if ! command -v npm >/dev/null 2>&1; then
        medplum_fail="npm is not installed (needed once to install @medplum/core)"
    else
        say "installing @medplum/core into bench/peers/node_modules (npm ci)"
        if ! (cd bench/peers && { npm ci --no-audit --no-fund ||
                npm install --no-audit --no-fund; } >"$TMP/npm.log" 2>&1); then
            medplum_fail="npm ci failed: $(grep -m1 -i 'err' "$TMP/npm.log" || tail -1 "$TMP/npm.log")"
        fi
    fi
fi
if [ -z "$medplum_fail" ] &&
    ! "${PIN[@]}" node bench/peers/medplum_bench.mjs "$MSGS" --seconds "$SECS" --runs "$RUNS" \
        >"$TMP/medplum.json" 2>"$TMP/medplum.err"; then
    medplum_fail="medplum_bench.mjs failed: $(tail -1 "$TMP/medplum.err")"
fi
if [ -n "$medplum_fail" ]; then
    echo "@medplum/core did not run: $medplum_fail" >"$TMP/medplum.fail"
    cat "$TMP/medplum.fail" >&2
else
    cat "$TMP/medplum.json"
fi

# --- summary and bench/RESULTS.md -----------------------------------------
load_after=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
"$PY" bench/peers/report.py --dir "$TMP" --count "$COUNT" --bytes "$UNFRAMED" --runs "$RUNS" --seconds "$SECS" \
    --cpu "${PIN[*]:-not pinned (no taskset)}" --load "$load_before" "$load_after" \
    --nodes "$(nproc 2>/dev/null || echo '?')"
