# Sourced by the benchmarks of live TLS servers on loopback.
#   mint_leaf WORK KEYSPEC [EXTRA_KEY_USAGE]: a root (root.pem, root.key) and a
#     leaf for www.example.test (leaf.pem, leaf.key) in WORK; KEYSPEC is what
#     `openssl req -newkey` takes ("ec -pkeyopt ec_paramgen_curve:P-256",
#     "rsa:2048"); EXTRA_KEY_USAGE is added to digitalSignature.
#   start_nginx_tls WORK PORT [DIRECTIVES]: nginx with one worker serving the
#     leaf on 127.0.0.1:PORT, TLS 1.2 and 1.3, with DIRECTIVES in its server
#     block; returns once it accepts connections.
#   free_port: a free loopback port.
# The caller's EXIT trap stops what was started (kill $(jobs -p)).
mint_leaf() {
  local work=$1 keyspec=$2 usage=${3:-}
  # shellcheck disable=SC2086  # KEYSPEC is words for openssl
  openssl req -x509 -newkey $keyspec -nodes -days 2 -subj "/CN=Bench Root" \
    -keyout "$work/root.key" -out "$work/root.pem" 2>/dev/null
  # shellcheck disable=SC2086
  openssl req -newkey $keyspec -nodes -subj "/CN=www.example.test" \
    -keyout "$work/leaf.key" -out "$work/leaf.csr" 2>/dev/null
  openssl x509 -req -in "$work/leaf.csr" -CA "$work/root.pem" -CAkey "$work/root.key" -days 2 \
    -extfile <(printf "subjectAltName=DNS:www.example.test\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature%s\n" "${usage:+,$usage}") \
    -out "$work/leaf.pem" 2>/dev/null
}

start_nginx_tls() {
  local work=$1 port=$2 directives=${3:-}
  mkdir -p "$work/nginx/logs"
  cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$port ssl backlog=1024;
    server_name www.example.test;
    ssl_certificate $work/leaf.pem;
    ssl_certificate_key $work/leaf.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    $directives
  }
}
CONF
  nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g "daemon off;" &
  wait_port "$port"
}

wait_port() {
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return; sleep 0.1; done
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
