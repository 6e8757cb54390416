#!/usr/bin/env bash
# bench/match/run.sh - patient-matching accuracy and speed on the FEBRL
# labelled sets (../shared/data/febrl relative to the repo root).
#
# Builds libhl7flow.a (release flags) and bench/match/match_bench.c, then
# scores datasets 1, 2, 3 and 4 (4a linked with 4b) twice with the same
# settings for every set: once with config/match/model.conf as it is
# ("fixed": the generic defaults, nothing estimated), once with u from
# random pairs and m plus the prior re-estimated by EM on each set's
# unlabelled candidate pairs ("em"). Prints one line per set and writes the
# tables to bench/match/RESULTS.part.md (for bench/RESULTS.md).
# Environment: BUILD (objects, default build/release), FEBRL_DIR, MATCH_MODEL.
# Exit status: 0 (also when the data is absent: skipped with a message), 1 on
# failure.
set -euo pipefail

cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build/release}
DATA=${FEBRL_DIR:-../shared/data/febrl}
MODEL=${MATCH_MODEL:-config/match/model.conf}
OUT=bench/match/RESULTS.part.md
if [ ! -f "$DATA/dataset1.csv" ]; then
    echo "bench match: FEBRL data not found in $DATA; skipped"
    exit 0
fi
make --no-print-directory MODE=release BUILD="$BUILD" "$BUILD/libhl7flow.a" >/dev/null
mkdir -p "$BUILD/bench"
"${CC:-cc}" -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
    -Wformat=2 -Wvla -O2 -g -D_GNU_SOURCE -Icommon/include \
    bench/match/match_bench.c "$BUILD/libhl7flow.a" -lm -o "$BUILD/bench/match_bench"
PIN=()
if command -v taskset >/dev/null 2>&1; then
    PIN=(taskset -c "${BENCH_CPU:-0}")
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "bench match: fixed model ($MODEL)"
"${PIN[@]}" "$BUILD/bench/match_bench" -d "$DATA" -m "$MODEL" --fixed --markdown "$tmp/fixed.md" | tee "$tmp/fixed.txt"
echo "bench match: u from random pairs, m and prior by EM per set"
"${PIN[@]}" "$BUILD/bench/match_bench" -d "$DATA" -m "$MODEL" --markdown "$tmp/em.md" | tee "$tmp/em.txt"
link=$(sed -n 's/^link_probability *= *//p' "$MODEL")
review=$(sed -n 's/^review_probability *= *//p' "$MODEL")
{
    echo "## Patient matching (FEBRL, pairwise)"
    echo
    echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(uname -m)), one core pinned, by"
    echo "\`bench/match/run.sh\` (\`$BUILD/bench/match_bench -d $DATA -m $MODEL [--fixed]\`)."
    echo "Same settings for every set: the comparison levels and blocking rules of"
    echo "\`common/src/match_*.c\`, thresholds from \`$MODEL\`: auto-link at match probability"
    echo ">= $link, review at >= $review, else new identity. The truth (rec-N) is used only"
    echo "to count. Pairwise scores: every true pair is a positive, also pairs blocking never"
    echo "proposed; precision, recall and F1 are at the auto-link threshold, \"F1 at p>=0.5\" is"
    echo "Splink's published operating point, \"review+\" counts link and review as positive."
    echo "pairs/s: hf_match_weight (compare + weigh) on prepared records, one core."
    echo
    echo "**Fixed model** (\`$MODEL\` as shipped: generic values, not estimated from any data):"
    echo
    cat "$tmp/fixed.md"
    echo
    echo "**EM per set** (starting from the same file; u from 10^6 random pairs of the set, m"
    echo "and the prior by EM over the set's unlabelled candidate pairs; thresholds unchanged):"
    echo
    cat "$tmp/em.md"
    echo
    echo "Targets (issue 7): F1 >= 0.995 on dataset3, >= 0.999 on dataset4, precision >= 0.999"
    echo "at the auto-link threshold. Splink's published examples: F1 0.993 (dataset3), 0.999"
    echo "(dataset4) at p = 0.5."
} >"$OUT"
echo "bench match: wrote $OUT"
