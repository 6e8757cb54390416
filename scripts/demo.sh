#!/usr/bin/env bash
# `make demo`: runs the fleet's stages that exist on the embedded default
# (dev broker, file: registry, throwaway PostgreSQL) over generated traffic
# and prints a report, also written to build/demo-report.json.
set -euo pipefail
cd "$(dirname "$0")/.."
exec /usr/bin/python3 scripts/demo.py "$@"
