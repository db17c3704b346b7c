#!/usr/bin/env bash
# shellcheck shell=bash
#
# Shared helpers for Ledgerline's infrastructure scripts. Source it, do not run it:
#
#   # shellcheck source=scripts/lib/common.sh
#   source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/common.sh"
#
# Conventions: progress goes to stderr (step/info/warn/die), so stdout stays free for
# results a caller may capture (e.g. a binary's path). Nothing here reads stdin.
#
# Environment (all optional):
#   LEDGERLINE_CACHE  tool cache, survives clones          (default: $HOME/.cache/ledgerline)
#   LEDGERLINE_DATA   runtime state of local services     (default: $REPO_ROOT/.data)
# Derived:
#   LEDGERLINE_BIN    $LEDGERLINE_CACHE/bin   (temporal, stripe-mock, temporal-test-server)
#   LEDGERLINE_LOGS   $LEDGERLINE_CACHE/logs  (logs of long build steps)

if [[ -n "${_LEDGERLINE_COMMON_SH:-}" ]]; then
  return 0
fi
_LEDGERLINE_COMMON_SH=1

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
LEDGERLINE_CACHE="${LEDGERLINE_CACHE:-${HOME:-/root}/.cache/ledgerline}"
LEDGERLINE_DATA="${LEDGERLINE_DATA:-$REPO_ROOT/.data}"
LEDGERLINE_BIN="$LEDGERLINE_CACHE/bin"
LEDGERLINE_LOGS="$LEDGERLINE_CACHE/logs"
export REPO_ROOT LEDGERLINE_CACHE LEDGERLINE_DATA LEDGERLINE_BIN LEDGERLINE_LOGS

# Go from the official tarball lives in /usr/local/go/bin, which non-login shells
# (CI, cron, sudo) often do not have on PATH.
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
  PATH="$PATH:/usr/local/go/bin"
  export PATH
fi

# ---------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------

