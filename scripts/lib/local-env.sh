# shellcheck shell=bash
# Environment for the local stack that `npm start` runs. A .env file (see .env.example) overrides
# any of these; ADMIN_TOKEN is generated once per checkout and kept in .data/admin-token.
# Without a STRIPE_SECRET_KEY of your own, the demo charges through stripe-mock (Stripe's official
# mock, started by start.sh on 127.0.0.1:$STRIPE_MOCK_PORT); the webhook signing secret is generated
# once and kept in .data/stripe-webhook-secret.
load_local_env() {
  if [[ -f "$REPO_ROOT/.env" ]]; then
    info "loading $REPO_ROOT/.env"
    set -a
    # shellcheck disable=SC1091
    source "$REPO_ROOT/.env"
    set +a
  fi
  export NODE_ENV="${NODE_ENV:-development}"
  export HTTP_HOST="${HTTP_HOST:-127.0.0.1}"
  export HTTP_PORT="${HTTP_PORT:-3000}"
  export DATABASE_URL="${DATABASE_URL:-postgres://ledgerline_app:ledgerline_app@127.0.0.1:5432/ledgerline}"
  export MIGRATION_DATABASE_URL="${MIGRATION_DATABASE_URL:-postgres://ledgerline_owner:ledgerline_owner@127.0.0.1:5432/ledgerline}"
  export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
  export TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-127.0.0.1:7233}"
  export TEMPORAL_UI_URL="${TEMPORAL_UI_URL:-http://127.0.0.1:8233}"
  if [[ -z "${ADMIN_TOKEN:-}" ]]; then
    local token_file="$LEDGERLINE_DATA/admin-token"
    if [[ ! -s "$token_file" ]]; then
      mkdir -p "$LEDGERLINE_DATA"
      (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$token_file")
    fi
    ADMIN_TOKEN="$(cat "$token_file")"
    export ADMIN_TOKEN
  fi
  export STRIPE_MOCK_PORT="${STRIPE_MOCK_PORT:-12111}"
  if [[ -z "${STRIPE_SECRET_KEY:-}" ]]; then
    export STRIPE_SECRET_KEY="sk_test_LedgerlineLocalDemo"
    export STRIPE_API_BASE="${STRIPE_API_BASE:-http://127.0.0.1:$STRIPE_MOCK_PORT}"
    export LEDGERLINE_STRIPE_MOCK=1
  fi
  if [[ -z "${STRIPE_WEBHOOK_SECRET:-}" ]]; then
    local secret_file="$LEDGERLINE_DATA/stripe-webhook-secret"
    if [[ ! -s "$secret_file" ]]; then
      mkdir -p "$LEDGERLINE_DATA"
      (umask 077 && printf 'whsec_%s' "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$secret_file")
    fi
    STRIPE_WEBHOOK_SECRET="$(cat "$secret_file")"
    export STRIPE_WEBHOOK_SECRET
  fi
}
