#!/bin/sh
# Generated from talos/scripts/ by `npm run gen:steps`: edit that file, not this one.
set -eu
umask 077
log() { printf 'homeops[%s]: %s\n' "${STEP_ID:-?}" "$*" >&2; }
fail() { printf 'homeops[%s]: ERROR: %s\n' "${STEP_ID:-?}" "$*" >&2; exit 1; }
case "${HOMEOPS_SETTINGS:-}" in
  "" | /* | *..*) fail "HOMEOPS_SETTINGS must name the stack's settings file relative to the project directory" ;;
esac
[ -r "./$HOMEOPS_SETTINGS" ] || fail "no runtime settings at ./$HOMEOPS_SETTINGS: run pulumi preview or up from the project directory first"
. "./$HOMEOPS_SETTINGS"
unset TALOSCONFIG KUBECONFIG OP_CONNECT_HOST OP_CONNECT_TOKEN OP_SESSION OP_CONFIG_DIR OP_BIOMETRIC_UNLOCK_ENABLED
WORK_ROOT="${TMPDIR:-/tmp}/homeops-work-$(id -u)"
mkdir -p "$WORK_ROOT"
chmod 700 "$WORK_ROOT"
for stale in "$WORK_ROOT"/run.*; do
  [ -d "$stale" ] || continue
  owner=${stale##*/run.}
  owner=${owner%%.*}
  kill -0 "$owner" 2>/dev/null || rm -rf "$stale"
done
WORK=$(mktemp -d "$WORK_ROOT/run.$$.XXXXXX")
: >"$WORK/children"
(
  trap '' INT TERM
  while kill -0 $$ 2>/dev/null; do sleep 1; done
  while read -r child; do kill -TERM "$child" 2>/dev/null || :; done <"$WORK/children"
  rm -rf "$WORK"
) </dev/null >/dev/null 2>&1 &
WATCHDOG=$!
finish() {
  while read -r child; do kill -TERM "$child" 2>/dev/null || :; done <"$WORK/children"
  kill -KILL "$WATCHDOG" 2>/dev/null || :
  rm -rf "$WORK"
}
trap finish EXIT
trap 'exit 130' INT TERM HUP PIPE
set -f
# run_for SECONDS TOOL ARGS...: one tool call, ended (SIGTERM) after SECONDS, since a node may
# never answer (a control plane's etcd calls block while its etcd is down), and ended by the
# watchdog if this script is killed. Its stdin is /dev/null: no tool reads it.
run_for() {
  limit=$1
  shift
  "$@" </dev/null &
  child=$!
  echo "$child" >>"$WORK/children"
  (
    sleep "$limit" &
    timer_sleep=$!
    trap 'kill "$timer_sleep" 2>/dev/null; exit 0' TERM
    wait "$timer_sleep"
    : >"$WORK/timed-out.$child"
    kill -TERM "$child" 2>/dev/null
  ) </dev/null >/dev/null 2>&1 &
  timer=$!
  # The timer too: a subshell forked while the caller's output is redirected keeps the shell's
  # saved copy of the step's stdout/stderr open, and the provider's Wait waits for every writer of
  # those pipes (os/exec: Stdout is not a file), so a cancelled step would hang until it expired.
  echo "$timer" >>"$WORK/children"
  status=0
  wait "$child" || status=$?
  kill -TERM "$timer" 2>/dev/null || :
  wait "$timer" 2>/dev/null || :
  if [ -e "$WORK/timed-out.$child" ]; then
    printf 'homeops: %s %s timed out after %s s\n' "${1##*/}" "$2" "$limit" >&2
  fi
  return "$status"
}
run() { run_for "$CALL_TIMEOUT" "$@"; }
now() { date +%s; }
# deadline_in SECONDS -> the epoch second at which a wait gives up
deadline_in() { echo $(( $(now) + $1 )); }
# past DEADLINE -> true once the deadline has passed
past() { [ "$(now)" -ge "$1" ]; }
# last_line FILE -> the last non-empty line of a captured stderr, for error messages
last_line() { grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -n 1; }

cat > "$WORK/secrets.yaml"
[ -s "$WORK/secrets.yaml" ] || fail "no Talos secrets bundle on stdin"
run "$TALOSCTL" "gen" "config" "${CLUSTER_NAME}" "${CLUSTER_ENDPOINT}" "--with-secrets" "${WORK}/secrets.yaml" "--output-types" "talosconfig" "--output" "${WORK}/talosconfig" "--force" >/dev/null
# fetch_kubeconfig: the admin kubeconfig into $WORK from the first control plane that serves one
fetch_kubeconfig() {
  for cp in $CONTROL_PLANE_ADDRESSES; do
    run "$TALOSCTL" "kubeconfig" "-" "--merge=false" "--nodes" "${cp}" "--endpoints" "${cp}" "--talosconfig" "${WORK}/talosconfig" >"$WORK/kubeconfig" 2>"$WORK/kubeconfig.err" && [ -s "$WORK/kubeconfig" ] && return 0
  done
  return 1
}
deadline=$(deadline_in "$TIMEOUT_API_READY")
until fetch_kubeconfig; do
  past "$deadline" && fail "no control plane served a kubeconfig within $TIMEOUT_API_READY s: $(last_line "$WORK/kubeconfig.err")"
  sleep "$POLL_SECONDS"
done
cat "$WORK/kubeconfig"
