#!/usr/bin/env bash
# The service at rest: N managed certificates (imported, none due), then
#   1. its RSS once started, and its peak;
#   2. CPU time and wake-ups (context switches of all its threads) over 60 s;
#   3. `status` over the control socket: 200 requests from one client, p50/p99;
#   4. the scheduler's planning pass for 100,000 certificates (build/bench/scheduler_bench).
# Prints Markdown. Usage: bench/daemon_bench.sh [BUILD_DIR] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
count=${2:-1000}
ck="$(pwd)/$build/certkeeper"
work=$(mktemp -d /tmp/certkeeper-daemon-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=Bench CA" \
  -addext "basicConstraints=critical,CA:TRUE" -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$work/leaf.key"
mkdir -p "$work/certs"
config="$work/certkeeper.toml"
printf '[daemon]\nstate_dir = "%s"\nsocket = "%s"\nlog_level = "warn"\n\n' "$work/state" "$work/control.sock" > "$config"
printf '[issuer.ca]\ndirectory = "https://127.0.0.1:9/dir"\n\n' >> "$config"
for i in $(seq -w 1 "$count"); do
  name="c$i.example.test"
  openssl req -new -key "$work/leaf.key" -subj "/CN=$name" -out "$work/leaf.csr" 2>/dev/null
  openssl x509 -req -in "$work/leaf.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -days 90 \
    -extfile <(printf "subjectAltName=DNS:%s\n" "$name") -out "$work/certs/$name.pem" 2>/dev/null
  printf '[[certificate]]\nname = "%s"\ndomains = ["%s"]\nchallenge = { type = "http-01", listen = "127.0.0.1:9" }\n\n' \
    "$name" "$name" >> "$config"
done
"$ck" --config "$config" import "$work/certs" > /dev/null

"$ck" --config "$config" daemon 2> "$work/daemon.log" &
pid=$!
for _ in $(seq 100); do [ -S "$work/control.sock" ] && break; sleep 0.1; done
sleep 5
rss_kib=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
switches() { cat /proc/$pid/task/*/status | awk '/ctxt_switches/ {s += $2} END {print s}'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
s0=$(switches); c0=$(cpu_ticks)
sleep 60
s1=$(switches); c1=$(cpu_ticks)
hwm_kib=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
hz=$(getconf CLK_TCK)
status_ms=$(bench/status_client.py "$work/control.sock" --times 200 | cut -d'|' -f1)
kill -TERM $pid; wait $pid || true

echo "### The service at rest: $count managed certificates, none due ($(date -u +%F), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
echo
echo "| measure | value |"
echo "|---|---|"
echo "| RSS 5 s after start / peak | $((rss_kib / 1024)).$(( (rss_kib % 1024) * 10 / 1024 )) MiB / $((hwm_kib / 1024)).$(( (hwm_kib % 1024) * 10 / 1024 )) MiB |"
echo "| CPU over 60 s at rest | $(( (c1 - c0) * 1000 / hz )) ms ($(echo "scale=3; ($c1 - $c0) * 100 / $hz / 60" | bc)%) |"
echo "| context switches (wake-ups) over 60 s, all threads | $((s1 - s0)) |"
echo "| \`status\` over the socket, 200 requests: p50 / p99 | $status_ms |"
"$(pwd)/$build/bench/scheduler_bench"
