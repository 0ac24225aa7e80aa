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

cat > "$WORK/secrets.yaml"
[ -s "$WORK/secrets.yaml" ] || fail "no Talos secrets bundle on stdin"
run "$TALOSCTL" "gen" "config" "${CLUSTER_NAME}" "${CLUSTER_ENDPOINT}" "--with-secrets" "${WORK}/secrets.yaml" "--output-types" "talosconfig" "--output" "${WORK}/talosconfig" "--force" >/dev/null
printf '%s\n' "$NODE_PATCH" > "$WORK/patch.yaml"
run "$TALOSCTL" "gen" "config" "${CLUSTER_NAME}" "${CLUSTER_ENDPOINT}" "--with-secrets" "${WORK}/secrets.yaml" "--config-patch" "@${WORK}/patch.yaml" "--output-types" "${NODE_ROLE}" "--output" "${WORK}/machineconfig.yaml" "--kubernetes-version" "${KUBERNETES_VERSION}" "--talos-version" "${TALOS_CONTRACT}" "--install-image" "${INSTALL_IMAGE}" "--additional-sans" "${CLUSTER_VIP}" "--dns-domain" "${DNS_DOMAIN}" "--with-docs=false" "--with-examples=false" "--force" >/dev/null 2>"$WORK/gen.err" || fail "talosctl gen config failed: $(last_line "$WORK/gen.err")"
run "$TALOSCTL" "validate" "--config" "${WORK}/machineconfig.yaml" "--mode" "metal" >/dev/null 2>"$WORK/validate.err" || fail "machine config for $NODE_HOSTNAME is invalid: $(last_line "$WORK/validate.err")"
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
# fetch_kubeconfig: the admin kubeconfig into $WORK from the first control plane that serves one
fetch_kubeconfig() {
  for cp in $CONTROL_PLANE_ADDRESSES; do
    run "$TALOSCTL" "kubeconfig" "-" "--merge=false" "--nodes" "${cp}" "--endpoints" "${cp}" "--talosconfig" "${WORK}/talosconfig" >"$WORK/kubeconfig" 2>"$WORK/kubeconfig.err" && [ -s "$WORK/kubeconfig" ] && return 0
  done
  return 1
}
cluster_running() {
  probe_members
  serving_member >/dev/null && return 0
  why="no control plane's etcd serves members:"
  for cp in $CONTROL_PLANE_ADDRESSES; do why="$why $cp: $(last_line "$WORK/members.$cp.err" || :);"; done
  return 1
}
# gate_cluster: succeeds when a control plane's etcd serves members (the cluster runs). On a
# cluster that ran before (CLUSTER_WAS_RUNNING=yes: the stack's outputs say an earlier update
# completed the cluster phase), an etcd that does not answer is waited for and then refused: never
# taken for a cluster that does not run, which would skip the health checks.
gate_cluster() {
  if [ "${CLUSTER_WAS_RUNNING:-no}" = yes ]; then
    wait_until cluster_running "an answering etcd before $NODE_HOSTNAME changes (the stack's last update completed the cluster phase, so the cluster ran; refusing to skip the rolling gate)"
    return 0
  fi
  cluster_running
}
# node_settled ADDRESS ROLE: the node's boot finished (stage running) and, for a control plane,
# its own etcd serves with a leader (`etcd members` fails without quorum and on a learner;
# `etcd status` answers even then); sets `ready` to its machine readiness (Kubernetes NodeReady
# included). talosctl prints each jsonpath result on a line of its own (output/jsonpath.go).
node_settled() {
  status=$(run "$TALOSCTL" "get" "machinestatus" "--nodes" "${1}" "--endpoints" "${1}" "--talosconfig" "${WORK}/talosconfig" "--output" "jsonpath={.spec.stage} {.spec.status.ready}" 2>"$WORK/gate.err") || { why="$1: $(last_line "$WORK/gate.err")"; return 1; }
  set -- "$1" "$2" $status
  case "$3 ${4:-}" in
    "running true") ready=yes ;;
    "running false") ready=no ;;
    *) why="$1 is $3"; return 1 ;;
  esac
  [ "$2" = controlplane ] || return 0
  run_for "$PROBE_TIMEOUT" "$TALOSCTL" "etcd" "members" "--nodes" "${1}" "--endpoints" "${1}" "--talosconfig" "${WORK}/talosconfig" >/dev/null 2>"$WORK/gate.err" || { why="etcd on $1: $(last_line "$WORK/gate.err")"; return 1; }
}
# node_name ADDRESS: the node's Kubernetes name (its hostname: Talos nodename.go) from NODE_NAMES
node_name() {
  for pair in $NODE_NAMES; do
    [ "${pair%%=*}" = "$1" ] && { echo "${pair#*=}"; return 0; }
  done
  echo "$1"
}
# control_plane_current ADDRESS: the control plane's own kube-apiserver answers on its address and
# every static pod its kubelet runs carries the annotations of the pod Talos rendered last, Ready.
control_plane_current() {
  GATE_ADDRESS=$1
  GATE_NODE=$(node_name "$1")
  [ -s "$WORK/kubeconfig" ] || fetch_kubeconfig || { why="no control plane serves a kubeconfig: $(last_line "$WORK/kubeconfig.err")"; return 1; }
  run "$KUBECTL" "--kubeconfig" "${WORK}/kubeconfig" "--server" "https://${GATE_ADDRESS}:6443" "get" "--raw" "/readyz" >/dev/null 2>"$WORK/gate.err" || { why="kube-apiserver on $1: $(last_line "$WORK/gate.err")"; return 1; }
  rendered=$(run "$TALOSCTL" "get" "staticpods" "--nodes" "${GATE_ADDRESS}" "--endpoints" "${GATE_ADDRESS}" "--talosconfig" "${WORK}/talosconfig" "--output" "jsonpath={.metadata.id} {.spec.pod.metadata.annotations.talos\\.dev/config-version} {.spec.pod.metadata.annotations.talos\\.dev/secrets-version}" 2>"$WORK/gate.err") || { why="static pods of $1: $(last_line "$WORK/gate.err")"; return 1; }
  pods=$(run "$KUBECTL" "--kubeconfig" "${WORK}/kubeconfig" "--server" "https://${GATE_ADDRESS}:6443" "get" "pods" "--namespace" "kube-system" "kube-apiserver-${GATE_NODE}" "kube-controller-manager-${GATE_NODE}" "kube-scheduler-${GATE_NODE}" "--output" "jsonpath={range .items[*]}{.metadata.name} {.metadata.annotations.talos\\.dev/config-version} {.metadata.annotations.talos\\.dev/secrets-version} {.status.conditions[?(@.type==\"Ready\")].status} {end}" 2>"$WORK/gate.err") || { why="mirror pods of $GATE_NODE: $(last_line "$WORK/gate.err")"; return 1; }
  want=""
  set -- $rendered
  while [ $# -ge 3 ]; do
    want="$want $1-$GATE_NODE $2 $3 True"
    shift 3
  done
  [ -n "$want" ] || { why="Talos has rendered no control-plane static pod on $GATE_ADDRESS yet"; return 1; }
  # word lists compared with single spaces: `set --` splits both the same way
  # shellcheck disable=SC2086
  set -- $want
  want="$*"
  # shellcheck disable=SC2086
  set -- $pods
  [ "$want" = "$*" ] || { why="control-plane pods on $GATE_NODE not yet the ones Talos rendered and Ready (want: $want; running: $pods)"; return 1; }
}
# node_healthy ADDRESS ROLE: settled, and for a control plane its Kubernetes control plane current
node_healthy() {
  node_settled "$1" "$2" || return 1
  [ "$2" = controlplane ] || return 0
  node_ready=$ready
  control_plane_current "$1" || return 1
  ready=$node_ready
}
# others_healthy: every other node healthy (control planes: etcd member serving, API server and
# static pods current) and Ready, or, before any node is Ready (no CNI yet), at least that.
others_healthy() {
  any_ready=no
  not_ready=""
  for other in $NODE_ADDRESSES; do
    [ "$other" = "$NODE_ADDRESS" ] && continue
    role=worker
    case " $CONTROL_PLANE_ADDRESSES " in *" $other "*) role=controlplane ;; esac
    node_healthy "$other" "$role" || return 1
    if [ "$ready" = yes ]; then any_ready=yes; else not_ready="$not_ready $other"; fi
  done
  if [ "$any_ready" = yes ] && [ -n "$not_ready" ]; then why="not Ready:$not_ready"; return 1; fi
}
# wait_until CHECK WHAT: poll CHECK until it passes or TIMEOUT_HEALTH runs out, then fail
wait_until() {
  gate_deadline=$(deadline_in "$TIMEOUT_HEALTH")
  until "$1"; do
    past "$gate_deadline" && fail "$2 not reached within $TIMEOUT_HEALTH s: $why"
    sleep "$POLL_SECONDS"
  done
}
# The rolling lock (a directory; its owner's pid inside): one configured node at a time.
# A lock whose owner is gone (killed) is taken over; one without a pid yet is not (its owner
# is between mkdir and writing its pid).
lock_acquire() {
  lock_deadline=$(deadline_in "$TIMEOUT_ROLLING")
  while ! mkdir "$ROLLING_LOCK" 2>/dev/null; do
    owner=$(cat "$ROLLING_LOCK/pid" 2>/dev/null || :)
    if [ -n "$owner" ] && ! kill -0 "$owner" 2>/dev/null; then
      rm -rf "$ROLLING_LOCK"
      continue
    fi
    past "$lock_deadline" && fail "another node's change still holds $ROLLING_LOCK after $TIMEOUT_ROLLING s"
    sleep "$POLL_SECONDS"
  done
  echo $$ >"$ROLLING_LOCK/pid"
  LOCKED=yes
}
lock_release() { [ "${LOCKED:-}" = yes ] && rm -rf "$ROLLING_LOCK"; LOCKED=no; }
holds_config() {
  run "$TALOSCTL" "apply-config" "--nodes" "${NODE_ADDRESS}" "--endpoints" "${NODE_ADDRESS}" "--talosconfig" "${WORK}/talosconfig" "--file" "${WORK}/machineconfig.yaml" "--mode" "auto" "--dry-run" >/dev/null 2>"$WORK/dry.err" && grep -q 'No changes' "$WORK/dry.err"
}
reboot_parts() {
  awk '
    /^---/ { depth = 0; kind = "v1alpha1"; next }
    /^[[:space:]]*(#|$)/ { next }
    {
      line = $0
      match(line, /^ */); indent = RLENGTH
      rest = substr(line, indent + 1)
      while (rest ~ /^- /) { indent += 2; rest = substr(rest, 3) }
      while (depth > 0 && ind[depth] >= indent) depth--
      path = ""
      for (i = 1; i <= depth; i++) path = path "." key[i]
      if (rest ~ /^[A-Za-z0-9_.\/-]+:( |$)/) {
        k = rest; sub(/:.*/, "", k)
        if (indent == 0 && k == "kind") { v = rest; sub(/^kind: */, "", v); kind = v }
        depth++; key[depth] = k; ind[depth] = indent
        path = path "." k
      }
      if (path ~ /^\.cluster\.etcd(\.|$)/ || path ~ /^\.machine\.env(\.|$)/ ||
          path ~ /^\.machine\.kernel\.modules(\.|$)/ || path ~ /^\.machine\.systemDiskEncryption(\.|$)/ ||
          kind == "EnvironmentConfig" || kind == "KernelModuleConfig" ||
          (kind == "VolumeConfig" && path ~ /^\.encryption(\.|$)/))
        print kind "|" path "|" line
    }
    BEGIN { kind = "v1alpha1"; depth = 0 }
  ' "$1"
}
needs_reboot() {
  case "$TALOS_MINOR" in v1.10 | v1.11 | v1.12 | v1.13) return 1 ;; esac
  run "$TALOSCTL" "get" "machineconfig" "v1alpha1" "--nodes" "${NODE_ADDRESS}" "--endpoints" "${NODE_ADDRESS}" "--talosconfig" "${WORK}/talosconfig" "--output" "jsonpath={.spec}" >"$WORK/active.yaml" 2>"$WORK/active.err" || fail "reading the active config of $NODE_HOSTNAME failed: $(last_line "$WORK/active.err")"
  reboot_parts "$WORK/active.yaml" >"$WORK/active.parts"
  reboot_parts "$WORK/machineconfig.yaml" >"$WORK/rendered.parts"
  ! cmp -s "$WORK/active.parts" "$WORK/rendered.parts"
}
# reboot_node: a graceful, drained reboot of this node, waiting until it is back
reboot_node() {
  log "$NODE_HOSTNAME: the change acts only at the next boot on Talos $TALOS_MINOR (apply-config never reboots there): rebooting it, drained"
  run_for "$(( ${UPGRADE_WAIT%s} + CALL_TIMEOUT ))" "$TALOSCTL" "reboot" "--nodes" "${NODE_ADDRESS}" "--endpoints" "${NODE_ADDRESS}" "--talosconfig" "${WORK}/talosconfig" "--wait" "--timeout" "${UPGRADE_WAIT}" "--drain" "--drain-timeout" "${DRAIN_WAIT}" >"$WORK/reboot.out" 2>"$WORK/reboot.err" || fail "talosctl reboot of $NODE_HOSTNAME failed: $(last_line "$WORK/reboot.err")"
}

