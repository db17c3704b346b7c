#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Runs the Temporal dev server (`temporal server start-dev`, SQLite-backed, Web UI) in the
# background for local development and integration tests.
#
# Usage:
#   scripts/services/temporal-dev.sh start [--port P] [--ui-port U] [--db-file F]
#       defaults: 7233, 8233, $LEDGERLINE_DATA/temporal/temporal.db
#       If something already listens on 127.0.0.1:P, says so and exits 0. Otherwise starts
#       the server, waits for the gRPC and UI ports and makes sure the search attributes
#       TenantId, CustomerId, PlanId, SubscriptionStatus (Keyword) are registered.
#   scripts/services/temporal-dev.sh stop
#       Stops the server this script started (pid file): SIGTERM, up to 10 s, then SIGKILL.
#   scripts/services/temporal-dev.sh status [--port P]
#       Exit 0 when a server answers on the port, 3 when not.
#
# Env: LEDGERLINE_DATA (default <repo>/.data), LEDGERLINE_CACHE (default ~/.cache/ledgerline),
#      TEMPORAL_CLI (default $LEDGERLINE_BIN/temporal; built by scripts/bootstrap/temporal-cli.sh
#      when missing).
# Files: $LEDGERLINE_DATA/temporal/{server.log,server.pid,server.state}
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/../lib/common.sh"

HOST=127.0.0.1
STATE_DIR="$LEDGERLINE_DATA/temporal"
PID_FILE="$STATE_DIR/server.pid"
STATE_FILE="$STATE_DIR/server.state"
LOG_FILE="$STATE_DIR/server.log"
TEMPORAL="${TEMPORAL_CLI:-$LEDGERLINE_BIN/temporal}"
# name=type; all Keyword today.
SEARCH_ATTRIBUTES=(TenantId=Keyword CustomerId=Keyword PlanId=Keyword SubscriptionStatus=Keyword)
DYNAMIC_CONFIG=(
  frontend.enableUpdateWorkflowExecution=true
  frontend.enableUpdateWorkflowExecutionAsyncAccepted=true
)

usage() {
  print_header_help "${BASH_SOURCE[0]}" >&2
  exit "${1:-2}"
}

port=7233
ui_port=""
db_file="$STATE_DIR/temporal.db"

parse_options() {
  while (($# > 0)); do
    case "$1" in
      --port) port="${2:?--port needs a value}"; shift 2 ;;
      --port=*) port="${1#*=}"; shift ;;
      --ui-port) ui_port="${2:?--ui-port needs a value}"; shift 2 ;;
      --ui-port=*) ui_port="${1#*=}"; shift ;;
      --db-file) db_file="${2:?--db-file needs a value}"; shift 2 ;;
      --db-file=*) db_file="${1#*=}"; shift ;;
      -h | --help) usage 0 ;;
      *) die "unknown option '$1' (see $0 --help)" ;;
    esac
  done
  ui_port="${ui_port:-8233}"
  [[ "$port" =~ ^[0-9]+$ && "$ui_port" =~ ^[0-9]+$ ]] || die "ports must be numbers (got --port '$port', --ui-port '$ui_port')"
  [[ "$port" != "$ui_port" ]] || die "--port and --ui-port must differ"
}

# read_pid: print the pid from the pid file (or nothing).
read_pid() {
  local pid=""
  [[ -f "$PID_FILE" ]] && pid="$(tr -dc '0-9' <"$PID_FILE")"
  printf '%s' "$pid"
}

# is_our_server PID: true when PID is a live `temporal server start-dev` process.
is_our_server() {
  local pid="$1" cmdline
  pid_alive "$pid" || return 1
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
  [[ "$cmdline" == *" server start-dev "* ]]
}

# state_get KEY: read a value recorded by `start` (port, ui_port, db_file).
state_get() {
  [[ -f "$STATE_FILE" ]] || return 0
  awk -F= -v k="$1" '$1 == k {sub(/^[^=]*=/, ""); print; exit}' "$STATE_FILE"
}

operator() {
  "$TEMPORAL" operator "$@" --address "$HOST:$port" --namespace default \
    --disable-config-file --disable-config-env --command-timeout 15s </dev/null
}

# registered_type NAME JSON: the registered type of a custom search attribute, e.g. KEYWORD.
registered_type() {
  sed -n "s/.*\"$1\": *\"INDEXED_VALUE_TYPE_\([A-Z_]*\)\".*/\1/p" <<<"$2" | head -n 1
}

upper() { tr '[:lower:]' '[:upper:]' <<<"$1"; }

