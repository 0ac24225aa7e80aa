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
unreachable() { grep -Eq '[Ee]rror while dialing|connection refused|no route to host|network is unreachable' "$1"; }
dropped() {
  unreachable "$1" && return 1
  grep -Eq 'error reading from server|transport is closing|connection reset by peer' "$1"
}
# probe_members: ask every control plane's own etcd for its members, all at once (`etcd members`
# asks only the addressed node's local etcd: EtcdMemberList with QueryLocal, cmd/talosctl/cmd/talos/
# etcd.go; it blocks while that etcd is down, so each probe is bounded by PROBE_TIMEOUT). Leaves
# $WORK/members.<address> non-empty for each that serves, and its stderr in members.<address>.err.
probe_members() {
  probes=""
  for cp in $CONTROL_PLANE_ADDRESSES; do
    run_for "$PROBE_TIMEOUT" "$TALOSCTL" "etcd" "members" "--nodes" "${cp}" "--endpoints" "${cp}" "--talosconfig" "${WORK}/talosconfig" >"$WORK/members.$cp" 2>"$WORK/members.$cp.err" &
    probes="$probes $!"
  done
  for probe in $probes; do wait "$probe" || :; done
}
# serving_member: the first control plane whose etcd serves members (after probe_members)
serving_member() {
  for cp in $CONTROL_PLANE_ADDRESSES; do
    [ -s "$WORK/members.$cp" ] && { echo "$cp"; return 0; }
  done
  return 1
}
deadline=$(deadline_in "$TIMEOUT_API_READY")
already=no
while :; do
  probe_members
  serving=$(serving_member || :)
  silent=""
  for cp in $CONTROL_PLANE_ADDRESSES; do
    unreachable "$WORK/members.$cp.err" && silent="$silent $cp" && last_err="$WORK/members.$cp.err"
  done
  if [ -n "$serving" ]; then
    log "etcd serves members on $serving: the cluster is bootstrapped"
    break
  fi
  if [ -z "$silent" ]; then
    if run "$TALOSCTL" "bootstrap" "--nodes" "${BOOTSTRAP_ADDRESS}" "--endpoints" "${BOOTSTRAP_ADDRESS}" "--talosconfig" "${WORK}/talosconfig" >/dev/null 2>"$WORK/bootstrap.err"; then
      log "bootstrapped etcd on $BOOTSTRAP_HOSTNAME; waiting for it to serve"
    elif grep -q 'AlreadyExists' "$WORK/bootstrap.err"; then
      already=yes
    fi
  fi
  if past "$deadline"; then
    [ -n "$silent" ] && fail "cannot reach control plane(s)$silent to tell whether they hold the cluster's etcd; refusing to bootstrap a second etcd: $(last_line "$last_err")"
    [ "$already" = yes ] && fail "$BOOTSTRAP_HOSTNAME has etcd data (AlreadyExists) but no control plane's etcd serves members: data of an earlier cluster? If so, wipe it with talosctl reset --system-labels-to-wipe EPHEMERAL --reboot --nodes $BOOTSTRAP_ADDRESS and run again"
    fail "etcd on $BOOTSTRAP_HOSTNAME did not come up within $TIMEOUT_API_READY s: $(last_line "$WORK/bootstrap.err")"
  fi
  sleep "$POLL_SECONDS"
done
echo "etcd bootstrapped"
