#!/usr/bin/env bash
# CI stage: builds every fuzz/<name>_fuzz.cpp as a libFuzzer binary with clang-14 (ASan + UBSan,
# the parsers instrumented for coverage: fuzz/CMakeLists.txt) and runs each for a bounded time
# from its committed seed corpus. Any crash, sanitizer report, leak, timeout (one input over
# 10 s) or out-of-memory (one allocation over 2 GB: a lying length must not allocate) fails
# the stage, leaving the input under BUILD_DIR/artifacts/<name>/.
#
#   bash scripts/ci_fuzz.sh [BUILD_DIR]                    # 60 s per target, 2 at a time
#   EMBSTAT_FUZZ_SECONDS=3600 bash scripts/ci_fuzz.sh      # longer, locally
#   EMBSTAT_FUZZ_TARGETS="npy gguf" bash scripts/ci_fuzz.sh
#
# New inputs the fuzzer finds go to BUILD_DIR/corpus/<name>/ (kept between runs, so a local
# campaign resumes where it stopped); fuzz/corpus/ is only read. Per-target statistics
# (executions, coverage, corpus size) are written to BUILD_DIR/fuzz-stats.tsv. Each target fuzzes
# with a dictionary: fuzz/dict/<name>.dict and fuzz/dict/hostile_text.dict.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-fuzz}
seconds=${EMBSTAT_FUZZ_SECONDS:-60}
jobs=${EMBSTAT_CI_JOBS:-2}

# Warnings are errors in the release and ASan stages (gcc); clang's extra warnings here are
# reported but do not stop the fuzzing, whose job is finding crashes.
targets=${EMBSTAT_FUZZ_TARGETS:-$(for f in fuzz/*_fuzz.cpp; do basename "$f" _fuzz.cpp; done)}
CC=clang-14 CXX=clang++-14 cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g" -DEMBSTAT_FUZZ=ON -DEMBSTAT_WERROR=OFF \
  -DEMBSTAT_BUILD_TESTS=OFF -DEMBSTAT_BUILD_BENCH=OFF >/dev/null
# shellcheck disable=SC2046
cmake --build "$build" -j "$jobs" --target $(for t in $targets; do echo "${t}_fuzz"; done)

run_one() {  # name build seconds
  local name=$1 build=$2 seconds=$3
  local work="$build/corpus/$name" art="$build/artifacts/$name/" log="$build/logs/$name.log"
  mkdir -p "$work" "$art" "$(dirname "$log")"
  local rc=0 seeds="$build/seeds/$name"
  # Fuzzing starts from the seeds up to 64 KB. Larger ones are regression inputs (e.g. the
  # 200 KB, 100,000-deep JSON of crash_deep_*): mutating them would slow every target's
  # executions ~15x, so they are only replayed here (-runs=0), as CTest also does.
  rm -rf "$seeds"
  mkdir -p "$seeds"
  find "fuzz/corpus/$name" -type f -size -65k -exec cp {} "$seeds/" \;
  # Dictionary: the target's own words (fuzz/dict/<name>.dict) plus the hostile bytes every
  # target gets (fuzz/dict/hostile_text.dict: control bytes, escape sequences, invalid UTF-8).
  local dict="$build/dict/$name.dict"
  mkdir -p "$(dirname "$dict")"
  cat fuzz/dict/hostile_text.dict > "$dict"
  if [ -f "fuzz/dict/$name.dict" ]; then cat "fuzz/dict/$name.dict" >> "$dict"; fi
  export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=1"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
  # Two corpus folders: the first receives new inputs. -use_value_profile: guides the fuzzer
  # through magic numbers and length comparisons. halt/abort: sanitizer reports end the run.
  "$build/fuzz/${name}_fuzz" -runs=0 -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
    -artifact_prefix="$art" "fuzz/corpus/$name" >"$log" 2>&1 || rc=$?
  if [ "$rc" = 0 ]; then
    "$build/fuzz/${name}_fuzz" "$work" "$seeds" -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=2048 -malloc_limit_mb=2048 -use_value_profile=1 -print_final_stats=1 -dict="$dict" \
      -artifact_prefix="$art" >>"$log" 2>&1 || rc=$?
  fi
  local execs cov
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$rc" "${execs:-0}" "${cov:-0}" "$(find "$work" -type f | wc -l)" \
    "$(find "$art" -type f | wc -l)" >"$build/logs/$name.tsv"
  if [ "$rc" != 0 ]; then
    echo "ci_fuzz: $name failed (exit $rc); input(s) in $art; log $log:" >&2
    grep -A40 -E '^==[0-9]+==ERROR|runtime error|ERROR: libFuzzer|SUMMARY' "$log" | head -80 >&2
  fi
  return "$rc"
}
export -f run_one

rm -f "$build"/logs/*.tsv
status=0
# shellcheck disable=SC2086
printf '%s\n' $targets | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {} "$build" "$seconds" || status=$?
{
  printf 'target\texit\texecutions\tcoverage\tcorpus\tartifacts\n'
  cat "$build"/logs/*.tsv
} >"$build/fuzz-stats.tsv"
column -t -s $'\t' "$build/fuzz-stats.tsv"
exit "$status"
