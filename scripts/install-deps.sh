#!/usr/bin/env bash
# Installs everything certkeeper needs to build, test and run its demo on Debian 12.
# Idempotent: safe to run again; it only installs what is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libssl-dev openssl libpsl-dev libcurl4-openssl-dev libc-ares-dev nlohmann-json3-dev libsqlite3-dev sqlite3
  libspdlog-dev doctest-dev libcli11-dev libtomlplusplus-dev libsystemd-dev libldns-dev
  libbenchmark-dev util-linux procps curl iproute2
  pebble nginx haproxy systemd bind9 bind9-utils bind9-dnsutils faketime gnutls-bin
  prometheus chromium fonts-dejavu-core
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
echo "install-deps: installing ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