# probe_mode: maintenance | configured | foreign, or nothing while the node answers neither
probe_mode() {
  if run "$TALOSCTL" "get" "machinestatus" "--nodes" "${NODE_ADDRESS}" "--endpoints" "${NODE_ADDRESS}" "--insecure" "--output" "jsonpath={.spec.stage}" >/dev/null 2>"$WORK/probe.err"; then
    echo maintenance
  elif grep -Eq 'tls: certificate required|tls: bad certificate' "$WORK/probe.err"; then
    if run "$TALOSCTL" "get" "machinestatus" "--nodes" "${NODE_ADDRESS}" "--endpoints" "${NODE_ADDRESS}" "--talosconfig" "${WORK}/talosconfig" "--output" "jsonpath={.spec.stage} {.spec.status.ready}" >/dev/null 2>"$WORK/auth.err"; then
      echo configured
    elif grep -q 'certificate signed by unknown authority' "$WORK/auth.err"; then
      echo foreign
    else
      cp "$WORK/auth.err" "$WORK/probe.err"
    fi
  fi
}
deadline=$(deadline_in "$TIMEOUT_NODE_READY")
while :; do
  mode=$(probe_mode)
  [ -n "$mode" ] && break
  past "$deadline" && fail "$NODE_HOSTNAME ($NODE_ADDRESS) answers neither in maintenance nor in configured mode after $TIMEOUT_NODE_READY s: $(last_line "$WORK/probe.err")"
  sleep "$POLL_SECONDS"
