#!/bin/bash
# Times `embstat sample` against the study's method and its peers (bench/peers/study_torch.py) on
# synthetic bf16 safetensors files of Qwen3-0.6B shape (151,936 x 1,024) and Qwen3-4B shape
# (151,936 x 2,560), 50 targets, end to end: process start (imports included) to printed table.
# Wall time, CPU time (user + sys: what other jobs on a shared machine disturb least) and peak
# resident memory from /usr/bin/time; the files are read once first so every tool starts from the
# page cache. All tools get the same 50 target ids, so their rows can be
# compared. Fast tools: best of $REPEAT runs; the per-target study methods run once. embstat runs
# twice: with its bf16 kernel (the default on AVX512-BF16 CPUs) and as embstat-f32 with
# EMBSTAT_NO_BF16_KERNEL=1 (decode to f32 + sgemm, the path of every other dtype).
#
# usage: bench/sample_bench.sh [BUILD_DIR] [DATA_DIR]     (defaults: build, /tmp/embstat-bench)
#   SHAPES="151936x1024 151936x2560"  PEERS="study-torch study-numpy batched-torch batched-numpy"
#   REPEAT=3  THREADS=2
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
data=${2:-/tmp/embstat-bench}
exe=$build/embstat
shapes=${SHAPES:-151936x1024 151936x2560}
peers=${PEERS:-study-torch study-numpy batched-torch batched-numpy}
repeat=${REPEAT:-3}
threads=${THREADS:-2}
py=/usr/bin/python3
[ -x "$exe" ] || { echo "no $exe: build first (cmake --build $build)" >&2; exit 1; }
mkdir -p "$data"

# One run: prints "<wall s> <peak MB> <cpu s>" and keeps the tool's stdout in $data/sample-last.out.
measure() {
  /usr/bin/time -f "%e %M %U %S" -o "$data/sample-time.txt" "$@" > "$data/sample-last.out" 2> "$data/sample-last.err" ||
    { cat "$data/sample-last.err" >&2; exit 1; }
  awk '{printf "%s %.0f %.2f\n", $1, $2 / 1024, $3 + $4}' "$data/sample-time.txt"
}
best_of() {  # n command...: the run with the least wall time
  local n=$1 best="" line; shift
  for ((i = 0; i < n; i++)); do
    line=$(measure "$@")
    if [ -z "$best" ] || awk -v a="${line%% *}" -v b="${best%% *}" 'BEGIN{exit !(a < b)}'; then best=$line; fi
  done
  echo "$best"
}

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo); $($exe --version)"
echo "threads: embstat --threads $threads, torch.set_num_threads($threads), numpy: OpenBLAS default"
summary=()
for shape in $shapes; do
  rows=${shape%x*}; dim=${shape#*x}
  file=$data/synthetic-$shape-bf16.safetensors
  [ -f "$file" ] || { echo "writing $file" >&2; $py "$here/make_synthetic.py" "$file" --rows "$rows" --dim "$dim"; }
  cat "$file" > /dev/null
  targets=$($py -c "import random; print(','.join(map(str, random.Random(0).sample(range($rows), 50))))")
  echo
  echo "== $shape bf16 ($(du -m "$file" | cut -f1) MB), 50 targets"
  read -r e_wall e_mb e_cpu < <(best_of "$repeat" "$exe" --threads "$threads" -q sample "$file" --targets "$targets" --format markdown)
  printf '%-14s %8s s %7s MB %7s s cpu   %s\n' embstat "$e_wall" "$e_mb" "$e_cpu" "$(tail -1 "$data/sample-last.out")"
  # The same with the bf16 kernel switched off: the f32 path every other dtype takes.
  read -r wall mb cpu < <(best_of "$repeat" env EMBSTAT_NO_BF16_KERNEL=1 "$exe" --threads "$threads" -q sample "$file" --targets "$targets" --format markdown)
  printf '%-14s %8s s %7s MB %7s s cpu   %s\n' embstat-f32 "$wall" "$mb" "$cpu" "$(tail -1 "$data/sample-last.out")"
  summary+=("$(awk -v s="$shape" -v p=embstat-f32 -v w="$wall" -v m="$mb" -v c="$cpu" -v ew="$e_wall" -v em="$e_mb" -v ec="$e_cpu" \
    'BEGIN{printf "%-12s %-14s %8.2f s %6d MB %7.2f s cpu   wall x%6.1f  cpu x%6.1f  memory x%5.2f", s, p, w, m, c, w/ew, c/ec, m/em}')")
  for peer in $peers; do
    n=1; [[ $peer == batched-* ]] && n=$repeat
    read -r wall mb cpu < <(best_of "$n" $py "$here/peers/study_torch.py" "$peer" "$file" --targets "$targets" --threads "$threads")
    printf '%-14s %8s s %7s MB %7s s cpu   %s\n' "$peer" "$wall" "$mb" "$cpu" "$(tail -1 "$data/sample-last.out")"
    summary+=("$(awk -v s="$shape" -v p="$peer" -v w="$wall" -v m="$mb" -v c="$cpu" -v ew="$e_wall" -v em="$e_mb" -v ec="$e_cpu" \
      'BEGIN{printf "%-12s %-14s %8.2f s %6d MB %7.2f s cpu   wall x%6.1f  cpu x%6.1f  memory x%5.2f", s, p, w, m, c, w/ew, c/ec, m/em}')")
  done
  summary+=("$(printf '%-12s %-14s %8.2f s %6d MB %7.2f s cpu' "$shape" embstat "$e_wall" "$e_mb" "$e_cpu")")
done
echo
echo "== ratios: peer / embstat (x > 1: embstat is faster / smaller); load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%s\n' "${summary[@]}"
