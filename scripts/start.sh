#!/usr/bin/env bash
# `npm start`: the whole stack on this machine, with a demo tenant, until Ctrl-C.
#   installs what is missing (npm ci, Postgres 15, Redis 7, Temporal CLI, test server),
#   starts the Temporal dev server + UI (:7233/:8233), Postgres (:5432), Redis (:6379),
#   stripe-mock (:12111, unless .env names a Stripe key of your own),
#   applies migrations, starts the worker and the API (:3000), seeds the demo tenant,
#   and on Ctrl-C stops exactly what it started.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/common.sh"
# shellcheck source=scripts/lib/node-deps.sh
source "$REPO_ROOT/scripts/lib/node-deps.sh"
# shellcheck source=scripts/lib/local-env.sh
source "$REPO_ROOT/scripts/lib/local-env.sh"
cd "$REPO_ROOT"
mkdir -p "$LEDGERLINE_DATA/logs"

load_local_env
port_open 127.0.0.1 "$HTTP_PORT" && die "port $HTTP_PORT is already in use (another npm start?); stop it or set HTTP_PORT"

# Remember what was already running, so Ctrl-C stops only what this script started.
postgres_was_running=false
redis_was_running=false
temporal_was_running=false
port_open 127.0.0.1 5432 && postgres_was_running=true
port_open 127.0.0.1 6379 && redis_was_running=true
port_open 127.0.0.1 7233 && temporal_was_running=true

children=()
cleanup() {
  trap - INT TERM EXIT
  step "Stopping what npm start started"
  local pid
  for pid in "${children[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${children[@]}"; do wait "$pid" 2>/dev/null || true; done
  info "API and worker stopped"
  if [[ "$temporal_was_running" == false ]]; then bash scripts/services/temporal-dev.sh stop || true; fi
  if [[ "$redis_was_running" == false ]]; then
    redis-cli -h 127.0.0.1 -p 6379 shutdown nosave >/dev/null 2>&1 || true
    info "Redis stopped"
  fi
  if [[ "$postgres_was_running" == false ]]; then
    pg_ctlcluster 15 main stop >/dev/null 2>&1 || true
    info "Postgres stopped"
  fi
  info "bye"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ensure_node_modules
bash scripts/bootstrap/all.sh

step "Build (tsc)"
npx --no-install tsc -p tsconfig.build.json

bash scripts/services/temporal-dev.sh start

if [[ "${LEDGERLINE_STRIPE_MOCK:-0}" == 1 ]]; then
  step "stripe-mock (Stripe's official API mock) for the demo's payments"
  stripe_mock_bin="$(bash scripts/bootstrap/stripe-mock.sh)"
  if port_open 127.0.0.1 "$STRIPE_MOCK_PORT"; then
    info "something already listens on :$STRIPE_MOCK_PORT; using it as $STRIPE_API_BASE"
  else
    # Both ports on loopback: without -https-addr it would also open :12112 on every interface.
    "$stripe_mock_bin" -http-addr "127.0.0.1:$STRIPE_MOCK_PORT" -https-addr "127.0.0.1:$((STRIPE_MOCK_PORT + 1))" \
      >"$LEDGERLINE_DATA/logs/stripe-mock.log" 2>&1 &
    children+=($!)
    wait_for_port 127.0.0.1 "$STRIPE_MOCK_PORT" 30 "stripe-mock" "$!" "$LEDGERLINE_DATA/logs/stripe-mock.log"
    info "stripe-mock pid $! on $STRIPE_API_BASE (log: $LEDGERLINE_DATA/logs/stripe-mock.log)"
  fi
fi

step "Database migrations"
node dist/db/migrate-cli.js

step "Worker and API"
node dist/workers/subscription-worker.js >"$LEDGERLINE_DATA/logs/worker.log" 2>&1 &
children+=($!)
info "worker pid $! (log: $LEDGERLINE_DATA/logs/worker.log)"
# A larger young generation: an ingest batch of 1,000 events lives through its database round trips,
# and with the 16 MB default most of it is promoted and scavenged twice (BENCHMARKS.md, ingest).
node --max-semi-space-size=64 dist/api/server.js >"$LEDGERLINE_DATA/logs/api.log" 2>&1 &
children+=($!)
info "API pid $! (log: $LEDGERLINE_DATA/logs/api.log)"
wait_for_port 127.0.0.1 "$HTTP_PORT" 60 "Ledgerline API" "$!" "$LEDGERLINE_DATA/logs/api.log"
for _ in $(seq 1 30); do
  curl -fsS "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null 2>&1 && break
  sleep 1
done
curl -fsS "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null || die "API is up but /readyz fails: see $LEDGERLINE_DATA/logs/api.log"
info "API ready on http://127.0.0.1:$HTTP_PORT"

step "Demo tenant"
LEDGERLINE_API_URL="http://127.0.0.1:$HTTP_PORT" node dist/cli/seed-demo.js

# Stay in the foreground until Ctrl-C, or until the API or the worker dies.
set +e
wait -n "${children[@]}"
status=$?
set -e
warn "a Ledgerline process exited (status $status); see the logs in $LEDGERLINE_DATA/logs"
exit "$status"
