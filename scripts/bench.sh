#!/usr/bin/env bash
# `npm run bench:<name>`: brings up Postgres and Redis, migrates the benchmark database, compiles bench/
# and runs bench/<name>.ts, which prints its result lines. Record results in BENCHMARKS.md.
# Env: LEDGERLINE_BENCH_DB (default ledgerline_test): the database to migrate and benchmark against,
# e.g. a private one so that a run does not share tables with concurrent test runs.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/common.sh"
# shellcheck source=scripts/lib/node-deps.sh
source "$REPO_ROOT/scripts/lib/node-deps.sh"
cd "$REPO_ROOT"
name="${1:?usage: scripts/bench.sh <name> (a file in bench/)}"
[[ -f "bench/$name.ts" ]] || die "no benchmark bench/$name.ts"
db="${LEDGERLINE_BENCH_DB:-ledgerline_test}"
[[ "$db" =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || die "LEDGERLINE_BENCH_DB='$db' is not a plain lower-case SQL identifier"
mkdir -p "$LEDGERLINE_DATA/logs"
ensure_node_modules
if [[ "$db" == ledgerline_test ]]; then bash scripts/bootstrap/postgres.sh; else bash scripts/bootstrap/postgres.sh "$db"; fi
bash scripts/bootstrap/redis.sh
step "Build"
npx --no-install tsc -p tsconfig.build.json
export DATABASE_URL="postgres://ledgerline_app:ledgerline_app@127.0.0.1:5432/$db"
export MIGRATION_DATABASE_URL="postgres://ledgerline_owner:ledgerline_owner@127.0.0.1:5432/$db"
node dist/db/migrate-cli.js
npx --no-install tsc -p tsconfig.bench.json
step "Benchmark $name on $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), Node $(node --version), database $db, load average $(cut -d' ' -f1-3 /proc/loadavg)"
# The API runs inside the benchmark process: the same V8 flag as the API server (scripts/start.sh).
node --max-semi-space-size=64 "$LEDGERLINE_DATA/bench-build/bench/$name.js"