step() { printf '==> %s\n' "$*" >&2; }
info() { printf '    %s\n' "$*" >&2; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() {
  printf 'ERROR: %s\n' "$*" >&2
  exit 1
}

# print_header_help FILE: print FILE's leading comment block (after the shebang and
# "shellcheck" directive lines) as help text, to stdout.
print_header_help() {
  awk 'NR == 1 || /^# shellcheck / {next} /^#/ {sub(/^# ?/, ""); print; next} {exit}' "$1"
}

# have CMD: true when CMD is on PATH (or a shell builtin/function).
have() { command -v "$1" >/dev/null 2>&1; }

# Milliseconds since the epoch, for timing steps.
now_ms() {
  local ns
  ns="$(date +%s%N)"
  printf '%s\n' "$((ns / 1000000))"
}

# format_ms MS -> "1.2s" / "850ms"
format_ms() {
  local ms="$1"
  if ((ms < 1000)); then
    printf '%dms\n' "$ms"
  else
    printf '%d.%ds\n' "$((ms / 1000))" "$(((ms % 1000) / 100))"
  fi
}

# tail_log FILE [N]: print the last N (default 30) lines of FILE, indented, to stderr.
tail_log() {
  local file="$1" n="${2:-30}"
  if [[ -s "$file" ]]; then
    printf '    --- last %s lines of %s ---\n' "$n" "$file" >&2
    tail -n "$n" -- "$file" | sed 's/^/    | /' >&2
    printf '    ---\n' >&2
  elif [[ -e "$file" ]]; then
    info "($file is empty)"
  fi
}

# ---------------------------------------------------------------------------------------
# Ports and processes
# ---------------------------------------------------------------------------------------

# port_open HOST PORT: true when a TCP connection to HOST:PORT succeeds (bash /dev/tcp).
port_open() {
  local host="$1" port="$2"
  if have timeout; then
    # shellcheck disable=SC2016  # $1/$2 are expanded by the inner bash
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$host" "$port" 2>/dev/null
  else
    (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
  fi
}

# pid_alive PID: true when PID is a live (non-zombie) process.
pid_alive() {
  local pid="$1" state
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  state="$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)"
  [[ "$state" != "Z" ]]
}

# wait_for_port HOST PORT TIMEOUT_S NAME [PID] [LOGFILE]
# Polls HOST:PORT until it accepts connections, printing a dot per second while waiting.
# Dies naming NAME on timeout. With PID, dies as soon as that process exits; with
# LOGFILE, the end of the log is shown on failure.
wait_for_port() {
  local host="$1" port="$2" timeout_s="$3" name="$4" pid="${5:-}" log="${6:-}"
  local start now elapsed_ms dots=0
  start="$(now_ms)"
  while true; do
    if port_open "$host" "$port"; then
      ((dots > 0)) && printf '\n' >&2
      return 0
    fi
    now="$(now_ms)"
    elapsed_ms=$((now - start))
    if [[ -n "$pid" ]] && ! pid_alive "$pid"; then
      ((dots > 0)) && printf '\n' >&2
      [[ -n "$log" ]] && tail_log "$log" 30
      die "$name exited (pid $pid) before listening on $host:$port${log:+ - see $log}"
    fi
    if ((elapsed_ms >= timeout_s * 1000)); then
      ((dots > 0)) && printf '\n' >&2
      [[ -n "$log" ]] && tail_log "$log" 30
      die "$name is not listening on $host:$port after ${timeout_s}s${log:+ - see $log}"
    fi
    if ((elapsed_ms / 1000 > dots)); then
      ((dots == 0)) && printf '    waiting for %s on %s:%s ' "$name" "$host" "$port" >&2
      printf '.' >&2
      dots=$((dots + 1))
    fi
    sleep 0.2
  done
}

# free_port: print a TCP port on 127.0.0.1 that nothing listens on (best effort).
free_port() {
  local port i
  for i in $(seq 1 50); do
    port=$((20000 + (RANDOM * 32768 + RANDOM + i) % 40000))
    if ! port_open 127.0.0.1 "$port"; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  die "could not find a free TCP port on 127.0.0.1"
}

# ---------------------------------------------------------------------------------------
# Long-running commands
# ---------------------------------------------------------------------------------------

# run_logged LOGFILE CMD [ARGS...]
# Runs CMD with stdin from /dev/null and stdout+stderr to LOGFILE. Prints a progress dot
# every 5 s and the elapsed time every 30 s (one line per 30 s, so CI logs stay readable).
# On failure prints the last 30 lines of the log and dies.
run_logged() {
  (($# >= 2)) || die "run_logged: usage: run_logged LOGFILE CMD [ARGS...]"
  local log="$1"
  shift
  mkdir -p "$(dirname "$log")"
  local start pid rc=0 ticks=0 now elapsed
  start="$(now_ms)"
  info "log: $log"
  "$@" </dev/null >"$log" 2>&1 &
  pid=$!
  # Do not leave the child behind when we are interrupted.
  # shellcheck disable=SC2064  # expand $pid now, on purpose
  trap "kill $pid 2>/dev/null; exit 130" INT TERM
  printf '    ' >&2
  while pid_alive "$pid"; do
    sleep 1
    ticks=$((ticks + 1))
    if ((ticks % 5 == 0)); then
      printf '.' >&2
      if ((ticks % 30 == 0)); then
        printf ' %ss\n    ' "$ticks" >&2
      fi
    fi
  done
  if wait "$pid"; then rc=0; else rc=$?; fi
  trap - INT TERM
  now="$(now_ms)"
  elapsed="$(format_ms $((now - start)))"
  printf '\n' >&2
  if ((rc != 0)); then
    tail_log "$log" 30
    die "'$*' failed (exit $rc) after $elapsed - full log: $log"
  fi
  info "done in $elapsed"
}

# ---------------------------------------------------------------------------------------
# Privileges and packages
# ---------------------------------------------------------------------------------------

# as_root CMD...: run CMD as root (directly, or through non-interactive sudo).
as_root() {
  if ((EUID == 0)); then
    "$@"
  elif have sudo && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    die "'$1' needs root and passwordless sudo is not available - re-run as root"
  fi
}

# pkg_installed PKG: true when the Debian package PKG is installed.
pkg_installed() {
  local status
  status="$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)"
  [[ "$status" == "install ok installed" ]]
}

# pkg_available PKG: true when apt knows an installation candidate for PKG.
pkg_available() {
  local candidate
  candidate="$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2; exit}')"
  [[ -n "$candidate" && "$candidate" != "(none)" ]]
}

# apt_update_once: `apt-get update` at most once per run (the flag is exported, so
# scripts started from this one do not repeat it).
apt_update_once() {
  if [[ "${LEDGERLINE_APT_UPDATED:-}" == 1 ]]; then
    return 0
  fi
  info "apt-get update (once per run) ..."
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q -o DPkg::Lock::Timeout=300 \
    </dev/null 2>&1 | sed -n 's/^\(Get:\|Hit:\|Err:\|E:\|W:\)/    apt: &/p' >&2; then
    die "apt-get update failed - check the apt sources in /etc/apt/ and network access to the Debian mirror"
  fi
  LEDGERLINE_APT_UPDATED=1
  export LEDGERLINE_APT_UPDATED
}

# apt_install PKG...: install the Debian packages that are not installed yet.
apt_install() {
  local pkg missing=() rc
  for pkg in "$@"; do
    pkg_installed "$pkg" || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0
  have apt-get || die "apt-get not found: cannot install ${missing[*]} (this needs Debian/Ubuntu; install them by hand)"

  for pkg in "${missing[@]}"; do
    if ! pkg_available "$pkg"; then
      apt_update_once
      pkg_available "$pkg" || die "Debian package '$pkg' not found in the apt sources (even after apt-get update)"
    fi
  done

  local log
  log="$LEDGERLINE_LOGS/apt-install-$(printf '%s' "${missing[*]}" | tr ' ' '_').log"
  mkdir -p "$LEDGERLINE_LOGS"
  info "apt-get install ${missing[*]} (log: $log)"
  local attempt
  for attempt in 1 2; do
    rc=0
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
      -o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0 "${missing[@]}" </dev/null 2>&1 |
      tee "$log" | sed -n -E 's/^(Get:[0-9]+ .*|Unpacking .*|Setting up .*)$/    apt: \1/p' >&2 || rc=$?
    ((rc == 0)) && break
    # Stale package lists (404 on .deb files) are the usual cause: refresh once and retry.
    if ((attempt == 1)) && [[ "${LEDGERLINE_APT_UPDATED:-}" != 1 ]]; then
      warn "apt-get install ${missing[*]} failed; refreshing package lists and retrying"
      apt_update_once
      continue
    fi
    tail_log "$log" 30
    die "apt-get install of package(s) ${missing[*]} failed - see $log"
  done
  for pkg in "${missing[@]}"; do
    pkg_installed "$pkg" || die "package '$pkg' is still not installed after apt-get install - see $log"
  done
}

# ---------------------------------------------------------------------------------------
# Go-built tools
# ---------------------------------------------------------------------------------------

# go_module_version BINARY: print the main module version recorded in a Go binary's
# build info (e.g. v1.5.1), or nothing. Needs `go`.
go_module_version() {
  have go || return 0
  go version -m "$1" 2>/dev/null | awk '$1 == "mod" {print $3; exit}'
}

# require_go WHAT [MIN_VERSION]: die with a fix hint when `go` is missing. (An older go
# fetches the toolchain the module asks for from the Go module proxy by itself.)
require_go() {
  have go || die "go not found on PATH - needed to build $1. Install Go >= ${2:-1.22} (e.g. the official tarball in /usr/local/go) and put its bin directory on PATH"
}

# go_install_to DEST_BINARY LOGFILE PACKAGE@VERSION [-ldflags VALUE]
# Builds with `CGO_ENABLED=0 go install -trimpath` into a private GOBIN and moves the
# result into place atomically (safe while an older copy of the binary is running).
go_install_to() {
  local dest="$1" log="$2" pkg="$3"
  shift 3
  local dir tmp name
  dir="$(dirname "$dest")"
  name="${pkg%@*}"
  name="${name##*/}"
  # Fixed scratch GOBIN next to the destination; a leftover from an interrupted build
  # is removed here, on the next run.
  tmp="$dir/.go-install-$name"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  run_logged "$log" env CGO_ENABLED=0 GOBIN="$tmp" go install -trimpath "$@" "$pkg"
  [[ -x "$tmp/$name" ]] || die "go install $pkg did not produce $tmp/$name - see $log"
  mv -f "$tmp/$name" "$dest"
  rm -rf "$tmp"
}
