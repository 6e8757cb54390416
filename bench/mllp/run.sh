#!/usr/bin/env bash
# bench/mllp/run.sh - MLLP listener benchmark (bench/mllp/mllp_bench.py):
# msgs/s and ACK p50/p99/p999 for 1, 16 and 256 connections, and ACK latency
# at a paced 5,000 msgs/s, against the dev broker. Needs $BIN/hl7flow and
# $BIN/hl7flow-mllp (make). Prints a table; exit 1 when a run failed.
set -euo pipefail
cd "$(dirname "$0")/../.."
export BIN=${BIN:-bin}
for b in hl7flow hl7flow-mllp; do
    if [ ! -x "$BIN/$b" ]; then
        echo "bench mllp: $BIN/$b is missing; run make first" >&2
        exit 1
    fi
done
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
exec "$PY" bench/mllp/mllp_bench.py
