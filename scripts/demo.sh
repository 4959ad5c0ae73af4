#!/usr/bin/env bash
# The main job, end to end on this machine: installs what is needed, builds
# certkeeper, starts a local Pebble ACME CA (with pebble-challtestsrv as its
# DNS), issues a certificate over ACME with the built-in http-01 listener and
# shows it in the inventory; then makes a small PKI with the openssl command
# and walks through config check, import (certbot folder, nginx-style files, a
# broken file), list, an expiry check and show. Last, the service: Pebble's
# certificates live two minutes here, and `certkeeper daemon` renews www while
# `certkeeper status` watches; then Pebble stops, the next renewal fails and
# an alert goes out (to a command that writes demo/alerts.log), and once Pebble
# is back `certkeeper renew www` renews it and a recovery notice follows.
# Everything lives in ./demo/.
# Ports used on 127.0.0.1: 14000 and 15000 (Pebble), 5002 (http-01), 8053 and
# 8055 (challtestsrv). Usage: scripts/demo.sh [--skip-install]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

[ "${1:-}" = "--skip-install" ] || scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target certkeeper

demo="$root/demo"
rm -rf "$demo"
mkdir -p "$demo"
ck() { echo; echo "\$ certkeeper $*"; "$root/build/certkeeper" --config "$demo/certkeeper.toml" "$@"; }

peb="$demo/pebble"
mkdir -p "$peb"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=Pebble listener" \
  -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" -keyout "$peb/tls.key" -out "$peb/tls.pem" 2>/dev/null
cat > "$demo/certkeeper.toml" <<TOML
[daemon]
state_dir = "$demo/state"
socket = "$demo/control.sock"

[issuer.pebble]
directory = "https://127.0.0.1:14000/dir"
ca_file = "$peb/tls.pem"
contact = ["mailto:ops@example.test"]

[[certificate]]
name = "www"
domains = ["www.example.test", "example.test"]
challenge = { type = "http-01", listen = "127.0.0.1:5002" }

[alerts]
command = ["$demo/alert.sh"]
TOML
cat > "$demo/alert.sh" <<'SH'
#!/bin/sh
# An alert command: the alert is in the environment (a pager or chat hook goes here).
echo "$(date -u +%H:%M:%S) $CERTKEEPER_ALERT_NOTICE $CERTKEEPER_ALERT_SEVERITY $CERTKEEPER_ALERT_KEY: $CERTKEEPER_ALERT_MESSAGE" >> "$(dirname "$0")/alerts.log"
SH
chmod +x "$demo/alert.sh"

ck config check

echo "== starting a local Pebble ACME CA =="
cat > "$peb/pebble.json" <<JSON
{"pebble": {"listenAddress": "127.0.0.1:14000", "managementListenAddress": "127.0.0.1:15000",
  "certificate": "$peb/tls.pem", "privateKey": "$peb/tls.key", "httpPort": 5002, "tlsPort": 5001,
  "ocspResponderURL": "", "externalAccountBindingRequired": false,
  "certificateValidityPeriod": 120}}
JSON
pebble-challtestsrv -http01 "" -https01 "" -tlsalpn01 "" -dns01 127.0.0.1:8053 -management 127.0.0.1:8055 \
  -defaultIPv4 127.0.0.1 -defaultIPv6 "" > "$peb/challtestsrv.log" 2>&1 &
chall_pid=$!
start_pebble() {
  PEBBLE_VA_NOSLEEP=1 pebble -config "$peb/pebble.json" -dnsserver 127.0.0.1:8053 >> "$peb/pebble.log" 2>&1 &
  pebble_pid=$!
}
start_pebble
trap 'kill $pebble_pid $chall_pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  curl -s --cacert "$peb/tls.pem" https://127.0.0.1:14000/dir >/dev/null && break
  sleep 0.1
done

echo "== issuing over ACME =="
ck issue --server https://127.0.0.1:14000/dir --ca-file "$peb/tls.pem" \
  --name www --domain www.example.test --domain example.test --http-listen 127.0.0.1:5002 \
  --contact mailto:ops@example.test
curl -s --cacert "$peb/tls.pem" https://127.0.0.1:15000/roots/0 > "$peb/root.pem"
echo
echo "\$ openssl verify -CAfile pebble-root.pem -untrusted chain.pem cert.pem"
openssl verify -CAfile "$peb/root.pem" -untrusted "$demo/state/certs/www/current/chain.pem" \
  "$demo/state/certs/www/current/cert.pem"
ck show www

