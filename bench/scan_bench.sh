#!/usr/bin/env bash
# `probe --scan` against openssl s_server, nginx and gnutls-serv with legacy
# priorities (RC4, 3DES, static RSA, TLS 1.0/1.1), beside sslscan in the same
# run, on loopback with one RSA-2048 certificate: the median of 5 of each
# (whole processes), whether both found the same accepted suites at every
# version (by OpenSSL's name, or the IANA name where sslscan gives that), and
# whether `--timeout 1s` and `--timeout 10s` give the same scan. Prints
# Markdown. Usage: bench/scan_bench.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/tls_env.sh
for tool in nginx openssl gnutls-serv sslscan python3; do
  command -v "$tool" >/dev/null || { echo "scan_bench: needs $tool (apt-get install sslscan gnutls-bin)" >&2; exit 2; }
done
build=${1:-build}
ck="$(pwd)/$build/certkeeper"
work=$(mktemp -d /tmp/certkeeper-scan-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
mint_leaf "$work" rsa:2048 keyEncipherment

s_port=$(free_port)
openssl s_server -accept "127.0.0.1:$s_port" -cert "$work/leaf.pem" -key "$work/leaf.key" \
  -www -quiet >/dev/null 2>&1 &
n_port=$(free_port)
start_nginx_tls "$work" "$n_port"
g_port=$(free_port)
gnutls-serv --http --port "$g_port" --x509certfile "$work/leaf.pem" --x509keyfile "$work/leaf.key" \
  --priority "NORMAL:+VERS-TLS1.0:+VERS-TLS1.1:+ARCFOUR-128:+3DES-CBC:+RSA:+SHA1" >/dev/null 2>&1 &
for p in "$s_port" "$g_port"; do wait_port "$p"; done

python3 - "$ck" "$work/root.pem" "s_server=$s_port" "nginx=$n_port" "gnutls-serv=$g_port" <<'PY'
import json, os, re, statistics, subprocess, sys, time

ck, root, servers = sys.argv[1], sys.argv[2], [a.split("=") for a in sys.argv[3:]]
versions = {"TLSv1.0": "TLSv1", "TLSv1.1": "TLSv1.1", "TLSv1.2": "TLSv1.2", "TLSv1.3": "TLSv1.3",
            "SSLv3": "SSLv3", "SSLv2": "SSLv2"}

def timed(cmd):
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    return time.perf_counter() - start, out

def scan(port, timeout):
    return timed([ck, "probe", f"127.0.0.1:{port}", "--sni", "www.example.test", "--ca-file", root,
                  "--scan", "--timeout", timeout, "--json"])

def ours(report):
    return {v["version"]: sorted(c["openssl"] or c["name"] for c in v["ciphers"])
            for v in json.loads(report)["scan"]["versions"]}

def theirs(text):
    found = {}
    for line in text.splitlines():
        m = re.match(r"(Preferred|Accepted)\s+(\S+)\s+\d+ bits\s+(\S+)", line)
        if m:
            found.setdefault(versions[m.group(2)], []).append(m.group(3))
    return {v: sorted(c) for v, c in found.items()}

print("| server | `probe --scan` (median of 5) | sslscan (median of 5) | speed-up | same suites as sslscan | 1s = 10s timeout | suites found |")
print("|---|---|---|---|---|---|---|")
for name, port in servers:
    ck_times, ss_times = [], []
    for _ in range(5):
        t, report = scan(port, "10s")
        ck_times.append(t)
        t, text = timed(["sslscan", "--no-colour", "--sni-name=www.example.test", f"127.0.0.1:{port}"])
        ss_times.append(t)
    mine, other = ours(report), theirs(text)
    same = all(mine.get(v, []) == other.get(v, []) for v in set(mine) | set(other))
    differ = "" if same else " " + "; ".join(
        f"{v}: ours-only {sorted(set(mine.get(v, [])) - set(other.get(v, [])))} sslscan-only "
        f"{sorted(set(other.get(v, [])) - set(mine.get(v, [])))}"
        for v in sorted(set(mine) | set(other)) if mine.get(v, []) != other.get(v, []))
    _, fast = scan(port, "1s")
    stable = json.loads(fast)["scan"]["versions"] == json.loads(report)["scan"]["versions"]
    a, b = statistics.median(ck_times), statistics.median(ss_times)
    print(f"| {name} | {a * 1000:.0f} ms | {b * 1000:.0f} ms | **{b / a:.1f}x** | "
          f"{'yes' if same else 'no' + differ} | {'yes' if stable else 'no'} | "
          f"{sum(len(c) for c in mine.values())} |")
PY
