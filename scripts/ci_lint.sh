#!/usr/bin/env bash
# CI stage: clang-format and clang-tidy (Debian clang-format-14, clang-tidy-14); any finding
# fails the stage. Prints the findings per file.
#
#   bash scripts/ci_lint.sh [BUILD_DIR]     # BUILD_DIR holds compile_commands.json (default build)
#   EMBSTAT_LINT=format bash scripts/ci_lint.sh   # only one of the two: format | tidy
#
# clang-format: every .cpp/.hpp under embstat/ cli/ tests/ fuzz/ bench/, checked against the
#   committed .clang-format (--dry-run -Werror: nothing is rewritten).
# clang-tidy: every .cpp under embstat/ and cli/ with the checks in .clang-tidy (which says why
#   each is on or off); headers under embstat/ and cli/ are checked through them. A finding in
#   a header is counted once however many sources include it.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
jobs=${EMBSTAT_CI_JOBS:-2}
which=${EMBSTAT_LINT:-format tidy}
out="$build/lint"
mkdir -p "$out"
status=0

list_sources() {  # tracked and new (not ignored) files under the given folders matching *.cpp / *.hpp
  git ls-files --cached --others --exclude-standard -- "$@" | grep -E '\.(cpp|hpp)$' | sort -u |
    while read -r f; do [ -f "$f" ] && echo "$f"; done
}

# Findings per file from diagnostics "path:line:col: (warning|error): ... [check]", each
# location+check counted once; paths made relative to the repository.
# No diagnostic at all is the clean case: grep's exit 1 must not fail the pipeline (pipefail).
per_file() {
  { grep -hE '^[^ ]+:[0-9]+:[0-9]+: (warning|error): ' "$@" 2>/dev/null || true; } | sed "s|^$PWD/||" |
    sed -E 's/^([^:]+):([0-9]+):([0-9]+): [a-z]+: .*\[([^]]+)\]$/\1 \2 \3 \4/' | sort -u |
    awk '{n[$1]++} END {for (f in n) printf "%6d  %s\n", n[f], f}' | sort -k2
}

if [[ " $which " == *" format "* ]]; then
  list_sources embstat cli tests fuzz bench >"$out/format-files.txt"
  xargs -a "$out/format-files.txt" clang-format-14 --dry-run -Werror >"$out/format.log" 2>&1 || true
  # clang-format reports one diagnostic per differing region, with no check name in brackets
  # on some versions: count its "code should be clang-formatted" lines.
  n_format=$(grep -c 'code should be clang-formatted' "$out/format.log" || true)
  echo "clang-format: $(wc -l <"$out/format-files.txt") files, $n_format places to reformat"
  if [ "$n_format" != 0 ]; then
    per_file "$out/format.log"
    status=1
  fi
fi

if [[ " $which " == *" tidy "* ]]; then
  [ -f "$build/compile_commands.json" ] || { echo "ci_lint: no $build/compile_commands.json (build first)" >&2; exit 2; }
  list_sources embstat cli | grep '\.cpp$' >"$out/tidy-files.txt"
  rm -rf "$out/tidy"
  mkdir -p "$out/tidy"
  # One log per source; clang-tidy exits non-zero on any finding (WarningsAsErrors: '*').
  tidy_one() {
    local log
    log="$2/tidy/$(echo "$1" | tr / _).log"
    # -Wno-unknown-warning-option: gcc is the project's compiler; a gcc-only warning named by
    # a flag (-Wno-error=restrict) or `#pragma GCC diagnostic` is not a finding. With -Werror in
    # the compile commands it would be a compiler error that no check filter removes; the
    # pragma case without -Werror is excluded in .clang-tidy.
    clang-tidy-14 -p "$3" --quiet --extra-arg=-Wno-unknown-warning-option "$1" >"$log" 2>&1 ||
      echo "$1" >>"$2/tidy-failed.txt"
  }
  export -f tidy_one
  rm -f "$out/tidy-failed.txt"
  xargs -a "$out/tidy-files.txt" -P "$jobs" -I{} bash -c 'tidy_one "$@"' _ {} "$out" "$build"
  n_tidy=$(per_file "$out"/tidy/*.log | awk '{s += $1} END {print s + 0}')
  echo "clang-tidy: $(wc -l <"$out/tidy-files.txt") sources, $n_tidy findings"
  if [ -f "$out/tidy-failed.txt" ]; then
    per_file "$out"/tidy/*.log
    # A source that failed with no diagnostic line (a compile error, a crash) is shown whole.
    while read -r f; do
      log="$out/tidy/$(echo "$f" | tr / _).log"
      grep -qE '^[^ ]+:[0-9]+:[0-9]+: (warning|error): ' "$log" || { echo "---- $f"; cat "$log"; }
    done <"$out/tidy-failed.txt"
    status=1
  fi
fi
exit "$status"
