#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset: clang-14, ASan + UBSan) and runs each
# for a while on a copy of its checked-in corpus (fuzz/corpus/<target>/), one at a time.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   each target SECONDS (default 60); all targets
#   scripts/fuzz.sh --smoke                 4 s each (scripts/test.sh runs this after ctest)
#   FUZZ_RUNS=10000000 scripts/fuzz.sh 3600 transaction   stop a target at N executions
#   FUZZ_NO_BUILD=1 scripts/fuzz.sh ...     run what build/fuzz holds, without building
#
# Prints per target: executions, executions per second, coverage (cov = edges, ft =
# features), corpus size reached, and the finding if any. A crash, sanitizer report, leak,
# timeout or out-of-memory stops that target; its reproducer is kept under
# build/fuzz/findings/<target>/ (the path is printed) and the script exits 1. The
# checked-in corpora never grow: new inputs stay in the temporary copy (kept with
# FUZZ_KEEP=1; `<target>_fuzzer -merge=1 fuzz/corpus/<target> <copy>` adds them by hand).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
targets=()
for arg in "$@"; do
  case "$arg" in
    --smoke) seconds=4 ;;
    ''|*[!0-9]*) targets+=("$arg") ;;
    *) seconds="$arg" ;;
  esac
done
if [ ${#targets[@]} -eq 0 ]; then
  for dir in fuzz/corpus/*/; do targets+=("$(basename "$dir")"); done
fi

if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR=1
  cmake --preset fuzz >/dev/null
  cmake --build --preset fuzz -j "$(nproc)"
fi

bin=build/fuzz/fuzz
findings_root=build/fuzz/findings
work=$(mktemp -d "${TMPDIR:-/tmp}/medledger-fuzz.XXXXXX")
if [ "${FUZZ_KEEP:-0}" != 1 ]; then trap 'rm -rf "$work"' EXIT; fi

# Leaks are findings; UBSan reports stop the run (the preset builds without recovery).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

printf '%-16s %12s %9s %7s %7s %6s  %s\n' target execs exec/s cov ft corpus finding
failed=0
for t in "${targets[@]}"; do
  exe="$bin/${t}_fuzzer"
  [ -x "$exe" ] || { echo "fuzz.sh: no target $t ($exe)" >&2; exit 2; }
  mkdir -p "$work/$t/corpus" "$findings_root/$t"
  if [ -d "fuzz/corpus/$t" ]; then cp -R "fuzz/corpus/$t/." "$work/$t/corpus/"; fi
  log="$work/$t/log"
  status=0
  (cd "$work/$t" && TMPDIR="$work/$t" "$OLDPWD/$exe" -max_total_time="$seconds" \
      ${FUZZ_RUNS:+-runs="$FUZZ_RUNS"} -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$OLDPWD/$findings_root/$t/" corpus) >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
  finding=none
  if [ "$status" -ne 0 ]; then
    failed=1
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    kind=$(grep -m1 -oE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer|UndefinedBehaviorSanitizer)[^(]*' "$log" \
           || grep -m1 -oE 'runtime error:.*|medledger: .*' "$log" || echo "exit $status")
    cp "$log" "$findings_root/$t/last.log"
    finding="$kind; reproducer ${artifact:-none}; log $findings_root/$t/last.log"
  fi
  printf '%-16s %12s %9s %7s %7s %6s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" \
    "${ft:-?}" "${corp:-?}" "$finding"
done
exit "$failed"
