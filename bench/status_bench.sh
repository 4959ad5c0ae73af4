#!/usr/bin/env bash
# `status` at scale (issue 10, section 11): N certificates in the inventory
# (imported, none due, their CA unreachable), and IN_FLIGHT more that renew
# against a local Pebble over and over (renew_before longer than their
# lifetime), so that about IN_FLIGHT renewals are always running. Once the
# start-up jobs are done: 500 `status` requests over the control socket from
# one client, p50 / p99, with how many renewals each answer saw in flight
# and how many were completed meanwhile;
# then one `status --all`, its time and size.
# Prints Markdown. Usage: bench/status_bench.sh [BUILD_DIR] [N] [IN_FLIGHT]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/pebble_env.sh
build=${1:-build}
count=${2:-100000}
in_flight=${3:-32}
ck="$(pwd)/$build/certkeeper"
work=$(mktemp -d /tmp/certkeeper-status-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
chmod 755 "$work"

# Validation after 0 to 5 s, as a real CA takes a while; no authorization
# reuse (Pebble's store deadlocks less: see RESULTS.md).
start_pebble "$work" 27000 5 0
"$build/bench/mint_certificates" "$count" "$work/certs"
config="$work/certkeeper.toml"
{
  printf '[daemon]\nstate_dir = "%s"\nsocket = "%s"\nlog_level = "info"\n\n' "$work/state" "$work/control.sock"
  printf '[issuer.unreachable]\ndirectory = "https://127.0.0.1:9/dir"\n\n'
  printf '[issuer.pebble]\ndirectory = "%s"\nca_file = "%s"\n\n' "$dir_url" "$ca_file"
  ls "$work/certs" | sed 's/\.pem$//' | awk '{
    printf "[[certificate]]\nname = \"%s\"\ndomains = [\"%s\"]\nissuer = \"unreachable\"\n", $1, $1
    printf "challenge = { type = \"http-01\", listen = \"127.0.0.1:9\" }\n\n" }'
  for i in $(seq "$in_flight"); do
    printf '[[certificate]]\nname = "hot%d"\ndomains = ["hot%d.example.test"]\nissuer = "pebble"\n' "$i" "$i"
    printf 'renew_before = "3650d"\nchallenge = { type = "http-01", webroot = "%s" }\n\n' "$webroot"
  done
} > "$config"
import_start=$(date +%s.%N)
"$ck" --config "$config" import "$work/certs" > /dev/null
import_s=$(echo "$(date +%s.%N) - $import_start" | bc)

"$ck" --config "$config" daemon --workers $((in_flight + 8)) --orders-per-ca "$in_flight" \
  2> "$work/daemon.log" &
pid=$!
for _ in $(seq 600); do [ -S "$work/control.sock" ] && break; sleep 0.1; done
ask() { bench/status_client.py "$work/control.sock" --ask "$1"; }  # $1: the args
# Until the start-up burst (a status and an ARI check of every certificate)
# is over and the hot certificates renew.
settle_start=$(date +%s)
while :; do
  state=$(ask '{"limit": 1}')
  pending=$(echo "$state" | python3 -c 'import json,sys; print(json.load(sys.stdin)["daemon"]["jobs_pending"])')
  [ "$pending" -le $((in_flight + 8)) ] && break
  sleep 2
done
settle_s=$(( $(date +%s) - settle_start ))
sleep 5
issued_before=$(grep -c ": issued " "$work/daemon.log" || true)
measure_start=$(date +%s.%N)
measured=$(bench/status_client.py "$work/control.sock" --times 500)
measure_s=$(echo "$(date +%s.%N) - $measure_start" | bc)
issued_during=$(( $(grep -c ": issued " "$work/daemon.log" || true) - issued_before ))
all_start=$(date +%s.%N)
all_bytes=$(ask '{"limit": 0}' | wc -c)
all_s=$(echo "$(date +%s.%N) - $all_start" | bc)
rss_kib=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
issued=$(grep -c ": issued " "$work/daemon.log" || true)
kill -TERM $pid; wait $pid || true

IFS='|' read -r status_ms renewing size <<< "$measured"
echo "### \`status\` at scale: $count certificates in the inventory, $in_flight renewing ($(date -u +%F), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
echo
echo "| measure | value |"
echo "|---|---|"
echo "| import of the $count certificates | $(printf '%.1f' "$import_s") s |"
echo "| start-up jobs done (status and ARI checks of each) | $settle_s s |"
echo "| \`status\` over the socket, 500 requests: p50 / p99 | $status_ms |"
echo "| renewals in flight seen by those answers: min / median / max | $renewing |"
echo "| one answer (100 rows and the summary) | $size |"
echo "| \`status --all\` ($count rows), once, from the bench's Python client | $(printf '%.2f' "$all_s") s, $((all_bytes / 1048576)) MiB |"
echo "| daemon RSS after | $((rss_kib / 1024)) MiB |"
echo "| renewals completed while those were asked | $issued_during in $(printf '%.1f' "$measure_s") s |"
echo "| renewals completed in the whole run | $issued |"
