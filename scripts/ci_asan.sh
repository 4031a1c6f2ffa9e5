#!/usr/bin/env bash
# CI stage: the whole test suite (unit, e2e, corpus replays) under AddressSanitizer +
# UndefinedBehaviorSanitizer + LeakSanitizer, in its own build folder (build-asan by default).
#
#   bash scripts/ci_asan.sh [BUILD_DIR]
#
# Built -O1 -g1 with assertions on (no NDEBUG): stacks with file:line, and our own invariants
# checked too. Warnings are errors in the release stage; not here: with ASan's instrumentation
# GCC 12 reports -Wmaybe-uninitialized inside libstdc++'s own <regex> and <functional>, which
# says nothing about our code. EMBSTAT_SANITIZE=ON compiles with -fno-sanitize-recover=all, so the first report aborts
# the process. Reports are also written to files under BUILD_DIR/sanitizer-logs/: a report in a
# child process whose failure a test expected (an e2e test asserting a non-zero exit) would
# otherwise pass unseen, so any log file there fails the stage, whatever ctest said.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-asan}
jobs=${EMBSTAT_CI_JOBS:-2}

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" \
  -DEMBSTAT_SANITIZE=ON -DEMBSTAT_WERROR=OFF -DEMBSTAT_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$jobs"

logs="$PWD/$build/sanitizer-logs"
rm -rf "$logs"
mkdir -p "$logs"
supp="$PWD/scripts/sanitizers"
# detect_leaks: LeakSanitizer at exit. strict_string_checks, check_initialization_order,
# detect_stack_use_after_return: catch more than the defaults. abort_on_error: a core-style
# abort the test harness reports as a crash. log_path: see above (one file per process).
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=1:strict_string_checks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1:print_summary=1:log_path=$logs/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
# Two OpenMP threads per test process keep the parallel regions (and their exception capture)
# running threaded under ASan without oversubscribing a 2-core machine running $jobs tests.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}

status=0
ctest --test-dir "$build" --output-on-failure -j "$jobs" || status=$?
if compgen -G "$logs/*" >/dev/null; then
  echo "ci_asan: sanitizer reports in $logs:" >&2
  for f in "$logs"/*; do
    echo "---- $f" >&2
    cat "$f" >&2
  done
  status=1
fi
exit "$status"
