#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Ensures PostgreSQL 15 (Debian package `postgresql`) runs on 127.0.0.1:5432 with
# Ledgerline's two roles and databases:
#   - $LEDGERLINE_PG_OWNER (default ledgerline_owner): LOGIN, owns the databases and the
#     schema, runs migrations
#   - $LEDGERLINE_PG_APP (default ledgerline_app): LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB
#     NOCREATEROLE; used by the API and workers; CONNECT + USAGE on schema public only,
#     and it must never own tables (row-level security does not apply to owners)
#
# Usage: scripts/bootstrap/postgres.sh [DATABASE...]   (default: ledgerline ledgerline_test)
# Env:   LEDGERLINE_PG_OWNER, LEDGERLINE_PG_OWNER_PASSWORD (default: ledgerline_owner)
#        LEDGERLINE_PG_APP, LEDGERLINE_PG_APP_PASSWORD     (default: ledgerline_app)
# Needs root (or passwordless sudo) the first time, to install and start the cluster.
# Idempotent: a second run only checks (about half a second).
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/../lib/common.sh"

PG_VERSION=15
PG_CLUSTER=main
PG_HOST=127.0.0.1
PG_PORT=5432
PG_LOG="/var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log"
owner="${LEDGERLINE_PG_OWNER:-ledgerline_owner}"
owner_pw="${LEDGERLINE_PG_OWNER_PASSWORD:-ledgerline_owner}"
app="${LEDGERLINE_PG_APP:-ledgerline_app}"
app_pw="${LEDGERLINE_PG_APP_PASSWORD:-ledgerline_app}"

case "${1:-}" in
  -h | --help)
    print_header_help "${BASH_SOURCE[0]}"
    exit 0
    ;;
  -*) die "unknown option '$1' (usage: $0 [DATABASE...])" ;;
