#!/usr/bin/env bash
# The renewal storm: N configured certificates, all due at once (none issued
# yet), against a local Pebble (PEBBLE_VA_NOSLEEP=1, no nonce rejection), in
# one `certkeeper daemon` process: the time until all N are issued and the
# service's peak RSS. For comparison on the same Pebble and machine, 100
# certificates by 32 `certkeeper issue` processes at once. http-01 by webroot
# behind nginx in both, so that every order shares Pebble's one port. The
# account is registered once beforehand in both.
# Prints Markdown. Usage: bench/storm_bench.sh [BUILD_DIR] [N] [WORKERS] [ORDERS_PER_CA]
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in pebble pebble-challtestsrv nginx bc curl; do
  command -v "$tool" >/dev/null || { echo "storm_bench: needs $tool" >&2; exit 2; }
done
build=${1:-build}
count=${2:-1000}
workers=${3:-32}
per_ca=${4:-32}
ck="$(pwd)/$build/certkeeper"
work=$(mktemp -d /tmp/certkeeper-storm-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
chmod 755 "$work"

base=26000
dir_url="https://127.0.0.1:$base/dir"
http_port=$((base + 2))
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=pebble" \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$work/tls.key" -out "$work/tls.pem" 2>/dev/null
cat > "$work/pebble.json" <<JSON
{"pebble": {"listenAddress": "127.0.0.1:$base", "managementListenAddress": "127.0.0.1:$((base + 1))",
  "certificate": "$work/tls.pem", "privateKey": "$work/tls.key", "httpPort": $http_port,
  "tlsPort": $((base + 3)), "ocspResponderURL": "", "externalAccountBindingRequired": false}}
JSON
pebble-challtestsrv -http01 "" -https01 "" -tlsalpn01 "" -dns01 127.0.0.1:$((base + 53)) \
  -management 127.0.0.1:$((base + 55)) -defaultIPv4 127.0.0.1 -defaultIPv6 "" >"$work/chall.log" 2>&1 &
PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 pebble -config "$work/pebble.json" \
  -dnsserver 127.0.0.1:$((base + 53)) >"$work/pebble.log" 2>&1 &
webroot="$work/www"; mkdir -p "$webroot/.well-known/acme-challenge" "$work/nginx/logs"
cat > "$work/nginx/nginx.conf" <<NGINX
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events {}
http { access_log off; server { listen 127.0.0.1:$http_port; root $webroot; } }
NGINX
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g "daemon off;" &
for _ in $(seq 100); do curl -s --cacert "$work/tls.pem" "$dir_url" >/dev/null && break; sleep 0.1; done
for _ in $(seq 100); do curl -s "http://127.0.0.1:$http_port/" >/dev/null && break; sleep 0.1; done
now() { date +%s.%N; }

# Baseline: 100 certificates, 32 `certkeeper issue` processes at once.
base_state="$work/processes"
"$ck" --state-dir "$base_state" issue --server "$dir_url" --ca-file "$work/tls.pem" \
  --domain warmup.example.test --webroot "$webroot" >/dev/null
start=$(now)
seq 100 | xargs -P 32 -I{} "$ck" --state-dir "$base_state" issue --server "$dir_url" \
  --ca-file "$work/tls.pem" --domain "p{}.example.test" --webroot "$webroot" >/dev/null 2>>"$work/errors.log"
processes_s=$(echo "$(now) - $start" | bc)

# The storm: one service, N certificates due at once.
config="$work/certkeeper.toml"
printf '[daemon]\nstate_dir = "%s"\nsocket = "%s"\nlog_level = "info"\n\n' "$work/state" "$work/control.sock" > "$config"
printf '[issuer.pebble]\ndirectory = "%s"\nca_file = "%s"\n\n' "$dir_url" "$work/tls.pem" >> "$config"
for i in $(seq "$count"); do
  printf '[[certificate]]\nname = "s%d"\ndomains = ["s%d.example.test"]\nchallenge = { type = "http-01", webroot = "%s" }\n\n' \
    "$i" "$i" "$webroot" >> "$config"
done
"$ck" --config "$config" issue --server "$dir_url" --ca-file "$work/tls.pem" \
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
