#!/usr/bin/env bash
# `npm test`: brings up what the tests need (Postgres 15, Redis 7, the Temporal CLI and the Java
# time-skipping test server; Temporal servers themselves are started per test file by the SDK from
# those local binaries), then runs typecheck, lint, and unit + workflow + integration tests.
# Ends with one line `tests: N passed, N failed`. Stops the services it had to start.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/common.sh"
# shellcheck source=scripts/lib/node-deps.sh
source "$REPO_ROOT/scripts/lib/node-deps.sh"
cd "$REPO_ROOT"
mkdir -p "$LEDGERLINE_DATA/logs"

postgres_was_running=false
redis_was_running=false
port_open 127.0.0.1 5432 && postgres_was_running=true
port_open 127.0.0.1 6379 && redis_was_running=true
stop_started_services() {
  if [[ "$redis_was_running" == false ]]; then redis-cli -h 127.0.0.1 -p 6379 shutdown nosave >/dev/null 2>&1 || true; fi
  if [[ "$postgres_was_running" == false ]]; then pg_ctlcluster 15 main stop >/dev/null 2>&1 || true; fi
}
trap stop_started_services EXIT

ensure_node_modules
bash scripts/bootstrap/all.sh --with-stripe-mock

export TEST_DATABASE_URL="postgres://ledgerline_app:ledgerline_app@127.0.0.1:5432/ledgerline_test"
export TEST_MIGRATION_DATABASE_URL="postgres://ledgerline_owner:ledgerline_owner@127.0.0.1:5432/ledgerline_test"
export TEST_REDIS_URL="redis://127.0.0.1:6379/15"
export TEMPORAL_CLI_PATH="$LEDGERLINE_BIN/temporal"
export TEMPORAL_TEST_SERVER_PATH="$LEDGERLINE_BIN/temporal-test-server"

failures=()
step "Typecheck (tsc --noEmit)"
npx --no-install tsc -p tsconfig.json --noEmit || failures+=(typecheck)
step "Lint (eslint, prettier --check)"
npx --no-install eslint . --max-warnings 0 || failures+=(eslint)
npx --no-install prettier --check . >/dev/null || {
  npx --no-install prettier --list-different . | sed 's/^/    not formatted: /' >&2
  failures+=(prettier)
}

step "Unit, workflow (time-skipping) and integration tests (jest)"
results="$LEDGERLINE_DATA/jest-results.json"
rm -f "$results" "$LEDGERLINE_DATA/test-summary.txt"
npx --no-install jest --runInBand --json --outputFile="$results" "$@" || failures+=(jest)

summary="$(node -e '
  const fs = require("fs");
  try {
    const r = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests + r.numRuntimeErrorTestSuites} failed`);
  } catch { console.log("tests: 0 passed, 0 failed"); }
' "$results")"
# .ci/run prints this file as its last line.
echo "$summary" >"$LEDGERLINE_DATA/test-summary.txt"
if ((${#failures[@]} > 0)); then
  warn "failed: ${failures[*]}"
  echo "$summary"
  exit 1
fi
echo "$summary"