echo "== making a demo PKI in $demo/pki with openssl =="
pki="$demo/pki"
mkdir -p "$pki"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
  -subj "/O=certkeeper demo/CN=Demo Root CA" -keyout "$pki/root.key" -out "$pki/root.pem" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/O=certkeeper demo/CN=Demo Issuing CA" \
  -keyout "$pki/ca.key" -out "$pki/ca.csr" 2>/dev/null
printf "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n" > "$pki/ca.ext"
openssl x509 -req -in "$pki/ca.csr" -CA "$pki/root.pem" -CAkey "$pki/root.key" -CAcreateserial \
  -days 1825 -extfile "$pki/ca.ext" -out "$pki/ca.pem" 2>/dev/null

# leaf NAME DAYS KEYSPEC SANS OUT_CERT OUT_KEY
leaf() {
  local name=$1 days=$2 keyspec=$3 sans=$4 cert=$5 key=$6
  openssl req -newkey "$keyspec" -nodes -subj "/CN=$name" -keyout "$key" -out "$pki/$name.csr" 2>/dev/null
  printf "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n" \
    "$sans" > "$pki/$name.ext"
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial \
    -days "$days" -extfile "$pki/$name.ext" -out "$cert" 2>/dev/null
  chmod 600 "$key"
}

# A certbot configuration directory with one live certificate.
le="$demo/letsencrypt/live/blog"
mkdir -p "$le"
leaf blog.example.test 90 ec:<(openssl ecparam -name prime256v1) \
  "DNS:blog.example.test" "$le/cert.pem" "$le/privkey.pem"
cp "$pki/ca.pem" "$le/chain.pem"
cat "$le/cert.pem" "$pki/ca.pem" > "$le/fullchain.pem"

# nginx-style files: a certificate that expires in 12 days with its key beside it,
# a wildcard on RSA, and a file that was cut short.
nginx="$demo/nginx/tls"
mkdir -p "$nginx"
leaf api.example.test 12 ec:<(openssl ecparam -name secp384r1) "DNS:api.example.test" \
  "$nginx/api.crt" "$nginx/api.key"
leaf wildcard 200 rsa:3072 "DNS:*.apps.example.test" "$nginx/apps.pem" "$nginx/apps.key"
head -c 400 "$nginx/apps.pem" > "$nginx/broken.pem"


echo "== walk-through =="
set +e
ck import "$demo/letsencrypt" "$nginx" --verbose
echo "(exit $?: broken.pem was reported and skipped; everything else is in)"
set -e
ck list
set +e
ck list --expiring 30d
echo "(exit $?: exit 1 means something expires within 30 days; cron can alert on it)"
set -e
ck show blog
ck import "$demo/letsencrypt"
echo "(re-importing updates; it never duplicates)"

echo "== the service: certkeeper daemon renews www (a 2-minute certificate) at half its life =="
"$root/build/certkeeper" --config "$demo/certkeeper.toml" daemon > "$demo/daemon.log" 2>&1 &
daemon_pid=$!
trap 'kill $daemon_pid $pebble_pid $chall_pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -S "$demo/control.sock" ] && break; sleep 0.1; done
set +e
ck status
first=$("$root/build/certkeeper" --config "$demo/certkeeper.toml" status --json |
  sed -n 's/.*"sha256": "\([0-9a-f]*\)".*/\1/p' | head -1)
echo "(waiting for the renewal: up to two minutes)"
for _ in $(seq 150); do
  now=$("$root/build/certkeeper" --config "$demo/certkeeper.toml" status --json |
    sed -n 's/.*"sha256": "\([0-9a-f]*\)".*/\1/p' | head -1)
  [ -n "$now" ] && [ "$now" != "$first" ] && break
  sleep 1
done
ck status

echo
echo "== an alert: Pebble stops, so the next renewal of www fails =="
kill $pebble_pid; wait $pebble_pid 2>/dev/null
echo "(waiting for the renewal to fail: up to two minutes)"
for _ in $(seq 150); do
  grep -q "firing warning renewal_failed" "$demo/alerts.log" 2>/dev/null && break
  sleep 1
done
echo "\$ cat $demo/alerts.log"
cat "$demo/alerts.log"
ck alerts
echo
echo "== Pebble is back (empty: the account is registered again); renew www now =="
start_pebble
for _ in $(seq 50); do curl -sk https://127.0.0.1:14000/dir >/dev/null && break; sleep 0.1; done
ck renew www
sleep 2
echo "\$ cat $demo/alerts.log"
cat "$demo/alerts.log"
ck alerts
set -e
kill -TERM $daemon_pid
wait $daemon_pid || true
echo
echo "\$ tail -n 5 $demo/daemon.log"
tail -n 5 "$demo/daemon.log"
ck show www
echo
echo "Inventory: $demo/state/inventory.db. Try: build/certkeeper --config $demo/certkeeper.toml list --json"
