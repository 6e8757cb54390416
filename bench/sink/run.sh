#!/usr/bin/env bash
# PostgreSQL sink throughput vs psql \copy of the same rows (sink_bench.py).
# Usage: BIN=bin bench/sink/run.sh [--count N] [--batch N]
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-bin} exec /usr/bin/python3 bench/sink/sink_bench.py "$@"
