#!/usr/bin/env bash
# The renewal storm: N configured certificates, all due at once (none issued
# yet), against a local Pebble (PEBBLE_VA_NOSLEEP=1, no nonce rejection), in
# one `certkeeper daemon` process: the time until all N are issued and the
# service's peak RSS. For comparison on the same Pebble and machine, 100
# certificates by 32 `certkeeper issue` processes at once. http-01 by webroot
# behind nginx in both, so that every order shares Pebble's one port. The
# account is registered once beforehand in both.
# Prints Markdown. Usage: bench/storm_bench.sh [BUILD_DIR] [N] [WORKERS] [ORDERS_PER_CA]
# KEEP=1 keeps the work directory (logs of the daemon, Pebble and nginx) for a look after;
# it is made under $TMPDIR (default /tmp).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v bc >/dev/null || { echo "storm_bench: needs bc" >&2; exit 2; }
. bench/pebble_env.sh
build=${1:-build}
count=${2:-1000}
workers=${3:-32}
per_ca=${4:-32}
ck="$(pwd)/$build/certkeeper"
work=$(mktemp -d "${TMPDIR:-/tmp}/certkeeper-storm-bench.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
chmod 755 "$work"

start_pebble "$work" 26000
now() { date +%s.%N; }

# Baseline: 100 certificates, 32 `certkeeper issue` processes at once.
base_state="$work/processes"
"$ck" --state-dir "$base_state" issue --server "$dir_url" --ca-file "$ca_file" \
  --domain warmup.example.test --webroot "$webroot" >/dev/null
start=$(now)
seq 100 | xargs -P 32 -I{} "$ck" --state-dir "$base_state" issue --server "$dir_url" \
  --ca-file "$ca_file" --domain "p{}.example.test" --webroot "$webroot" >/dev/null 2>>"$work/errors.log"
processes_s=$(echo "$(now) - $start" | bc)

# The storm: one service, N certificates due at once.
config="$work/certkeeper.toml"
printf '[daemon]\nstate_dir = "%s"\nsocket = "%s"\nlog_level = "info"\n\n' "$work/state" "$work/control.sock" > "$config"
printf '[issuer.pebble]\ndirectory = "%s"\nca_file = "%s"\n\n' "$dir_url" "$ca_file" >> "$config"
for i in $(seq "$count"); do
  printf '[[certificate]]\nname = "s%d"\ndomains = ["s%d.example.test"]\nchallenge = { type = "http-01", webroot = "%s" }\n\n' \
    "$i" "$i" "$webroot" >> "$config"
done
"$ck" --config "$config" issue --server "$dir_url" --ca-file "$ca_file" \
  --domain warmup.example.test --webroot "$webroot" >/dev/null
start=$(now)
"$ck" --config "$config" daemon --workers "$workers" --orders-per-ca "$per_ca" 2> "$work/daemon.log" &
pid=$!
issued=0
while [ "$issued" -lt "$count" ] && kill -0 $pid 2>/dev/null; do
  sleep 0.2
  issued=$(grep -c ": issued " "$work/daemon.log" || true)
done
storm_s=$(echo "$(now) - $start" | bc)
hwm_kib=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
failed=$(grep -c "renewal failed" "$work/daemon.log" || true)
kill -TERM $pid; wait $pid || true

per100_processes=$(echo "$processes_s" | bc -l)
per100_storm=$(echo "$storm_s * 100 / $count" | bc -l)
echo "### Renewal storm: $count certificates due at once, one service ($(date +%F), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //; s/ [0-9]*-Core.*//'))"
echo
echo "| run | certificates | wall time | per 100 | throughput |"
echo "|---|---|---|---|---|"
printf "| 32 \`certkeeper issue\` processes | 100 | %.2f s | %.2f s | %.1f /s |\n" "$processes_s" "$per100_processes" "$(echo "100 / $processes_s" | bc -l)"
printf "| one \`certkeeper daemon\` (--workers %d --orders-per-ca %d) | %d | %.2f s | %.2f s | %.1f /s |\n" \
  "$workers" "$per_ca" "$count" "$storm_s" "$per100_storm" "$(echo "$count / $storm_s" | bc -l)"
echo
printf "Service peak RSS: %.1f MiB; renewals failed along the way: %d.\n" "$(echo "$hwm_kib / 1024" | bc -l)" "$failed"
