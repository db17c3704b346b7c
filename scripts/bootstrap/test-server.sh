#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Ensures the official Temporal time-skipping test server (Java, from Maven Central) is
# ready for TestWorkflowEnvironment.createTimeSkipping():
#   - jars in $LEDGERLINE_CACHE/temporal-test-server/lib (resolved by Maven from
#     scripts/temporal-test-server/pom.xml, skipped when already there)
#   - wrapper $LEDGERLINE_BIN/temporal-test-server (the SDK runs `<wrapper> <port>`)
#   - a real start of the wrapper on a free port, timed (only after a change, or with --verify)
#
# Usage: scripts/bootstrap/test-server.sh [--verify]
# Env:   LEDGERLINE_CACHE (default ~/.cache/ledgerline)
# Prints progress to stderr and the wrapper's path on stdout.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/../lib/common.sh"

force_verify=0
for arg in "$@"; do
  case "$arg" in
    --verify) force_verify=1 ;;
    -h | --help)
      print_header_help "${BASH_SOURCE[0]}"
      exit 0
      ;;
    *) die "unknown argument '$arg' (usage: $0 [--verify])" ;;
  esac
done

pom="$REPO_ROOT/scripts/temporal-test-server/pom.xml"
home="$LEDGERLINE_CACHE/temporal-test-server"
libdir="$home/lib"
wrapper="$LEDGERLINE_BIN/temporal-test-server"
stamp="$home/verified"
log="$LEDGERLINE_LOGS/temporal-test-server-mvn.log"

[[ -f "$pom" ]] || die "missing $pom (it pins the test server version; restore it from git)"
# The version is pinned in the pom; read it from there so the two cannot drift.
version="$(awk '/<artifactId>temporal-test-server<\/artifactId>/ {found=1; next}
  found && /<version>/ {gsub(/.*<version>|<\/version>.*/, ""); print; exit}' "$pom")"
[[ -n "$version" ]] || die "could not read the temporal-test-server version from $pom"
jar="$libdir/temporal-test-server-$version.jar"

have java || die "java not found - the test server needs Java 17+: apt-get install -y openjdk-17-jre-headless"
changed=0

step "Temporal test server $version: checking jars in $libdir"
if [[ -f "$jar" ]]; then
  info "present ($(find "$libdir" -maxdepth 1 -name '*.jar' | wc -l) jars)"
else
  have mvn || die "mvn not found - needed once to fetch the test server jars from Maven Central: apt-get install -y maven"
  step "Temporal test server $version: fetching jars from Maven Central (5-60 s the first time)"
  # Copy into a scratch dir and swap it in, so an interrupted run never leaves a lib/
  # that has the main jar but misses dependencies.
  mkdir -p "$home"
  rm -rf "$libdir.tmp"
  run_logged "$log" mvn -B -q -f "$pom" dependency:copy-dependencies \
    -DoutputDirectory="$libdir.tmp" -DincludeScope=runtime
  [[ -f "$libdir.tmp/temporal-test-server-$version.jar" ]] ||
    die "Maven finished but $libdir.tmp/temporal-test-server-$version.jar is missing - see $log"
  rm -rf "$libdir.old"
  [[ -d "$libdir" ]] && mv "$libdir" "$libdir.old"
  mv "$libdir.tmp" "$libdir"
  rm -rf "$libdir.old"
  info "$(find "$libdir" -maxdepth 1 -name '*.jar' | wc -l) jars in $libdir"
  changed=1
fi

step "Temporal test server $version: checking wrapper $wrapper"
case "$libdir" in
  *[\"\$\`\\]*) die "LEDGERLINE_CACHE path '$LEDGERLINE_CACHE' contains a quote, \$, backquote or backslash; choose a plainer path" ;;
esac
# `exec` matters: the SDK kills the pid it started and waits for its pipes to close.
# No --enable-time-skipping: the TypeScript client locks/unlocks time itself.
content="#!/usr/bin/env bash
exec java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto -cp \"$libdir/*\" io.temporal.testserver.TestServer \"\$@\""
if [[ -x "$wrapper" && "$(cat "$wrapper")" == "$content" ]]; then
  info "up to date"
else
  mkdir -p "$LEDGERLINE_BIN"
  printf '%s\n' "$content" >"$wrapper.tmp"
  chmod 755 "$wrapper.tmp"
  mv -f "$wrapper.tmp" "$wrapper"
  info "written"
  changed=1
fi

# The stamp records what was last verified (wrapper + java), so a warm run skips the JVM start.
fingerprint="$(
  cat "$wrapper"
  ls -l "$jar"
  readlink -f "$(command -v java)"
)"
if ((changed == 0 && force_verify == 0)) && [[ -f "$stamp" && "$(cat "$stamp")" == "$fingerprint" ]]; then
  info "verified earlier (pass --verify to start it again)"
else
  port="$(free_port)"
  step "Temporal test server $version: verifying the wrapper starts (port $port)"
  run_log="$home/verify.log"
  start="$(now_ms)"
  "$wrapper" "$port" </dev/null >"$run_log" 2>&1 &
  pid=$!
  wait_for_port 127.0.0.1 "$port" 60 "temporal-test-server" "$pid" "$run_log"
  ms=$(($(now_ms) - start))
  # Thanks to exec, $pid is the JVM itself: TERM must end it (and nothing is left over).
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do pid_alive "$pid" || break; sleep 0.1; done
  if pid_alive "$pid"; then
    kill -9 "$pid" 2>/dev/null || true
    die "temporal-test-server (pid $pid) did not stop on SIGTERM - see $run_log"
  fi
  wait "$pid" 2>/dev/null || true
  info "JVM listening after $(format_ms "$ms") (java: $(java -version 2>&1 | head -n 1))"
  if ((ms > 4000)); then
    warn "the SDK gives the test server about 5 s to answer; this machine took $(format_ms "$ms")"
  fi
  printf '%s\n' "$fingerprint" >"$stamp"
fi
printf '%s\n' "$wrapper"
