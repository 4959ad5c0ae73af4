#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang-19 with ASan and UBSan) and runs
# each for SECONDS (default 600), two at a time, from its seeds in
# fuzz/corpus/TARGET/ plus truncated and bit-flipped copies of them. What each
# run found is kept in build-fuzz/corpus/TARGET/ (the corpus grows from run to
# run); a crashing input is kept in build-fuzz/crashes/ and fails the script.
# Prints a Markdown table: executions per second, coverage, corpus size.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
command -v clang++-19 >/dev/null || {
  echo "fuzz.sh: needs clang-19 and libFuzzer: apt-get install clang-19 libclang-rt-19-dev" >&2
  exit 2
}
CXX=clang++-19 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCERTKEEPER_FUZZ=ON -DCERTKEEPER_BUILD_TESTS=OFF -DCERTKEEPER_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz -j2 >/dev/null
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cd fuzz && ls fuzz_*.cc | sed 's/\.cc$//')
mkdir -p build-fuzz/crashes build-fuzz/logs

# Seeds, and for each a truncated copy and one with a byte flipped.
prepare_corpus() {
  local name=${1#fuzz_} dir="build-fuzz/corpus/$1"
  mkdir -p "$dir"
  for seed in fuzz/corpus/"$name"/*; do
    [ -f "$seed" ] || continue
    local base size
    base=$(basename "$seed")
    size=$(stat -c %s "$seed")
    cp "$seed" "$dir/$base"
    head -c $((size / 2)) "$seed" > "$dir/$base.truncated"
    python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); i = len(b) * 2 // 3
if b: b[i] ^= 0x41
open(sys.argv[2], "wb").write(b)' "$seed" "$dir/$base.flipped"
  done
}

run_one() {
  local target=$1
  prepare_corpus "$target"
  # -rss_limit_mb: the default 2 GiB, said; -timeout: one input may take 10 s.
  "build-fuzz/fuzz/$target" "build-fuzz/corpus/$target" -max_total_time="$seconds" \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="build-fuzz/crashes/$target-" > "build-fuzz/logs/$target.log" 2>&1
}

failed=0
pids=()
for target in "${targets[@]}"; do
  run_one "$target" &
  pids+=($!)
  if [ ${#pids[@]} -ge 2 ]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done

echo "| target | seconds | executions | exec/s | coverage (edges) | features | corpus |"
echo "|---|---|---|---|---|---|---|"
for target in "${targets[@]}"; do
  log="build-fuzz/logs/$target.log"
  stat() { awk -v k="$1" '$1 == k ":" {print $2}' "$log" | tail -1; }
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(echo "$last" | grep -o 'cov: [0-9]*' | cut -d' ' -f2)
  ft=$(echo "$last" | grep -o 'ft: [0-9]*' | cut -d' ' -f2)
  echo "| $target | $seconds | $(stat stat::number_of_executed_units) | $(stat stat::average_exec_per_sec) | ${cov:-?} | ${ft:-?} | $(ls "build-fuzz/corpus/$target" | wc -l) |"
done
if [ "$failed" -ne 0 ] || [ -n "$(ls build-fuzz/crashes)" ]; then
  echo "fuzz.sh: a target failed; inputs in build-fuzz/crashes/, logs in build-fuzz/logs/" >&2
  exit 1
fi
