#!/usr/bin/env bash
# Probe benchmark against a local nginx (one worker, TLS 1.3, ECDSA P-256):
#   1. a single `certkeeper probe` with its full report: median of 20 runs (the
#      whole process, and the report's own total);
#   2. `probe --scan` next to `sslscan` on the same server (median of 5);
#   3. bulk: 2,000 probes with --targets at concurrency 1, 64 and 256, next to
#      `openssl s_time -new` full handshakes per second (the upper bound).
# Prints Markdown. Usage: bench/probe_bench.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/tls_env.sh
for tool in nginx openssl sslscan bc; do
  command -v "$tool" >/dev/null || { echo "probe_bench: needs $tool (apt-get install sslscan bc)" >&2; exit 2; }
done
build=${1:-build}
ck="$(pwd)/$build/certkeeper"
work=$(mktemp -d /tmp/certkeeper-probe-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
port=24443

mint_leaf "$work" "ec -pkeyopt ec_paramgen_curve:P-256"
start_nginx_tls "$work" "$port"

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
probe=("$ck" probe "127.0.0.1:$port" --sni www.example.test --ca-file "$work/root.pem")

# Timed as a loop: forking `date` around each run would cost more than a probe.
start=$(now)
for i in $(seq 20); do "${probe[@]}" --json >"$work/single.$i"; done
end=$(now)
single_wall=$(echo "($end - $start) * 1000 / 20" | bc -l)
single_inner=$(cat "$work"/single.* | awk -F: '/"total"/ {gsub(/[ ,]/, "", $2); print $2}' | median)

scan=() sslscan_times=()
for _ in $(seq 5); do
  start=$(now); "${probe[@]}" --scan >/dev/null; end=$(now); scan+=("$(echo "$end - $start" | bc)")
  start=$(now); sslscan --no-colour --sni-name=www.example.test "127.0.0.1:$port" >/dev/null; end=$(now)
  sslscan_times+=("$(echo "$end - $start" | bc)")
done
scan_s=$(printf "%s\n" "${scan[@]}" | median)
sslscan_s=$(printf "%s\n" "${sslscan_times[@]}" | median)

for _ in $(seq 2000); do echo "127.0.0.1:$port www.example.test"; done >"$work/targets"
bulk() {
  local start end
  start=$(now)
  "$ck" probe --targets "$work/targets" --concurrency "$1" --ca-file "$work/root.pem" --json >"$work/bulk.out" || true
  end=$(now)
  local lines valid
  lines=$(wc -l <"$work/bulk.out"); valid=$(grep -c '"chain_valid":true' "$work/bulk.out" || true)
  [ "$valid" -eq 2000 ] || echo "probe_bench: only $valid of $lines probes were valid" >&2
  echo "2000 / ($end - $start)" | bc
}
b1=$(bulk 1); b64=$(bulk 64); b256=$(bulk 256)
stime=$(openssl s_time -connect "127.0.0.1:$port" -new -time 5 2>/dev/null |
  awk '/connections in .* real seconds/ {print $1 / $4}' | head -1)

cat <<MD
Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; $(openssl version | cut -d' ' -f1-2); nginx with one worker, TLS 1.3, ECDSA P-256.

| measure | certkeeper | peer, same run |
|---|---|---|
| single probe, full report (whole process, mean of 20) | $(printf "%.1f" "$single_wall") ms (report total $(printf "%.1f" "$single_inner") ms) | |
| \`probe --scan\` (median of 5) | $(printf "%.3f" "$scan_s") s | sslscan $(printf "%.3f" "$sslscan_s") s: **$(echo "$sslscan_s / $scan_s" | bc -l | xargs printf "%.1f")x** |
| bulk probes / s, concurrency 1 | $b1 | |
| bulk probes / s, concurrency 64 | $b64 | |
| bulk probes / s, concurrency 256 | $b256 | openssl s_time -new: $(printf "%.0f" "$stime") handshakes/s; best bulk = $(echo "100 * $( (echo $b1; echo $b64; echo $b256) | sort -n | tail -1) / $stime" | bc -l | xargs printf "%.0f")% |
MD
