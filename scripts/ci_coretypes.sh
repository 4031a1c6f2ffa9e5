#!/usr/bin/env bash
# CI stage: the numeric tests once per OpenBLAS core type this CPU can execute, to emulate the
# machines whose BLAS kernels round differently (doc/reliability.md). OPENBLAS_CORETYPE is set
# here for the test processes only: it is the one place it is set; the product never sets it.
#
#   bash scripts/ci_coretypes.sh [BUILD_DIR]          # default build/
#   EMBSTAT_CORETYPES="Haswell Zen" bash scripts/ci_coretypes.sh   # a subset
#
# The numeric tests: every unit suite whose results come from BLAS or the pair kernels, and the
# e2e tests of the commands that print such results. A core type whose instructions this CPU
# lacks is skipped (it would stop on an illegal instruction), and said so.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
[ -d "$build" ] || { echo "ci_coretypes: no $build (build first)" >&2; exit 2; }

numeric_tests='^(AllPairs|PairStats|SignPairs[A-Za-z]*|Sampled[A-Za-z0-9]*|ExactCounts|Geometry|ExtremeScale[A-Za-z0-9]*|RandomizedSpectrum[A-Za-z0-9]*|IsoScoreFromMoments|Bf16Kernels|RowSet|RowTasks)[./]|^e2e\.(exact_counts|pairs|tokens|sample|geometry)\.'

flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
has() { for f in "$@"; do [[ $flags == *" $f "* ]] || return 1; done; }
runnable() {  # core type -> whether this CPU executes its kernels
  case $1 in
    Prescott) has pni ;;  # SSE3
    Nehalem) has sse4_2 ;;
    Sandybridge) has avx ;;
    Haswell | Zen) has avx2 fma ;;
    SkylakeX) has avx512f avx512dq avx512bw avx512vl avx512cd ;;
    Cooperlake) has avx512f avx512dq avx512bw avx512vl avx512_bf16 ;;
    *) return 1 ;;
  esac
}

jobs=$(nproc)
failed=()
ran=()
for core in ${EMBSTAT_CORETYPES:-Haswell SkylakeX Cooperlake Zen Sandybridge Prescott}; do
  if ! runnable "$core"; then
    echo "ci_coretypes: skipping $core: this CPU lacks its instructions"
    continue
  fi
  t0=$SECONDS
  echo "==== numeric tests with OPENBLAS_CORETYPE=$core"
  if env OPENBLAS_CORETYPE="$core" ctest --test-dir "$build" -R "$numeric_tests" -j"$jobs" --output-on-failure \
    >"$build/coretype-$core.log" 2>&1; then
    ran+=("$core")
  else
    failed+=("$core")
    grep -E 'tests passed|Failed|\*\*\*' "$build/coretype-$core.log" || true
  fi
  echo "$(grep -E 'tests passed' "$build/coretype-$core.log" || true) ($((SECONDS - t0)) s, log $build/coretype-$core.log)"
done
[ ${#ran[@]} -gt 0 ] || [ ${#failed[@]} -gt 0 ] || { echo "ci_coretypes: no core type runnable here" >&2; exit 2; }
if [ ${#failed[@]} -gt 0 ]; then
  echo "ci_coretypes: numeric tests failed under: ${failed[*]}"
  exit 1
fi
echo "ci_coretypes: numeric tests pass under: ${ran[*]}"