esac
if (($# > 0)); then databases=("$@"); else databases=(ledgerline ledgerline_test); fi

[[ "$owner" != "$app" ]] || die "LEDGERLINE_PG_OWNER and LEDGERLINE_PG_APP must be different roles"
for name in "$owner" "$app" "${databases[@]}"; do
  [[ "$name" =~ ^[a-z_][a-z0-9_]{0,62}$ ]] ||
    die "'$name' is not a plain lower-case SQL identifier (letters, digits, _); use one for role and database names"
done

# SQL string literal ('it''s').
sql_lit() { printf "'%s'" "${1//\'/\'\'}"; }

# psql as the postgres superuser over the Unix socket (peer auth). cd / so that psql
# does not complain about an unreadable cwd (e.g. /root).
pg_super() {
  local args=(psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" "$@")
  if ((EUID == 0)); then
    (cd / && runuser -u postgres -- "${args[@]}" </dev/null)
  elif [[ "$(id -un)" == postgres ]]; then
    "${args[@]}" </dev/null
  else
    (cd / && as_root runuser -u postgres -- "${args[@]}" </dev/null)
  fi
}
pg_query() { pg_super -A -t "$@"; }

# tcp_login ROLE PASSWORD DB: true when password login over TCP works.
tcp_login() {
  PGPASSWORD="$2" PGCONNECT_TIMEOUT=5 psql -X -q -A -t -h "$PG_HOST" -p "$PG_PORT" -U "$1" -d "$3" \
    -c 'select 1' </dev/null >/dev/null 2>&1
}

# --- packages ----------------------------------------------------------------------------
step "Postgres $PG_VERSION: checking the server package"
if [[ -x "/usr/lib/postgresql/$PG_VERSION/bin/postgres" ]] && have pg_ctlcluster && have psql; then
  info "installed (/usr/lib/postgresql/$PG_VERSION)"
else
  step "Postgres $PG_VERSION: installing the Debian package 'postgresql'"
  apt_install postgresql
  [[ -x "/usr/lib/postgresql/$PG_VERSION/bin/postgres" ]] ||
    die "the 'postgresql' package did not provide PostgreSQL $PG_VERSION (/usr/lib/postgresql/$PG_VERSION missing); this script expects Debian 12"
fi

# --- cluster -------------------------------------------------------------------------------
# pg_lsclusters -h: "15 main 5432 online postgres /var/lib/postgresql/15/main /var/log/..."
cluster_field() { pg_lsclusters -h 2>/dev/null | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" -v f="$1" '$1 == v && $2 == c {print $f}'; }

step "Postgres $PG_VERSION: checking cluster $PG_VERSION/$PG_CLUSTER"
if [[ -z "$(cluster_field 2)" ]]; then
  info "cluster $PG_VERSION/$PG_CLUSTER does not exist; creating it"
  as_root pg_createcluster --port "$PG_PORT" "$PG_VERSION" "$PG_CLUSTER" </dev/null 2>&1 | sed 's/^/    /' >&2 ||
    die "pg_createcluster $PG_VERSION $PG_CLUSTER failed"
fi

port="$(cluster_field 3)"
[[ "$port" == "$PG_PORT" ]] ||
  die "cluster $PG_VERSION/$PG_CLUSTER is configured for port $port, not $PG_PORT - fix with: pg_conftool $PG_VERSION $PG_CLUSTER set port $PG_PORT && pg_ctlcluster $PG_VERSION $PG_CLUSTER restart"
listen="$(pg_conftool -s "$PG_VERSION" "$PG_CLUSTER" show listen_addresses 2>/dev/null || true)"
listen="${listen:-localhost}"
case ",${listen// /}," in
  *,localhost,* | *,127.0.0.1,* | *,\*,* | *,0.0.0.0,*) ;;
  *) die "cluster $PG_VERSION/$PG_CLUSTER has listen_addresses='$listen', which excludes 127.0.0.1 - fix with: pg_conftool $PG_VERSION $PG_CLUSTER set listen_addresses localhost && pg_ctlcluster $PG_VERSION $PG_CLUSTER restart" ;;
esac

status="$(cluster_field 4)"
if [[ "$status" == online* ]]; then
  info "running (port $PG_PORT, listen_addresses '$listen')"
else
  step "Postgres $PG_VERSION: starting cluster $PG_VERSION/$PG_CLUSTER (was: ${status:-unknown})"
  # /var/run/postgresql is on tmpfs on real machines; make sure the socket dir exists.
  as_root install -d -o postgres -g postgres -m 2775 /var/run/postgresql
  start="$(now_ms)"
  if ! as_root pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start </dev/null 2>&1 | sed 's/^/    /' >&2; then
    tail_log "$PG_LOG" 30
    die "pg_ctlcluster $PG_VERSION $PG_CLUSTER start failed - see $PG_LOG"
  fi
  info "started in $(format_ms $(($(now_ms) - start)))"
fi
for _ in $(seq 1 50); do
  pg_query -c 'select 1' >/dev/null 2>&1 && break
  sleep 0.2
done
pg_query -c 'select 1' >/dev/null ||
  die "cannot connect to PostgreSQL as the postgres superuser over the Unix socket /var/run/postgresql - see $PG_LOG"
# The effective settings (ALTER SYSTEM in postgresql.auto.conf overrides postgresql.conf).
effective="$(pg_query -c 'show listen_addresses' | tr -d ' ')"
case ",$effective," in
  *,localhost,* | *,127.0.0.1,* | *,\*,* | *,0.0.0.0,*) ;;
  *) die "PostgreSQL runs with listen_addresses='$effective' (no TCP on 127.0.0.1) - fix with: runuser -u postgres -- psql -c 'alter system reset listen_addresses' && pg_ctlcluster $PG_VERSION $PG_CLUSTER restart (log: $PG_LOG)" ;;
esac
wait_for_port "$PG_HOST" "$PG_PORT" 30 "PostgreSQL $PG_VERSION" "" "$PG_LOG"

