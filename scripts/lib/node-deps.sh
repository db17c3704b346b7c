# shellcheck shell=bash
# Installs node_modules when they are missing or older than package-lock.json. npm's own cache (~/.npm)
# lives outside the clone, so a second clone installs from it.
#
# `npm ci` first. Registry mirrors that serve only this platform's optional binaries (as on our CI
# machines: @swc/core-darwin-arm64 and friends answer 404) produce a lockfile without the other
# platforms' optional packages, and `npm ci` then refuses it as "out of sync". In that one case we fall
# back to `npm install`, which installs exactly the locked versions and leaves package-lock.json as is.
ensure_node_modules() {
  local stamp="$REPO_ROOT/node_modules/.package-lock.json"
  if [ -f "$stamp" ] && [ "$stamp" -nt "$REPO_ROOT/package-lock.json" ]; then
    info "node_modules up to date"
    return 0
  fi
  have npm || die "npm is missing: install Node.js 20 (https://nodejs.org) and retry"
  local log="$LEDGERLINE_DATA/logs/npm-ci.log"
  step "Node dependencies: npm ci (first run takes a minute)"
  if (cd "$REPO_ROOT" && npm ci --no-audit --no-fund </dev/null >"$log" 2>&1); then
    info "installed with npm ci"
    return 0
  fi
  if grep -q 'can only install packages when your package.json and package-lock.json' "$log"; then
    info "npm ci refused a lockfile without other platforms' optional binaries; installing the locked versions with npm install"
    (cd "$REPO_ROOT" && run_logged "$LEDGERLINE_DATA/logs/npm-install.log" npm install --no-audit --no-fund)
    git -C "$REPO_ROOT" diff --quiet -- package-lock.json 2>/dev/null ||
      warn "npm install changed package-lock.json; review and commit it (git diff package-lock.json)"
    return 0
  fi
  tail_log "$log" 30
  die "npm ci failed - full log: $log"
}
