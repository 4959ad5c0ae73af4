# Sourced by benchmarks that need a CA: start_pebble WORK BASE_PORT [VA_SLEEP
# [AUTHZ_REUSE]] starts a local Pebble (no nonce rejection; its validation at
# once, or after a random 0 to VA_SLEEP seconds, as a real CA's takes a while;
# PEBBLE_AUTHZREUSE=AUTHZ_REUSE when given), pebble-challtestsrv
# for its DNS, and nginx serving http-01 answers from a webroot on Pebble's
# one HTTP port; it sets dir_url, ca_file and webroot. The caller's EXIT trap
# stops them (kill $(jobs -p)).
start_pebble() {
  local work=$1 base=$2 va_sleep=${3:-} authz_reuse=${4:-50}
  local va_env=PEBBLE_VA_NOSLEEP=1
  [ -n "$va_sleep" ] && va_env=PEBBLE_VA_SLEEPTIME=$va_sleep
  for tool in pebble pebble-challtestsrv nginx curl; do
    command -v "$tool" >/dev/null || { echo "bench: needs $tool" >&2; exit 2; }
  done
  local http_port=$((base + 2))
  dir_url="https://127.0.0.1:$base/dir"
  ca_file="$work/tls.pem"
  webroot="$work/www"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=pebble" \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$work/tls.key" -out "$ca_file" 2>/dev/null
  cat > "$work/pebble.json" <<JSON
{"pebble": {"listenAddress": "127.0.0.1:$base", "managementListenAddress": "127.0.0.1:$((base + 1))",
  "certificate": "$ca_file", "privateKey": "$work/tls.key", "httpPort": $http_port,
  "tlsPort": $((base + 3)), "ocspResponderURL": "", "externalAccountBindingRequired": false}}
JSON
  pebble-challtestsrv -http01 "" -https01 "" -tlsalpn01 "" -dns01 127.0.0.1:$((base + 53)) \
    -management 127.0.0.1:$((base + 55)) -defaultIPv4 127.0.0.1 -defaultIPv6 "" >"$work/chall.log" 2>&1 &
  env "$va_env" PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE="$authz_reuse" pebble -config "$work/pebble.json" \
    -dnsserver 127.0.0.1:$((base + 53)) >"$work/pebble.log" 2>&1 &
  mkdir -p "$webroot/.well-known/acme-challenge" "$work/nginx/logs"
  cat > "$work/nginx/nginx.conf" <<NGINX
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events {}
http { access_log off; server { listen 127.0.0.1:$http_port; root $webroot; } }
NGINX
  nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g "daemon off;" &
  for _ in $(seq 100); do curl -s --cacert "$ca_file" "$dir_url" >/dev/null && break; sleep 0.1; done
  for _ in $(seq 100); do curl -s "http://127.0.0.1:$http_port/" >/dev/null && break; sleep 0.1; done
}