# --- server settings (usage ingestion, docs/decisions/0008-usage-metering.md) -------------------
# Write-heavy ingestion: big WAL buffers, rare checkpoints (each checkpoint makes the next change of
# every page write a full-page image into the WAL) and compressed full-page images; shared_buffers
# large enough that the event-key index stays cached (a quarter of RAM, at most 8 GB). A new WAL
# segment is not zero-filled first (wal_init_zero off): between checkpoints every segment is new, and
# writing 16 MB of zeros before each took ~3 % of the machine's CPU at 100,000 events/s (ADR 0008 §25);
# WAL records are still written and fsynced before COMMIT returns.
# synchronous_commit stays on: an acknowledged event is durable. ALTER SYSTEM only for values that
# differ (a warm run changes nothing); a restart only when a restart-only setting actually changed.
step "Postgres $PG_VERSION: checking server settings"
mem_mb="$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo)"
shared_mb=$((mem_mb / 4))
((shared_mb > 8192)) && shared_mb=8192
((shared_mb < 128)) && shared_mb=128
wal_compression=lz4
if [[ "$(pg_query -c "select 'lz4' = any(enumvals) from pg_settings where name = 'wal_compression'")" != t ]]; then
  wal_compression=pglz
fi
declare -A wanted_settings=(
  [shared_buffers]="${shared_mb}MB"
  [wal_buffers]=64MB
  [max_wal_size]=8GB
  [min_wal_size]=1GB
  [checkpoint_timeout]=15min
  [checkpoint_completion_target]=0.9
  [wal_compression]="$wal_compression"
  [wal_init_zero]=off
  [synchronous_commit]=on
)
changed=()
for name in "${!wanted_settings[@]}"; do
  value="${wanted_settings[$name]}"
  # Compare in the setting's own unit: "64MB" and "8192" (8kB pages) are the same wal_buffers.
  same="$(pg_query -c "select coalesce((select setting from pg_file_settings where name = $(sql_lit "$name")
                        and sourcefile like '%postgresql.auto.conf' and applied order by seqno desc limit 1), '')
                        = $(sql_lit "$value")")"
  if [[ "$same" != t ]]; then
    pg_super -c "alter system set $name = $(sql_lit "$value")"
    changed+=("$name=$value")
  fi
