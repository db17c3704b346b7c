#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Ensures stripe-mock (Stripe's official API mock, OpenAPI spec embedded) is built and
# cached: $LEDGERLINE_BIN/stripe-mock, version $STRIPE_MOCK_VERSION (default 0.197.0).
# It is not started here.
#
# Usage: scripts/bootstrap/stripe-mock.sh
# Env:   LEDGERLINE_CACHE (default ~/.cache/ledgerline), STRIPE_MOCK_VERSION (default 0.197.0)
# Prints progress to stderr and the binary's path on stdout.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/../lib/common.sh"

version="${STRIPE_MOCK_VERSION:-0.197.0}"
bin="$LEDGERLINE_BIN/stripe-mock"
log="$LEDGERLINE_LOGS/stripe-mock-build.log"

# Prints why the binary is not usable, or nothing when it is fine.
check_binary() {
  [[ -e "$bin" ]] || { echo "not built yet"; return 0; }
  [[ -x "$bin" ]] || { echo "$bin is not executable"; return 0; }
  local reported modver
  # "stripe-mock 0.197.0", or "stripe-mock master" for a plain `go install` build.
  reported="$("$bin" -version 2>/dev/null | head -n 1 || true)"
  [[ "$reported" == "stripe-mock $version" ]] && return 0
  if have go; then
    modver="$(go_module_version "$bin")"
    [[ "$modver" == "v$version" ]] && return 0
    echo "it is ${modver:-of an unknown version}, not v$version"
    return 0
  fi
  [[ "$reported" == "stripe-mock "* ]] && return 0 # cannot tell the version without go; keep it
  echo "it does not run ('$reported')"
}

step "stripe-mock $version: checking $bin"
problem="$(check_binary)"
if [[ -z "$problem" ]]; then
  info "present"
else
  info "needs a build: $problem"
  require_go "stripe-mock" 1.22
  step "stripe-mock $version: building from source (under a minute the first time)"
  go_install_to "$bin" "$log" "github.com/stripe/stripe-mock@v$version" \
    -ldflags "-X main.version=$version"
  problem="$(check_binary)"
  [[ -z "$problem" ]] || die "freshly built $bin is still wrong: $problem (build log: $log)"
  info "built: $("$bin" -version | head -n 1)"
fi
printf '%s\n' "$bin"
