#!/usr/bin/env bash
# Runs scripts/test.sh RUNS times in a row (default 20) beside one CPU-bound
# process, as CI's busy machine would, and stops at the first failure: a test
# that fails one run in twenty shows here. Each run's output is kept in
# build-soak/run-N.log. Run it on a clean clone (git clone . /tmp/ck-clean):
# a green run in a working tree can hide an untracked file.
# Usage: scripts/soak.sh [--runs N] [--skip-install] [--skip-sanitizers]
set -euo pipefail
cd "$(dirname "$0")/.."

runs=20
skip_install=0
test_args=(--skip-install)
while [ $# -gt 0 ]; do
  case "$1" in
    --runs)
      [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || { echo "soak.sh: --runs needs a positive number" >&2; exit 2; }
      runs=$2
      shift
      ;;
    --skip-install) skip_install=1 ;;
    --skip-sanitizers) test_args+=(--skip-sanitizers) ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "soak.sh: unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done

[ "$skip_install" -eq 1 ] || scripts/install-deps.sh

head=$(git rev-parse --short HEAD 2>/dev/null || echo "not a git checkout")
[ -z "$(git status --porcelain 2>/dev/null)" ] || head="$head (with local changes)"
mkdir -p build-soak
rm -f build-soak/run-*.log

bash -c 'while :; do :; done' &
burner=$!
trap 'kill "$burner" 2>/dev/null || true' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "soak: $runs runs of scripts/test.sh on $head beside one CPU-bound process"
durations=()
for n in $(seq 1 "$runs"); do
  log="build-soak/run-$n.log"
  start=$(date +%s)
  if bash scripts/test.sh "${test_args[@]}" >"$log" 2>&1 </dev/null; then
    durations+=($(($(date +%s) - start)))
    echo "run $n/$runs: passed in ${durations[-1]} s"
  else
    echo "run $n/$runs: FAILED after $(($(date +%s) - start)) s; $log ends:"
    tail -n 40 "$log"
    echo "soak: $((n - 1)) green in a row on $head, then a failure"
    exit 1
  fi
done

mapfile -t sorted < <(printf '%s\n' "${durations[@]}" | sort -n)
echo "soak: $runs of $runs green in a row on $head;" \
  "a run took ${sorted[0]} s to ${sorted[-1]} s, median ${sorted[$((runs / 2))]} s"
