#!/usr/bin/env bash
# dns-01 by RFC 2136 against a local BIND 9: the time one authorization adds
# apart from waiting for propagation (target: under 20 ms). BIND runs on port
# 53 of 127.0.0.1 in a network namespace of the benchmark's own (root only),
# authoritative for bench.test and taking updates signed with a key made here.
# Prints Markdown. Usage: bench/rfc2136_bench.sh [BUILD_DIR] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
n=${2:-200}
bench="$(pwd)/$build/bench/rfc2136_bench"
[ -x "$bench" ] || { echo "rfc2136_bench: build $bench first" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "rfc2136_bench: needs root (a network namespace)" >&2; exit 2; }
work=$(mktemp -d /tmp/certkeeper-rfc2136-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

tsig-keygen -a hmac-sha256 bench-key >"$work/bench.key"
chmod 600 "$work/bench.key"
cat >"$work/bench.test.db" <<ZONE
\$TTL 60
@ IN SOA ns1.bench.test. admin.bench.test. 1 60 60 600 60
@ IN NS ns1.bench.test.
ns1 IN A 127.0.0.1
ZONE
cat >"$work/named.conf" <<CONF
options { directory "$work"; listen-on { 127.0.0.1; }; listen-on-v6 { none; };
  pid-file "$work/named.pid"; recursion no; notify no; dnssec-validation no; };
controls { };
include "$work/bench.key";
zone "bench.test" { type primary; file "$work/bench.test.db";
  update-policy { grant bench-key zonesub TXT; }; };
CONF

unshare -n bash -c "
  set -e
  ip link set lo up
  named -g -c '$work/named.conf' >'$work/named.log' 2>&1 &
  for i in \$(seq 100); do dig @127.0.0.1 +short bench.test SOA | grep -q . && break; sleep 0.05; done
  '$bench' 127.0.0.1 '$work/bench.key' bench.test $n >'$work/result'
  kill %1
"
get() { awk -v k="$1" '$1 == k {print $2}' "$work/result"; }
cat <<MD
Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; $(named -v).

| per dns-01 authorization, $(get authorizations) of them | ms | target |
|---|---|---|
| median | $(get median_ms) | < 20 |
| 90th percentile | $(get p90_ms) | |
| slowest | $(get max_ms) | |
| mean | $(get mean_ms) | |
MD