done
[ "$mode" = foreign ] && fail "$NODE_HOSTNAME ($NODE_ADDRESS) is configured with a different cluster identity; refusing to touch it"

# apply ARGS...: apply-config; a connection dropped after sending counts as taken (checked below)
apply() {
  "$@" >"$WORK/apply.out" 2>"$WORK/apply.err" && return 0
  dropped "$WORK/apply.err" || fail "apply-config to $NODE_HOSTNAME failed: $(last_line "$WORK/apply.err")"
  log "the connection dropped after the config was sent (the node installs or reboots); verifying below"
}
wait_holds_config() {
  deadline=$(deadline_in "$TIMEOUT_NODE_READY")
  until holds_config; do
    past "$deadline" && fail "$NODE_HOSTNAME did not come back running config $CONFIG_SHA256 within $TIMEOUT_NODE_READY s: $(last_line "$WORK/dry.err")"
    sleep "$POLL_SECONDS"
  done
}
this_node_healthy() { node_healthy "$NODE_ADDRESS" "$NODE_ROLE"; }

if [ "$mode" = maintenance ]; then
  log "$NODE_HOSTNAME is in maintenance mode: installing config $CONFIG_SHA256"
  apply run "$TALOSCTL" "apply-config" "--nodes" "${NODE_ADDRESS}" "--endpoints" "${NODE_ADDRESS}" "--insecure" "--file" "${WORK}/machineconfig.yaml"
  wait_holds_config
  # Joining a cluster that runs (a node added, or installed again after a reset): done only once
  # it is healthy. A new control plane joins etcd as a learner and votes once Talos promotes it
  # (talos v1.10.5 internal/app/machined/pkg/system/services/etcd.go addMember: MemberAddAsLearner,
  # then promoteMember); until then the cluster's quorum is two of its two voters, and the next
  # change must not start on that (node_healthy: its own etcd serves, which a learner does not).
  if [ "${CLUSTER_WAS_RUNNING:-no}" = yes ] && cluster_running; then
    wait_until this_node_healthy "$NODE_HOSTNAME joined the running cluster and healthy"
  fi
elif holds_config; then
  log "$NODE_HOSTNAME already runs config $CONFIG_SHA256"
else
  lock_acquire
  running=no
  gate_cluster && running=yes
  [ "$running" = yes ] && wait_until others_healthy "every other node healthy before $NODE_HOSTNAME changes"
  reboot_needed=no
  needs_reboot && reboot_needed=yes
  log "$NODE_HOSTNAME is configured: applying config $CONFIG_SHA256"
  apply run "$TALOSCTL" "apply-config" "--nodes" "${NODE_ADDRESS}" "--endpoints" "${NODE_ADDRESS}" "--talosconfig" "${WORK}/talosconfig" "--file" "${WORK}/machineconfig.yaml" "--mode" "auto"
  grep -q 'with a reboot' "$WORK/apply.err" && log "$NODE_HOSTNAME reboots to take this change"
  wait_holds_config
  [ "$reboot_needed" = yes ] && reboot_node
  [ "$running" = yes ] && wait_until this_node_healthy "$NODE_HOSTNAME healthy again"
  lock_release
fi
echo "$NODE_HOSTNAME configured ($CONFIG_SHA256)"
