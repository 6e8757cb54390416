#!/usr/bin/env bash
# Runs the test suites and ends with one line CI can read:
#   "N passed, N failed"
# Usage: tests/run.sh [all|unit|replay|integration] ; env: BIN, BUILD, MODE,
# VALGRIND=1 (unit tests under valgrind), TEST_FILTER (substring of
# integration test file names).
set -u
cd "$(dirname "$0")/.."
what=${1:-all}
BIN=${BIN:-bin}
BUILD=${BUILD:-build/release}
PY=/usr/bin/python3
export BIN BUILD

passed=0
failed=0
failures=()

run_unit() {
  local t out rc ok nok
  for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    if [ "${VALGRIND:-}" = 1 ]; then
      out=$(CMOCKA_MESSAGE_OUTPUT=TAP valgrind -q --error-exitcode=99 --leak-check=full \
            --errors-for-leak-kinds=definite,indirect "$t" 2>&1); rc=$?
    else
      out=$(CMOCKA_MESSAGE_OUTPUT=TAP "$t" 2>&1); rc=$?
    fi
    ok=$(grep -c '^ok ' <<<"$out")
    nok=$(grep -c '^not ok ' <<<"$out")
    if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then nok=1; fi
    passed=$((passed + ok)); failed=$((failed + nok))
    printf 'unit %-28s %3d passed, %d failed\n' "$(basename "$t")" "$ok" "$nok"
    if [ "$nok" -ne 0 ]; then
      failures+=("$(basename "$t")")
      grep -v '^ok ' <<<"$out" | tail -40
    fi
  done
}

run_replay() {
  local r name corpus out rc line p f
  for r in "$BUILD"/tests/replay_fuzz_*; do
    [ -x "$r" ] || continue
    name=${r##*/replay_fuzz_}
    corpus=tests/fuzz/corpus/$name
    [ -d "$corpus" ] || continue
    out=$("$r" "$corpus" 2>&1); rc=$?
    line=$(grep -E '^replay: [0-9]+ passed, [0-9]+ failed' <<<"$out" | tail -1)
    p=$(sed -E 's/^replay: ([0-9]+) passed.*/\1/' <<<"${line:-replay: 0 passed}")
    f=$(sed -E 's/^.* ([0-9]+) failed.*/\1/' <<<"${line:-x 1 failed}")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    # The whole corpus of one target counts as one test.
    if [ "$f" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("replay $name"); tail -30 <<<"$out"; fi
    printf 'replay %-26s %5d inputs, %d failed\n' "$name" "$p" "$f"
  done
}

run_integration() {
  local t out rc line p f start
  for t in tests/integration/test_*.py; do
    [ -f "$t" ] || continue
    if [ -n "${TEST_FILTER:-}" ] && [[ "$t" != *"$TEST_FILTER"* ]]; then continue; fi
    start=$(date +%s)
    out=$(timeout 900 "$PY" "$t" 2>&1); rc=$?
    line=$(grep -E '[0-9]+ passed, [0-9]+ failed' <<<"$out" | tail -1)
    p=$(sed -E 's/^(.*[^0-9])?([0-9]+) passed, ([0-9]+) failed.*/\2/' <<<"${line:-0 passed, 0 failed}")
    f=$(sed -E 's/^(.*[^0-9])?([0-9]+) passed, ([0-9]+) failed.*/\3/' <<<"${line:-0 passed, 1 failed}")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p)); failed=$((failed + f))
    printf 'integration %-26s %3d passed, %d failed (%ds)\n' "$(basename "$t" .py)" "$p" "$f" "$(( $(date +%s) - start ))"
    if [ "$f" -ne 0 ]; then failures+=("$(basename "$t")"); tail -60 <<<"$out"; fi
    grep -E '^# ' <<<"$out" || true
  done
}

case "$what" in
  unit) run_unit ;;
  replay) run_replay ;;
  integration) run_integration ;;
  all) run_unit; run_replay; run_integration ;;
  *) echo "tests/run.sh: unknown suite $what" >&2; exit 2 ;;
esac

if [ ${#failures[@]} -gt 0 ]; then
  echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
