#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Brings up everything Ledgerline needs on this machine, in order:
#   postgres.sh (PostgreSQL 15 + roles + databases), redis.sh (Redis 7), poppler.sh (pdftotext),
#   temporal-cli.sh (Temporal CLI / dev server binary), test-server.sh (time-skipping
#   test server), and with --with-stripe-mock also stripe-mock.sh.
# Each step is idempotent; a warm run takes about a second. Services are started (Postgres,
# Redis), the Temporal dev server is not: use scripts/services/temporal-dev.sh start.
#
# Usage: scripts/bootstrap/all.sh [--with-stripe-mock]
# Env:   everything the individual scripts take (LEDGERLINE_CACHE, LEDGERLINE_DATA,
#        LEDGERLINE_PG_*, REDIS_PORT, ...).
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/../lib/common.sh"

with_stripe_mock=0
for arg in "$@"; do
  case "$arg" in
    --with-stripe-mock) with_stripe_mock=1 ;;
    -h | --help)
      print_header_help "${BASH_SOURCE[0]}"
      exit 0
      ;;
    *) die "unknown argument '$arg' (usage: $0 [--with-stripe-mock])" ;;
  esac
done

here="$REPO_ROOT/scripts/bootstrap"
steps=(postgres.sh redis.sh poppler.sh temporal-cli.sh test-server.sh)
((with_stripe_mock == 1)) && steps+=(stripe-mock.sh)

total_start="$(now_ms)"
summary=()
for script in "${steps[@]}"; do
  start="$(now_ms)"
  # Paths printed by the tool scripts are for callers that capture them; not needed here.
  if ! "$here/$script" </dev/null >/dev/null; then
    die "bootstrap step $script failed (see its messages above); re-run it alone with: $here/$script"
  fi
  summary+=("$(printf '%-16s %s' "$script" "$(format_ms $(($(now_ms) - start)))")")
done

step "Bootstrap complete in $(format_ms $(($(now_ms) - total_start)))"
for line in "${summary[@]}"; do info "$line"; done
