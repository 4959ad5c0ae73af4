#!/usr/bin/env bash
# The metrics listener at scale (issue 11): N managed certificates (imported,
# none due), then
#   1. the daemon's RSS once its start-up jobs are done, without the listener
#      and with it (two starts each, in turn);
#   2. /metrics: 50 scrapes with curl, p50 / p99 and the size;
#   3. the status page: 20 loads, p50 / p99 and the size;
#   4. the RSS with the listener after those requests, and after 10 s more.
# Prints Markdown. Usage: bench/monitoring_bench.sh [BUILD_DIR] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
count=${2:-10000}
ck="$(pwd)/$build/certkeeper"
work=$(mktemp -d /tmp/certkeeper-monitoring-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=Bench CA" \
  -addext "basicConstraints=critical,CA:TRUE" -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$work/leaf.key"
openssl req -new -key "$work/leaf.key" -subj "/CN=bench" -out "$work/leaf.csr" 2>/dev/null
mkdir -p "$work/certs"
export work
# Two at a time: one openssl per certificate, each with its own names and lifetime.
seq -w 1 "$count" | xargs -P 2 -I{} sh -c '
  name="c{}.example.test"
  openssl x509 -req -in "$work/leaf.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
    -days $((30 + 1{} % 360)) -subj "/CN=$name" \
    -extfile /dev/stdin -out "$work/certs/$name.pem" 2>/dev/null <<X
subjectAltName=DNS:$name
X'
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
write_config() {  # $1: the [metrics] section, or nothing
  {
    printf '[daemon]\nstate_dir = "%s"\nsocket = "%s"\nlog_level = "warn"\n\n' "$work/state" "$work/control.sock"
    printf '[issuer.ca]\ndirectory = "https://127.0.0.1:9/dir"\n\n'
    for f in "$work"/certs/*.pem; do
      name=$(basename "$f" .pem)
      printf '[[certificate]]\nname = "%s"\ndomains = ["%s"]\nchallenge = { type = "http-01", listen = "127.0.0.1:9" }\n\n' "$name" "$name"
    done
    printf '%s' "$1"
  } > "$work/certkeeper.toml"
}
write_config ""
"$ck" --config "$work/certkeeper.toml" import "$work/certs" 2> /dev/null > /dev/null

rss_mib() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
start_daemon() {
  "$ck" --config "$work/certkeeper.toml" daemon 2>> "$work/daemon.log" &
  pid=$!
  for _ in $(seq 300); do [ -S "$work/control.sock" ] && break; sleep 0.1; done
  # Until the start-up burst of jobs (a status check of each certificate) is over.
  for _ in $(seq 600); do
    pending=$("$ck" --config "$work/certkeeper.toml" metrics | awk '/^certkeeper_jobs_pending/ {print $2}')
    [ "$pending" = 0 ] && break
    sleep 0.5
  done
  sleep 2
}
stop_daemon() { kill -TERM "$pid"; wait "$pid" || true; }
# p50 / p99 of `curl` total times over $2 requests for $1, in ms, and the size.
timed() {
  for _ in $(seq "$2"); do
    curl -s -o "$work/body" -w '%{time_total}\n' "http://127.0.0.1:$port$1"
  done | sort -n > "$work/times"
  awk -v size="$(stat -c %s "$work/body")" \
    '{t[NR] = $1 * 1000} END {p99 = int(NR * 0.99); if (p99 < 1) p99 = 1;
      printf "%.1f / %.1f ms, %.2f MB", t[int((NR + 1) / 2)], t[p99], size / 1e6}' "$work/times"
}

# The listener off and on, twice each in turn: a start itself varies.
rss_off=""; rss_on=""
for round in 1 2; do
  write_config ""
  start_daemon
  rss_off="$rss_off $(rss_mib "$pid")"
  stop_daemon
  write_config "$(printf '[metrics]\nlisten = "127.0.0.1:%s"\n' "$port")"
  start_daemon
  rss_on="$rss_on $(rss_mib "$pid")"
  [ "$round" -eq 2 ] || stop_daemon
done
scrape=$(timed /metrics 50)
page=$(timed / 20)
rss_after=$(rss_mib "$pid")
sleep 10
rss_later=$(rss_mib "$pid")
curl -s "http://127.0.0.1:$port/metrics" | promtool check metrics > /dev/null && lint=passes || lint=fails
stop_daemon

echo "### The metrics listener: $count managed certificates ($(date -u +%F), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
echo
echo "| measure | value |"
echo "|---|---|"
echo "| RSS once the start-up jobs are done, two starts each: listener off / on | ${rss_off# } MiB / ${rss_on# } MiB |"
echo "| \`/metrics\`, 50 scrapes: p50 / p99, size | $scrape (promtool check metrics $lint) |"
echo "| status page, 20 loads: p50 / p99, size | $page |"
echo "| RSS with the listener after those requests / 10 s later | $rss_after MiB / $rss_later MiB |"
