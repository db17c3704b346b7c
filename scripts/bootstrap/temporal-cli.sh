#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Ensures the Temporal CLI (dev server + operator commands) is built and cached:
#   $LEDGERLINE_BIN/temporal, version $TEMPORAL_CLI_VERSION (default 1.5.1).
#
# Usage: scripts/bootstrap/temporal-cli.sh
# Env:   LEDGERLINE_CACHE (default ~/.cache/ledgerline), TEMPORAL_CLI_VERSION (default 1.5.1)
# Prints progress to stderr and the binary's path on stdout.
#
# v1.5.1 is the newest tag that `go install` accepts (later ones have `replace` directives).
# Its version string comes from -ldflags, which a plain `go install` leaves at
# "0.0.0-DEV"; we set it like the official release build does, and also accept an
# existing binary whose embedded Go build info says github.com/temporalio/cli v1.5.1.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/../lib/common.sh"

version="${TEMPORAL_CLI_VERSION:-1.5.1}"
bin="$LEDGERLINE_BIN/temporal"
log="$LEDGERLINE_LOGS/temporal-build.log"

# Prints why the binary is not usable, or nothing when it is the right version.
check_binary() {
  [[ -e "$bin" ]] || { echo "not built yet"; return 0; }
  [[ -x "$bin" ]] || { echo "$bin is not executable"; return 0; }
  local reported modver
  reported="$("$bin" --version 2>/dev/null | head -n 1 || true)"
  # "temporal version 1.5.1 (Server 1.29.1, UI 2.42.1)"
  [[ "$reported" == "temporal version $version "* ]] && return 0
  if [[ "$reported" == "temporal version 0.0.0-DEV "* ]]; then
    modver="$(go_module_version "$bin")"
    [[ "$modver" == "v$version" ]] && return 0
    echo "it is a development build of ${modver:-an unknown version}, not v$version"
    return 0
  fi
  echo "it reports '${reported:-nothing}', not $version"
}

step "Temporal CLI $version: checking $bin"
problem="$(check_binary)"
if [[ -z "$problem" ]]; then
  info "present: $("$bin" --version | head -n 1)"
else
  info "needs a build: $problem"
  require_go "the Temporal CLI" 1.25
  step "Temporal CLI $version: building from source with $(go version | awk '{print $3}') (several minutes on 2 cores the first time)"
  start="$(now_ms)"
  go_install_to "$bin" "$log" "github.com/temporalio/cli/cmd/temporal@v$version" \
    -ldflags "-X github.com/temporalio/cli/temporalcli.Version=$version"
  problem="$(check_binary)"
  [[ -z "$problem" ]] || die "freshly built $bin is still wrong: $problem (build log: $log)"
  info "built in $(format_ms $(($(now_ms) - start))): $("$bin" --version | head -n 1)"
fi
printf '%s\n' "$bin"