ensure_search_attributes() {
  local json sa name type have_type out missing=() created=()
  json="$(operator search-attribute list -o json 2>&1)" ||
    die "temporal operator search-attribute list failed on $HOST:$port: $json"
  for sa in "${SEARCH_ATTRIBUTES[@]}"; do
    name="${sa%%=*}"
    type="${sa#*=}"
    have_type="$(registered_type "$name" "$json")"
    if [[ -z "$have_type" ]]; then
      missing+=("$sa")
    elif [[ "$have_type" != "$(upper "$type")" ]]; then
      die "search attribute $name is registered as $have_type in $db_file, but Ledgerline needs $type; a type cannot be changed - move that database file away (its workflow history goes with it) or pass another --db-file"
    fi
  done
  for sa in "${missing[@]}"; do
    name="${sa%%=*}"
    type="${sa#*=}"
    if ! out="$(operator search-attribute create --name "$name" --type "$type" 2>&1)"; then
      die "could not register search attribute $name ($type) on $HOST:$port: $out"
    fi
    created+=("$name")
  done
  if ((${#created[@]} > 0)); then
    info "registered missing search attribute(s): ${created[*]}"
    json="$(operator search-attribute list -o json 2>&1)" ||
      die "temporal operator search-attribute list failed on $HOST:$port: $json"
    for sa in "${missing[@]}"; do
      name="${sa%%=*}"
      [[ -n "$(registered_type "$name" "$json")" ]] ||
        die "search attribute $name is still missing after 'temporal operator search-attribute create'"
    done
  fi
  local names=()
  for sa in "${SEARCH_ATTRIBUTES[@]}"; do names+=("${sa%%=*}"); done
  info "search attributes ok: ${names[*]}"
}

ensure_cli() {
  if [[ -n "${TEMPORAL_CLI:-}" ]]; then
    [[ -x "$TEMPORAL" ]] || die "TEMPORAL_CLI=$TEMPORAL is not an executable file"
  elif [[ ! -x "$TEMPORAL" ]]; then
    info "$TEMPORAL is missing; building it first"
    "$REPO_ROOT/scripts/bootstrap/temporal-cli.sh" >/dev/null
  fi
}

# --- start -----------------------------------------------------------------------------------
started_pid=""
ready=0
cleanup_failed_start() {
  [[ -n "$started_pid" && "$ready" != 1 ]] || return 0
  if pid_alive "$started_pid"; then
    warn "start failed; stopping the half-started server (pid $started_pid)"
    kill -TERM "$started_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do pid_alive "$started_pid" || break; sleep 0.2; done
    kill -KILL "$started_pid" 2>/dev/null || true
  fi
  rm -f "$PID_FILE" "$STATE_FILE"
}

cmd_start() {
  parse_options "$@"
  step "Temporal dev server: checking $HOST:$port"
  local pid
  pid="$(read_pid)"
  if port_open "$HOST" "$port"; then
    if [[ -n "$pid" ]] && is_our_server "$pid"; then
      info "already running on $HOST:$port (pid $pid, started by this script; UI http://$HOST:$(state_get ui_port))"
    else
      info "something already listens on $HOST:$port (not started by this script); using it as is"
    fi
    return 0
  fi
  if [[ -n "$pid" ]]; then
    if is_our_server "$pid"; then
      die "a dev server started by this script is still running (pid $pid, port $(state_get port)) but not on $HOST:$port - run '$0 stop' first"
    fi
    info "removing stale pid file (pid $pid is not running)"
    rm -f "$PID_FILE" "$STATE_FILE"
  fi
  if port_open "$HOST" "$ui_port"; then
    die "the UI port $HOST:$ui_port is already in use - pass another one with --ui-port"
  fi
  ensure_cli

  mkdir -p "$STATE_DIR" "$(dirname "$db_file")"
  db_file="$(cd "$(dirname "$db_file")" && pwd -P)/$(basename "$db_file")"
  local args=(server start-dev --db-filename "$db_file" --ip "$HOST" --port "$port" --ui-port "$ui_port"
    --namespace default --log-level warn)
  local sa dc first_start=0
  # start-dev puts --search-attribute values into the namespace it creates in a NEW database;
  # with an existing database file it silently ignores them (no error, nothing registered).
  # So pass them only for the first start, and register whatever is missing afterwards.
  if [[ ! -s "$db_file" ]]; then
    first_start=1
    for sa in "${SEARCH_ATTRIBUTES[@]}"; do args+=(--search-attribute "$sa"); done
  fi
  # KEY=VALUE with a JSON value (a bare `true`); a non-JSON value makes start-dev exit.
  for dc in "${DYNAMIC_CONFIG[@]}"; do args+=(--dynamic-config-value "$dc"); done

  if [[ -f "$LOG_FILE" ]]; then mv -f "$LOG_FILE" "$LOG_FILE.1"; fi
  step "Temporal dev server: starting on $HOST:$port, UI $ui_port ($([[ $first_start == 1 ]] && echo "new" || echo "existing") database $db_file)"
  info "log: $LOG_FILE"
  printf '# %s: %s %s\n' "$(date -u +%FT%TZ)" "$TEMPORAL" "${args[*]}" >"$LOG_FILE"
  local start launcher=()
  start="$(now_ms)"
  # Own session: not killed by a Ctrl-C in the terminal that started it, nor by its hangup.
  have setsid && launcher=(setsid)
  trap cleanup_failed_start EXIT
  "${launcher[@]}" "$TEMPORAL" "${args[@]}" </dev/null >>"$LOG_FILE" 2>&1 &
  started_pid=$!
  printf '%s\n' "$started_pid" >"$PID_FILE"
  printf 'port=%s\nui_port=%s\ndb_file=%s\n' "$port" "$ui_port" "$db_file" >"$STATE_FILE"

  wait_for_port "$HOST" "$port" 60 "Temporal dev server (gRPC)" "$started_pid" "$LOG_FILE"
  wait_for_port "$HOST" "$ui_port" 30 "Temporal dev server (Web UI)" "$started_pid" "$LOG_FILE"
  is_our_server "$started_pid" || die "pid $started_pid is not the temporal server (setsid forked?) - see $LOG_FILE"
  info "listening after $(format_ms $(($(now_ms) - start)))"
  ensure_search_attributes
  ready=1
  trap - EXIT
  info "ready: gRPC $HOST:$port, Web UI http://$HOST:$ui_port, pid $started_pid"
}

# --- stop ------------------------------------------------------------------------------------
cmd_stop() {
  (($# == 0)) || die "stop takes no options (it stops the server recorded in $PID_FILE)"
  step "Temporal dev server: stopping"
  local pid start
  pid="$(read_pid)"
  if [[ -z "$pid" ]]; then
    info "not running (no pid file $PID_FILE)"
    return 0
  fi
  if ! pid_alive "$pid"; then
    info "not running (pid $pid has exited); removing the stale pid file"
    rm -f "$PID_FILE" "$STATE_FILE"
    return 0
  fi
  if ! is_our_server "$pid"; then
    warn "pid $pid from $PID_FILE is not a 'temporal server start-dev' process; leaving it alone"
    rm -f "$PID_FILE" "$STATE_FILE"
    return 0
  fi
  start="$(now_ms)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    pid_alive "$pid" || break
    sleep 0.2
  done
  if pid_alive "$pid"; then
    warn "pid $pid still running 10 s after SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 25); do
      pid_alive "$pid" || break
      sleep 0.2
    done
    pid_alive "$pid" && die "could not kill pid $pid"
  fi
  rm -f "$PID_FILE" "$STATE_FILE"
  info "stopped pid $pid in $(format_ms $(($(now_ms) - start)))"
}

# --- status ----------------------------------------------------------------------------------
cmd_status() {
  local explicit_port=0
  for arg in "$@"; do [[ "$arg" == --port* ]] && explicit_port=1; done
  parse_options "$@"
  local pid
  pid="$(read_pid)"
  if [[ -n "$pid" ]] && is_our_server "$pid"; then
    ((explicit_port == 1)) || port="$(state_get port)"
    if port_open "$HOST" "$port"; then
      printf 'running: pid %s, gRPC %s:%s, Web UI http://%s:%s, db %s, log %s\n' \
        "$pid" "$HOST" "$port" "$HOST" "$(state_get ui_port)" "$(state_get db_file)" "$LOG_FILE"
      return 0
    fi
    printf 'starting or unhealthy: pid %s is alive but %s:%s does not accept connections (log %s)\n' \
      "$pid" "$HOST" "$port" "$LOG_FILE"
    return 3
  fi
  if port_open "$HOST" "$port"; then
    printf 'running (not started by this script): something listens on %s:%s\n' "$HOST" "$port"
    return 0
  fi
  if [[ -n "$pid" ]]; then
    printf 'stopped (stale pid file %s: pid %s is gone)\n' "$PID_FILE" "$pid"
  else
    printf 'stopped\n'
  fi
  return 3
}

(($# > 0)) || usage 2
command="$1"
shift
case "$command" in
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  status) cmd_status "$@" ;;
  -h | --help | help) usage 0 ;;
  *) die "unknown command '$command' (expected start, stop or status; see $0 --help)" ;;
esac
