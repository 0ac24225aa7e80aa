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
# claim FILE: succeeds for the one caller that creates FILE (with noclobber the shell creates it with
# O_EXCL: atomic, and a builtin, so no process per claim).
claim() {
  set -C
  if { true >"$1"; } 2>/dev/null; then
    set +C
    return 0
  fi
  set +C
  return 1
}
# stop_timer TOOL: end an armed timer (see run_for) by ending its sleep, whose pid it wrote before it
# armed: the timer then finds the call claimed and exits. SIGKILL, because a sleep just forked may
# not have exec'd yet and would lose a SIGTERM to the shell code it still runs.
stop_timer() {
  if read -r sleeper 2>/dev/null <"$WORK/sleep.$1"; then kill -KILL "$sleeper" 2>/dev/null || :; fi
}
# stop_call TOOL: end a call from outside (the script is ending). It claims the call first, so its
# timer can no longer fire; it ends the timer if armed (if not, the timer sees the claim on armed
# and exits), and the tool only if the claim was its own: a call that its timer or its run_for
# claimed first is theirs to end.
stop_call() {
  claim "$WORK/claim.$1" || return 0
  # (a run_for that has just finished removes call.<pid> before its claim: then this claim is late)
  [ -e "$WORK/call.$1" ] || return 0
  claim "$WORK/armed.$1" || stop_timer "$1"
  kill -TERM "$1" 2>/dev/null || :
}
# stop_calls: every call in flight ($WORK/call.<tool pid>)
stop_calls() {
  set +f
  for call in "$WORK"/call.*; do
    if [ -e "$call" ]; then stop_call "${call##*/call.}"; fi
  done
}
# drop_work: remove the scratch directory. A call that stop_calls ended is still winding down: its
# run_for (in a background subshell) and its timer may claim or write in $WORK a moment later, and
# a plain rm -rf then meets a file created after it emptied the directory ("Directory not empty",
# and set -e made that the script's status). The directory is renamed first: from then on such a
# write fails on the missing path (a claim fails, so they exit). Only a create whose lookup of the
# old path was already done can still land in the renamed directory, at most one per process of
# the script: it either comes before rm's final rmdir (which fails, and rm is run again) or fails
# on the removed directory. A directory still left is swept by the next script (its owner is gone;
# the sweep above matches run.<pid>.*), and never changes the script's status.
drop_work() {
  mv -f "$WORK" "$WORK.end" 2>/dev/null || return 0
  drop_tries=0
  until rm -rf "$WORK.end" 2>/dev/null; do
    drop_tries=$((drop_tries + 1))
    if [ "$drop_tries" -ge 20 ]; then
      rm -rf "$WORK.end" || :
      return 0
    fi
  done
}
(
  exec </dev/null >/dev/null 2>&1
  trap '' INT TERM
  while [ -d "$WORK" ] && kill -0 $$ 2>/dev/null; do sleep 1; done
  [ -d "$WORK" ] || exit 0
  stop_calls
  drop_work
) &
# finish: the EXIT trap. It exits with the status it was called with: mksh would otherwise exit
# with the trap's own status when a signal's trap called exit (exit 130 became 0).
finish() {
  finish_status=$?
  stop_calls
  drop_work
  exit "$finish_status"
}
trap finish EXIT
trap 'exit 130' INT TERM HUP PIPE
set -f
# run_for SECONDS TOOL ARGS...: one tool call, ended (SIGTERM) after SECONDS, since a node may
# never answer (a control plane's etcd calls block while its etcd is down), and ended by the
# watchdog if this script is killed. Its stdin is /dev/null: no tool reads it. The redirection is
# inside the subshell that execs the tool: yash forks twice for an asynchronous command with a
# redirection in a subshell (a command substitution), and $! is then not the tool's pid.
# The timer is a subshell that waits for a sleep of SECONDS. Who ends the call is decided once, by
# whoever first claims $WORK/claim.<tool pid>: the timer when its sleep is over (it then ends the
# tool, running a moment before), run_for once the tool exited, stop_call when the script ends.
# Whoever claims first then claims $WORK/armed.<tool pid>, which the timer claims after starting
# its sleep and writing its pid: if the timer got there first, the claimer ends that sleep and the
# timer exits; if not, the timer sees the claim and exits at once. Nothing signals a shell: a
# subshell keeps the script's traps until it sets its own and dash drops a signal that arrives
# meanwhile (the timer slept on, then cut the next call short), and some shells miss a signal
# that comes just before `wait`. Nothing signals a process that may have been reaped: the tool
# is signalled only by whoever claimed the call while it ran, a timer's sleep only by whoever
# claimed the call before the sleep was over (a call that ends in the very instant of its limit
# is the exception: the signal may then reach a PID freed a moment before; so is the watchdog's
# signal to a tool of a killed script, which nothing reaps for it). And nothing ends by a signal
# its shell would report as a job notice.
run_for() {
  limit=$1
  shift
  (exec "$@" </dev/null) &
  child=$!
  echo "$child" >"$WORK/call.$child"
  (
    exec </dev/null >/dev/null 2>&1
    sleeper=
    trap '[ -z "$sleeper" ] || kill -KILL "$sleeper" 2>/dev/null; exit 0' HUP TERM
    sleep "$limit" &
    sleeper=$!
    if ! echo "$sleeper" >"$WORK/sleep.$child" || ! claim "$WORK/armed.$child"; then
      kill -KILL "$sleeper" 2>/dev/null
      exit 0
    fi
    wait "$sleeper" || :
    sleeper=
    claim "$WORK/claim.$child" || exit 0
    kill -TERM "$child" 2>/dev/null || :
    : >"$WORK/timed-out.$child"
  ) &
  timer=$!
  status=0
  wait "$child" 2>/dev/null || status=$?
  if claim "$WORK/claim.$child"; then
    claim "$WORK/armed.$child" || stop_timer "$child"
  fi
  # The timer holds the shell's saved copy of the step's stdout/stderr if it was forked while the
  # caller's output was redirected, and the provider's Wait waits for every writer of those pipes
  # (os/exec: Stdout is not a file): it must be gone before the script is.
  wait "$timer" 2>/dev/null || :
  if [ -e "$WORK/timed-out.$child" ]; then
    printf 'homeops: %s %s timed out after %s s\n' "${1##*/}" "${2:-}" "$limit" >&2
  fi
  # call.<pid> goes first (see stop_call)
  rm -f "$WORK/call.$child" "$WORK/sleep.$child" "$WORK/claim.$child" "$WORK/armed.$child" "$WORK/timed-out.$child"
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

cat > "$WORK/kubeconfig"
[ -s "$WORK/kubeconfig" ] || fail "no kubeconfig on stdin"
deadline=$(deadline_in "$TIMEOUT_API_READY")
until [ "$(run "$KUBECTL" "--kubeconfig" "${WORK}/kubeconfig" "get" "--raw" "/readyz" 2>"$WORK/readyz.err")" = ok ]; do
  past "$deadline" && fail "the API server at $CLUSTER_ENDPOINT is not ready after $TIMEOUT_API_READY s: $(last_line "$WORK/readyz.err")"
  sleep "$POLL_SECONDS"
done
for hostname in $EXPECTED_NODES; do
  until run "$KUBECTL" "--kubeconfig" "${WORK}/kubeconfig" "get" "nodes" "-o" "name" 2>"$WORK/nodes.err" | grep -qx "node/$hostname"; do
    past "$deadline" && fail "node $hostname has not registered with the API server after $TIMEOUT_API_READY s"
    sleep "$POLL_SECONDS"
  done
done
echo "API ready at $CLUSTER_ENDPOINT; nodes registered: $EXPECTED_NODES"
