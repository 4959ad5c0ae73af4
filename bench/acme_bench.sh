#!/usr/bin/env bash
# ACME issuance benchmark against a local Pebble (PEBBLE_VA_NOSLEEP=1), with
# the account already registered:
#   1. median wall time of N sequential issuances, one process each, for
#      certkeeper (built-in http-01 listener), lego (--http) and certbot
#      (--standalone), all on the same Pebble, with each one's peak RSS;
#   2. the same for uacme (http-01 by webroot behind nginx, with its hook
#      script); uacme's libcurl trusts only the system bundle, so it runs in a
#      private mount namespace (`unshare -m`, needs root) where the test CA is
#      bind-mounted over /etc/ssl/certs/ca-certificates.crt; the real store is
#      never touched;
#   3. the memory floor: bench/rss_floor, a program linking only OpenSSL,
#      SQLite and the C++ runtime that makes a key, signs, writes a row and
#      fetches the directory over verified TLS -- what any client on this stack
#      costs before its own code;
#   4. time to issue 100 certificates with 1, 8 and 32 certkeeper processes in
#      flight (http-01 by webroot behind nginx, so all share Pebble's port).
# Prints Markdown. Usage: bench/acme_bench.sh [BUILD_DIR] [SEQUENTIAL_RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in pebble pebble-challtestsrv nginx lego certbot uacme unshare bc curl; do
  command -v "$tool" >/dev/null || { echo "acme_bench: needs $tool (apt-get install lego certbot uacme bc)" >&2; exit 2; }