done
if ((${#changed[@]} > 0)); then
  pg_super -c 'select pg_reload_conf()' >/dev/null
  info "set ${changed[*]}"
  sleep 0.2
fi
if [[ "$(pg_query -c 'select count(*) from pg_settings where pending_restart')" != 0 ]]; then
  step "Postgres $PG_VERSION: restarting for $(pg_query -c 'select string_agg(name, $$, $$) from pg_settings where pending_restart')"
  if ! as_root pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" restart </dev/null 2>&1 | sed 's/^/    /' >&2; then
    tail_log "$PG_LOG" 30
    die "pg_ctlcluster $PG_VERSION $PG_CLUSTER restart failed - see $PG_LOG"
  fi
  for _ in $(seq 1 50); do
    pg_query -c 'select 1' >/dev/null 2>&1 && break
    sleep 0.2
  done
  wait_for_port "$PG_HOST" "$PG_PORT" 30 "PostgreSQL $PG_VERSION" "" "$PG_LOG"
fi
info "shared_buffers $(pg_query -c 'show shared_buffers'), wal_buffers $(pg_query -c 'show wal_buffers'), max_wal_size $(pg_query -c 'show max_wal_size'), wal_compression $(pg_query -c 'show wal_compression'), synchronous_commit $(pg_query -c 'show synchronous_commit')"

# --- roles ---------------------------------------------------------------------------------
step "Postgres $PG_VERSION: checking roles $owner, $app"
# name|super|bypassrls|createdb|createrole|canlogin
role_row() {
  pg_query -c "select rolname, rolsuper, rolbypassrls, rolcreatedb, rolcreaterole, rolcanlogin
               from pg_roles where rolname = $(sql_lit "$1")"
}

row="$(role_row "$owner")"
if [[ -z "$row" ]]; then
  pg_super -c "create role \"$owner\" login password $(sql_lit "$owner_pw")"
  info "created role $owner"
elif [[ "$(cut -d'|' -f6 <<<"$row")" != t ]]; then
  pg_super -c "alter role \"$owner\" login"
  info "role $owner: granted LOGIN"
fi

row="$(role_row "$app")"
wanted="$app|f|f|f|f|t"
if [[ -z "$row" ]]; then
  pg_super -c "create role \"$app\" login password $(sql_lit "$app_pw") nosuperuser nobypassrls nocreatedb nocreaterole"
  info "created role $app"
elif [[ "$row" != "$wanted" ]]; then
  pg_super -c "alter role \"$app\" login nosuperuser nobypassrls nocreatedb nocreaterole"
  info "role $app: reset to LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE (was super|bypassrls|createdb|createrole|login = ${row#*|})"
fi

# Membership in the owner role would let the app role act as owner (SET ROLE, and with
# INHERIT, owner privileges): refuse it.
if [[ "$(pg_query -c "select pg_has_role($(sql_lit "$app"), $(sql_lit "$owner"), 'member')")" == t ]]; then
  die "role $app is a member of $owner, so it effectively owns the schema - revoke it: REVOKE \"$owner\" FROM \"$app\""
fi

# --- databases -----------------------------------------------------------------------------
step "Postgres $PG_VERSION: checking databases ${databases[*]}"
for db in "${databases[@]}"; do
  db_owner="$(pg_query -c "select pg_get_userbyid(datdba) from pg_database where datname = $(sql_lit "$db")")"
  if [[ -z "$db_owner" ]]; then
    pg_super -c "create database \"$db\" owner \"$owner\""
    info "created database $db (owner $owner)"
  elif [[ "$db_owner" != "$owner" ]]; then
    pg_super -c "alter database \"$db\" owner to \"$owner\""
    info "database $db: owner changed from $db_owner to $owner"
  fi
  # Explicit grants (the PUBLIC defaults can be revoked by hardening migrations).
  # Checked first so that a warm run changes nothing.
  grants="$(pg_query -d "$db" -c "select
      exists (select 1 from pg_database d, aclexplode(d.datacl) a
              where d.datname = current_database() and a.grantee = $(sql_lit "$app")::regrole
                and a.privilege_type = 'CONNECT'),
      exists (select 1 from pg_namespace n, aclexplode(n.nspacl) a
              where n.nspname = 'public' and a.grantee = $(sql_lit "$app")::regrole
                and a.privilege_type = 'USAGE'),
      (select count(*) from pg_class c where c.relowner = $(sql_lit "$app")::regrole
         and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f'))")"
  IFS='|' read -r has_connect has_usage owned <<<"$grants"
  if [[ "$has_connect" != t ]]; then
    pg_super -d "$db" -c "grant connect on database \"$db\" to \"$app\""
    info "database $db: granted CONNECT to $app"
  fi
  if [[ "$has_usage" != t ]]; then
    pg_super -d "$db" -c "grant usage on schema public to \"$app\""
    info "database $db: granted USAGE on schema public to $app"
  fi
  if [[ "$owned" != 0 ]]; then
    warn "database $db: role $app owns $owned table(s)/view(s)/sequence(s); it must own nothing (row-level security is bypassed by owners). Reassign them: REASSIGN OWNED BY \"$app\" TO \"$owner\" (run in $db)"
  fi
done

# --- password login over TCP ---------------------------------------------------------------
step "Postgres $PG_VERSION: checking password login on $PG_HOST:$PG_PORT"
for pair in "$owner:$owner_pw" "$app:$app_pw"; do
  role="${pair%%:*}"
  pw="${pair#*:}"
  if ! tcp_login "$role" "$pw" "${databases[0]}"; then
    # The role exists but its password differs (or was never set): set it.
    pg_super -c "alter role \"$role\" password $(sql_lit "$pw")"
    info "role $role: password (re)set"
    if ! tcp_login "$role" "$pw" "${databases[0]}"; then
      err="$(PGPASSWORD="$pw" PGCONNECT_TIMEOUT=5 psql -X -h "$PG_HOST" -p "$PG_PORT" -U "$role" -d "${databases[0]}" -c 'select 1' </dev/null 2>&1 || true)"
      die "password login as $role on $PG_HOST:$PG_PORT fails: ${err:-unknown error}. Check /etc/postgresql/$PG_VERSION/$PG_CLUSTER/pg_hba.conf has 'host all all 127.0.0.1/32 scram-sha-256' and reload (pg_ctlcluster $PG_VERSION $PG_CLUSTER reload)"
    fi
  fi
done
info "ok: postgres://$app@$PG_HOST:$PG_PORT/${databases[0]} (app), postgres://$owner@$PG_HOST:$PG_PORT/${databases[0]} (owner)"
