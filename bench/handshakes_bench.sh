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
. bench/tls_env.sh
for tool in nginx openssl python3; do
  command -v "$tool" >/dev/null || { echo "handshakes_bench: needs $tool" >&2; exit 2; }
done
build=${1:-build}
runs=${2:-20}
ck="$(pwd)/$build/certkeeper"
work=$(mktemp -d /tmp/certkeeper-handshakes-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(free_port)

mint_leaf "$work" "ec -pkeyopt ec_paramgen_curve:P-256"
start_nginx_tls "$work" "$port" 'ssl_early_data on; ssl_session_cache shared:bench:1m;
    ssl_ecdh_curve X25519:prime256v1; location / { return 200 "ok\n"; }'

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
