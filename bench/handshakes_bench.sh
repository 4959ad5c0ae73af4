#!/usr/bin/env bash
# `probe --handshakes` against a local nginx (one worker, TLS 1.2 and 1.3,
# ECDSA P-256, 0-RTT on, a session cache, two groups so that a key share for
# a third draws a HelloRetryRequest): the whole report, process and all,
# timed over 20 runs (default --repeat 5); and, in every run, each kind's
# reported time checked against its own --trace, from the first ClientHello
# to the second Finished (within 0.1 ms). Prints Markdown: the figures and the
# table of one run. Usage: bench/handshakes_bench.sh [BUILD_DIR] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in nginx openssl python3; do
  command -v "$tool" >/dev/null || { echo "handshakes_bench: needs $tool" >&2; exit 2; }
done
build=${1:-build}
runs=${2:-20}
ck="$(pwd)/$build/certkeeper"
work=$(mktemp -d /tmp/certkeeper-handshakes-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=Bench Root" \
  -keyout "$work/root.key" -out "$work/root.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=www.example.test" \
  -keyout "$work/leaf.key" -out "$work/leaf.csr" 2>/dev/null
openssl x509 -req -in "$work/leaf.csr" -CA "$work/root.pem" -CAkey "$work/root.key" -days 2 \
  -extfile <(printf "subjectAltName=DNS:www.example.test\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n") \
  -out "$work/leaf.pem" 2>/dev/null
mkdir -p "$work/nginx/logs"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$port ssl;
    server_name www.example.test;
    ssl_certificate $work/leaf.pem;
    ssl_certificate_key $work/leaf.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_early_data on;
    ssl_session_cache shared:bench:1m;
    ssl_ecdh_curve X25519:prime256v1;
    location / { return 200 "ok\n"; }
  }
}
CONF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g "daemon off;" &
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done

python3 - "$runs" "$ck" probe "127.0.0.1:$port" --sni www.example.test --ca-file "$work/root.pem" \
  --handshakes --trace --json <<'PY'
import json, os, platform, statistics, subprocess, sys, time

runs, command = int(sys.argv[1]), sys.argv[2:]
walls, worst_gap, checked, reports = [], 0.0, 0, []
for _ in range(runs):
    start = time.perf_counter()
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    walls.append((time.perf_counter() - start) * 1000)
    report = json.loads(out)
    reports.append(report)
    for row in report["handshake_costs"]:
        if not row["measured"]:
            continue
        trace, finished = row["trace"], 0
        assert trace[0]["message"] == "ClientHello", row
        for m in trace:
            finished += m["message"] == "Finished"
            if finished == 2:
                break
        gap = abs(row["median_ms"] - (m["at_ms"] - trace[0]["at_ms"]))
        worst_gap = max(worst_gap, gap)
        checked += 1
        if gap > 0.1:
            sys.exit(f"handshakes_bench: {row['kind']}: {row['median_ms']} ms, trace says "
                     f"{m['at_ms'] - trace[0]['at_ms']} ms")

cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
ssl = subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout.split()[:2]
print(f"Machine: {cpu}, {os.cpu_count()} cores; {' '.join(ssl)}; nginx with one worker, "
      "TLS 1.2 and 1.3, ECDSA P-256, 0-RTT on, a shared session cache, groups X25519 and P-256.\n")
print("| measure | figure |\n|---|---|")
print(f"| whole `probe --handshakes` report, process and all (median of {runs}) | "
      f"{statistics.median(walls):.1f} ms (max {max(walls):.1f} ms) |")
print(f"| each kind's time against its own `--trace` ({checked} rows) | "
      f"largest difference {worst_gap:.6f} ms (bound 0.1 ms) |\n")
middle = sorted(reports, key=lambda r: sum(c.get("median_ms", 0) for c in r["handshake_costs"]))
print("| handshake | round trips | before data | median ms | server ms | bytes sent | bytes received |")
print("|---|---|---|---|---|---|---|")
for c in middle[len(middle) // 2]["handshake_costs"]:
    if c["measured"]:
        print(f"| {c['kind']} | {c['round_trips']} | {c['round_trips_before_data']} | "
              f"{c['median_ms']:.3f} | {c['server_ms']:.3f} | {c['bytes_sent']} | {c['bytes_received']} |")
    else:
        print(f"| {c['kind']} | not measured: {c['reason']} | | | | | |")
PY
