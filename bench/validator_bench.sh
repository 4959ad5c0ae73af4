#!/usr/bin/env bash
# Validator benchmark: chain verifications per second next to `openssl speed`'s
# verify operations in the same run (a 3-certificate chain costs two signature
# verifications, so its bound is half the verify rate), OCSP response
# verifications per second, the name-constraint worst case, and a
# 1,000,000-entry CRL: parse time, lookups per second, peak RSS. Prints
# Markdown. Usage: bench/validator_bench.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
bench="$build/bench/validator_bench"
[ -x "$bench" ] || { echo "validator_bench: build $bench first" >&2; exit 2; }
work=$(mktemp -d /tmp/certkeeper-validator-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

speed=$(openssl speed -seconds 2 ecdsap256 rsa2048 2>/dev/null)
p256_verify=$(awk '/nistp256/ {print $NF}' <<<"$speed")
rsa_verify=$(awk '/^rsa 2048/ {print $NF}' <<<"$speed")
"$bench" chains >"$work/chains"
"$bench" name-constraints >"$work/nc"
"$bench" crl-generate "$work/crl.der" 1000000 >/dev/null
"$bench" crl-parse "$work/crl.der" >"$work/crl"
get() { awk -v k="$2" '$1 == k {print $2}' "$work/$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0f%%", 100 * a / (b / 2)}'; }

cat <<MD
Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; $(openssl version | cut -d' ' -f1-2).

| measure | certkeeper | bound (openssl speed, same run) | share |
|---|---|---|---|
| ECDSA P-256 3-certificate chains / s | $(get chains p256_chains_per_s) | $p256_verify verifies/s, so $(awk -v v="$p256_verify" 'BEGIN{printf "%.0f", v/2}') chains/s | $(ratio "$(get chains p256_chains_per_s)" "$p256_verify") |
| RSA-2048 3-certificate chains / s | $(get chains rsa2048_chains_per_s) | $rsa_verify verifies/s, so $(awk -v v="$rsa_verify" 'BEGIN{printf "%.0f", v/2}') chains/s | $(ratio "$(get chains rsa2048_chains_per_s)" "$rsa_verify") |
| OCSP response verifications / s (P-256) | $(get chains ocsp_verifies_per_s) | | |

| name constraints, worst case | comparisons | ms per verification | verdict |
|---|---|---|---|
| just under the budget (checked in full) | $(get nc nc_under_budget_comparisons) | $(get nc nc_under_budget_ms) | $(get nc nc_under_budget_verdict) |
| over the budget (refused) | $(get nc nc_over_budget_comparisons) | $(get nc nc_over_budget_ms) | $(get nc nc_over_budget_verdict) |

| CRL of $(get crl crl_entries) entries | measured | target |
|---|---|---|
| parse (DER walk and index) | $(get crl crl_parse_s) s | < 2 s |
| signature check | $(get crl crl_verify_s) s | |
| lookups / s (half present) | $(get crl crl_lookups_per_s) | >= 1,000,000 |
| peak RSS after parsing | $(get crl crl_peak_rss_mib) MiB | < 200 MB |
MD
