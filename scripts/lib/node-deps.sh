# shellcheck shell=bash
# Installs node_modules with `npm ci` when they are missing or older than package-lock.json.
# npm's own cache (~/.npm) lives outside the clone, so a second clone installs from it.
ensure_node_modules() {
  local stamp="$REPO_ROOT/node_modules/.package-lock.json"
  if [ -f "$stamp" ] && [ "$stamp" -nt "$REPO_ROOT/package-lock.json" ]; then
    info "node_modules up to date"
    return 0
  fi
  have npm || die "npm is missing: install Node.js 20 (https://nodejs.org) and retry"
  step "Node dependencies: npm ci (first run takes a minute)"
  (cd "$REPO_ROOT" && run_logged "$LEDGERLINE_DATA/logs/npm-ci.log" npm ci --no-audit --no-fund)
}
