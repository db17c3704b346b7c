#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Ensures Redis 7 (Debian package `redis-server`) answers on 127.0.0.1:$REDIS_PORT.
# When nothing answers, starts a daemonized redis-server owned by this checkout (no
# systemd): state in $LEDGERLINE_DATA/redis (redis.pid, redis.log), no persistence.
#
# Usage: scripts/bootstrap/redis.sh
# Env:   REDIS_PORT (default 6379), LEDGERLINE_DATA (default <repo>/.data)
# Idempotent: when PONG comes back it does nothing.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/../lib/common.sh"

case "${1:-}" in
  "") ;;
  -h | --help)
    print_header_help "${BASH_SOURCE[0]}"
    exit 0
    ;;
  *) die "unknown argument '$1' (usage: $0; set REDIS_PORT to change the port)" ;;
esac

host=127.0.0.1
port="${REDIS_PORT:-6379}"
[[ "$port" =~ ^[0-9]+$ ]] || die "REDIS_PORT='$port' is not a port number"
dir="$LEDGERLINE_DATA/redis"
log="$dir/redis.log"

step "Redis: checking the server package"
if have redis-server && have redis-cli; then
  info "installed ($(redis-server --version | awk '{sub(/^v=/, "", $3); print $3}'))"
else
  step "Redis: installing the Debian package 'redis-server'"
  apt_install redis-server
  have redis-server || die "redis-server is still not on PATH after installing the 'redis-server' package"
fi

ping() { timeout 5 redis-cli -h "$host" -p "$port" ping </dev/null 2>/dev/null || true; }

step "Redis: checking $host:$port"
reply="$(ping)"
if [[ "$reply" == PONG ]]; then
  info "running (PONG)"
  exit 0
fi
if port_open "$host" "$port"; then
  die "something listens on $host:$port but does not answer PING with PONG (got '${reply:-nothing}'); stop it or choose another port with REDIS_PORT"
fi

step "Redis: starting redis-server on $host:$port (data: $dir)"
mkdir -p "$dir"
start="$(now_ms)"
if ! redis-server --daemonize yes --bind "$host" --port "$port" --dir "$dir" \
  --pidfile "$dir/redis.pid" --logfile "$log" --save "" --appendonly no \
  </dev/null >"$dir/start.out" 2>&1; then
  cat "$dir/start.out" >&2
  tail_log "$log" 30
  die "redis-server failed to start - see $log"
fi
rm -f "$dir/start.out"
for _ in $(seq 1 100); do
  reply="$(ping)"
  [[ "$reply" == PONG ]] && break
  sleep 0.1
done
if [[ "$reply" != PONG ]]; then
  tail_log "$log" 30
  die "redis-server was started but $host:$port does not answer PING after 10s - see $log"
fi
info "ready in $(format_ms $(($(now_ms) - start))) (pid $(cat "$dir/redis.pid" 2>/dev/null || echo '?'), log $log)"
