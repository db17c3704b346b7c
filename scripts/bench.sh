#!/usr/bin/env bash
# `npm run bench:<name>`: brings up Postgres and Redis, migrates the test database, compiles bench/
# and runs bench/<name>.ts, which prints one result line. Record results in BENCHMARKS.md.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/common.sh"
# shellcheck source=scripts/lib/node-deps.sh
source "$REPO_ROOT/scripts/lib/node-deps.sh"
cd "$REPO_ROOT"
name="${1:?usage: scripts/bench.sh <name> (a file in bench/)}"
[[ -f "bench/$name.ts" ]] || die "no benchmark bench/$name.ts"
mkdir -p "$LEDGERLINE_DATA/logs"
ensure_node_modules
bash scripts/bootstrap/postgres.sh
bash scripts/bootstrap/redis.sh
step "Build"
npx --no-install tsc -p tsconfig.build.json
MIGRATION_DATABASE_URL="postgres://ledgerline_owner:ledgerline_owner@127.0.0.1:5432/ledgerline_test" node dist/db/migrate-cli.js
npx --no-install tsc -p tsconfig.bench.json
step "Benchmark $name on $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), Node $(node --version)"
node "$LEDGERLINE_DATA/bench-build/bench/$name.js"
