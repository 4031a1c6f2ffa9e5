#!/bin/bash
# All-pairs speed: embstat against this machine's sgemm and against the numpy peer, same data.
#
# Per shape (default 32768x1024): bench/allpairs_bench writes a synthetic float32 .npy (N(0,1) +
# a shared direction, seeded) and measures, in one run, the machine's sgemm rate and the engine's
# effective rate n (n - 1) d / wall (also per CPU second: the machine is shared, and CPU time is
# what other jobs disturb least); then `embstat pairs` runs on the file end to end (load included)
# and bench/peers/pairs_numpy.py does the same work the straightforward numpy way. Wall time and
# peak RSS from /usr/bin/time; the counts of both are printed side by side.
#
# usage: bench/pairs_bench.sh [BUILD_DIR] [DATA_DIR]     (defaults: build, /tmp/embstat-bench)
#   SHAPES="32768x1024 151936x1024"  THREADS=2  REPS=3 (allpairs_bench rounds)  CLI=1 (0 skips the CLI run)
#   PEER=1 (0 skips numpy)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
data=${2:-/tmp/embstat-bench}
shapes=${SHAPES:-32768x1024}
threads=${THREADS:-2}
peer=${PEER:-1}
cli=${CLI:-1}
reps=${REPS:-3}
py=/usr/bin/python3
for exe in "$build/embstat" "$build/bench/allpairs_bench"; do
  [ -x "$exe" ] || { echo "no $exe: build first (cmake --build $build)" >&2; exit 1; }
done
mkdir -p "$data"

# Runs a command; prints "<wall s> <peak MB> <cpu s>", keeps its stdout in $data/last.out.
measure() {
  /usr/bin/time -f "%e %M %U %S" -o "$data/time.txt" "$@" > "$data/last.out" 2> "$data/last.err" ||
    { cat "$data/last.err" >&2; exit 1; }
  awk '{printf "%s %.0f %.1f\n", $1, $2 / 1024, $3 + $4}' "$data/time.txt"
}
field() { $py -c "import json,sys; d=json.load(open(sys.argv[1])); d=d['models'][0] if 'models' in d else d; print(d[sys.argv[2]])" "$1" "$2"; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg); $("$build/embstat" --version)"
for shape in $shapes; do
  rows=${shape%x*}; dim=${shape#*x}
  file=$data/pairs-$shape-f32.npy
  echo
  echo "== $rows x $dim float32, $threads threads"
  read -r b_wall b_mb b_cpu < <(measure "$build/bench/allpairs_bench" --rows "$rows" --dim "$dim" --threads "$threads" \
    --reps "$reps" --write-npy "$file")
  cat "$data/last.out"
  echo "(allpairs_bench process: $b_wall s wall, $b_cpu s CPU, $b_mb MB peak RSS; the f32 rows are $((rows * dim * 4 / 1048576)) MB)"
  cat "$file" > /dev/null
  if [ "$cli" = 1 ]; then
    read -r e_wall e_mb e_cpu < <(measure "$build/embstat" --threads "$threads" -q pairs "$file" --format json)
    cp "$data/last.out" "$data/embstat.json"
    printf '%-22s %9s s wall %9s s CPU %7s MB peak RSS   negative %s  mean %s\n' "embstat pairs (CLI)" "$e_wall" "$e_cpu" \
      "$e_mb" "$(field "$data/embstat.json" negative)" "$(field "$data/embstat.json" mean)"
  fi
  if [ "$peer" = 1 ]; then
    read -r n_wall n_mb n_cpu < <(measure $py "$here/peers/pairs_numpy.py" "$file" --threads "$threads")
    cp "$data/last.out" "$data/numpy.json"
    printf '%-22s %9s s wall %9s s CPU %7s MB peak RSS   negative %s  mean %s\n' "numpy peer" "$n_wall" "$n_cpu" "$n_mb" \
      "$(field "$data/numpy.json" negative)" "$(field "$data/numpy.json" mean)"
    [ "$cli" = 1 ] && awk -v ew="$e_wall" -v nw="$n_wall" -v ec="$e_cpu" -v nc="$n_cpu" \
      'BEGIN{printf "embstat vs numpy: %.2fx faster by wall time, %.2fx by CPU time\n", nw/ew, nc/ec}'
  fi
done