done
build=${1:-build}
runs=${2:-20}
ck="$(pwd)/$build/certkeeper"
work=$(mktemp -d /tmp/certkeeper-acme-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true' EXIT

base=24000
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
# Nonce rejection off: every client is measured on the happy path.
PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 pebble -config "$work/pebble.json" \
  -dnsserver 127.0.0.1:$((base + 53)) >"$work/pebble.log" 2>&1 &
for _ in $(seq 100); do curl -s --cacert "$work/tls.pem" "$dir_url" >/dev/null && break; sleep 0.1; done

now() { date +%s.%N; }
# median_of CMD...: runs CMD $runs times (the token {i} replaced by the run number);
# prints "median_seconds max_rss_kib".
median_of() {
  local times=() rss=0
  for i in $(seq "$runs"); do
    local args=("${@//\{i\}/$i}")
    local start end
    start=$(now)
    /usr/bin/time -f "%M" -o "$work/rss" "${args[@]}" >/dev/null 2>>"$work/errors.log"
    end=$(now)
    times+=("$(echo "$end - $start" | bc)")
    local r; r=$(cat "$work/rss"); [ "$r" -gt "$rss" ] && rss=$r
  done
  local median
  median=$(printf "%s\n" "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')
  echo "$median $rss"
}

# certkeeper: register once, then measure.
ck_state="$work/ck"
"$ck" --state-dir "$ck_state" issue --server "$dir_url" --ca-file "$work/tls.pem" \
  --domain warmup.example.test --http-listen 127.0.0.1:$http_port >/dev/null
read -r ck_median ck_rss < <(median_of "$ck" --state-dir "$ck_state" issue --server "$dir_url" \
  --ca-file "$work/tls.pem" --domain "seq{i}.example.test" --http-listen 127.0.0.1:$http_port)

# The platform's floor: OpenSSL, SQLite and the C++ runtime doing the
# irreducible work of an issuance (bench/rss_floor.cc), nothing else.
read -r _ floor_rss < <(median_of "$(pwd)/$build/bench/rss_floor" 127.0.0.1 "$base" \
  "$work/tls.pem" "$work/floor{i}.db")

# lego
export LEGO_CA_CERTIFICATES="$work/tls.pem"
lego --path "$work/lego" --server "$dir_url" --email ops@example.test --accept-tos --http \
  --http.port 127.0.0.1:$http_port --domains warmup.example.test run >/dev/null 2>&1
read -r lego_median lego_rss < <(median_of lego --path "$work/lego" --server "$dir_url" \
  --email ops@example.test --accept-tos --http --http.port 127.0.0.1:$http_port \
  --domains "lego{i}.example.test" run)

# certbot (trusts Pebble through REQUESTS_CA_BUNDLE)
export REQUESTS_CA_BUNDLE="$work/tls.pem"
cb=(certbot --config-dir "$work/cb/config" --work-dir "$work/cb/work" --logs-dir "$work/cb/logs"
    --server "$dir_url" --non-interactive --agree-tos --register-unsafely-without-email)
"${cb[@]}" register >/dev/null 2>&1
read -r cb_median cb_rss < <(median_of "${cb[@]}" certonly --standalone \
  --http-01-address 127.0.0.1 --http-01-port $http_port -d "certbot{i}.example.test")

# certkeeper with N in flight: 100 certificates by webroot behind nginx.
webroot="$work/www"; mkdir -p "$webroot" "$work/nginx/logs"; chmod 755 "$work"
cat > "$work/nginx/nginx.conf" <<NGINX
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events {}
http { access_log off; server { listen 127.0.0.1:$http_port; root $webroot; } }
NGINX
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g "daemon off;" &
sleep 0.5

# uacme, trusting the test CA inside its own mount namespace.
cat > "$work/uacme-private-ca" <<'SH'
#!/bin/sh
mount --bind "$UACME_TEST_CA" /etc/ssl/certs/ca-certificates.crt && exec uacme "$@"
SH
chmod +x "$work/uacme-private-ca"
mkdir -p "$webroot/.well-known/acme-challenge"
export UACME_TEST_CA="$work/tls.pem" UACME_CHALLENGE_PATH="$webroot/.well-known/acme-challenge"
uacme_run=(unshare -m "$work/uacme-private-ca" -a "$dir_url" -c "$work/uacme")
"${uacme_run[@]}" -y new >/dev/null 2>&1
read -r ua_median ua_rss < <(median_of "${uacme_run[@]}" -h /usr/share/uacme/uacme.sh -t EC \
  issue "uacme{i}.example.test")

declare -A flight
for n in 1 8 32; do
  start=$(now)
  seq 100 | xargs -P "$n" -I{} "$ck" --state-dir "$ck_state" issue --server "$dir_url" \
    --ca-file "$work/tls.pem" --domain "p$n-{}.example.test" --webroot "$webroot" >/dev/null 2>>"$work/errors.log"
  flight[$n]=$(echo "$(now) - $start" | bc)
done
issued=$("$ck" --state-dir "$ck_state" list --json | grep -c '"name"')

echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB; Pebble $(dpkg-query -W -f='${Version}' pebble), lego $(dpkg-query -W -f='${Version}' lego), certbot $(dpkg-query -W -f='${Version}' certbot), uacme $(dpkg-query -W -f='${Version}' uacme)"
echo
echo "| client | median of $runs sequential issuances | peak RSS |"
echo "|---|---|---|"
printf "| certkeeper | %.0f ms | %.1f MiB |\n" "$(echo "$ck_median * 1000" | bc)" "$(echo "$ck_rss / 1024" | bc -l)"
printf "| lego | %.0f ms | %.1f MiB |\n" "$(echo "$lego_median * 1000" | bc)" "$(echo "$lego_rss / 1024" | bc -l)"
printf "| certbot | %.0f ms | %.1f MiB |\n" "$(echo "$cb_median * 1000" | bc)" "$(echo "$cb_rss / 1024" | bc -l)"
printf "| uacme (webroot behind nginx) | %.0f ms | %.1f MiB |\n" "$(echo "$ua_median * 1000" | bc)" "$(echo "$ua_rss / 1024" | bc -l)"
printf "| floor: OpenSSL + SQLite + C++ runtime only (bench/rss_floor.cc) | | %.1f MiB |\n" "$(echo "$floor_rss / 1024" | bc -l)"
echo
echo "| certkeeper processes in flight | 100 certificates |"
echo "|---|---|"
for n in 1 8 32; do printf "| %d | %.2f s |\n" "$n" "${flight[$n]}"; done
echo
echo "Certificates in the inventory afterwards: $issued (expected $((runs + 1 + 300)))."
