/** The rolling gate and lock that the per-node apply and its reset share. */
import { shellCommand } from "../shell";
import { kubectl, talosctl } from "../talosctl";
import { CLASSIFY, FETCH_KUBECONFIG, K, PROBE_MEMBERS, T } from "./common";

/**
 * Helpers shared by the per-node apply and its reset: the running-cluster checks and the rolling
 * lock that lets only one configured node at a time go through a change (three control planes
 * keep quorum with one down, never with two).
 *
 * A node is healthy when its boot finished, its MachineStatus is ready (services, static pods,
 * Kubernetes Node Ready), a control plane's own etcd serves members, its own kube-apiserver
 * answers /readyz on its address, and every control-plane static pod its kubelet runs is the one
 * Talos rendered last: the mirror pod's talos.dev/config-version and secrets-version equal those
 * of Talos's StaticPod resource, and it is Ready. That is how Talos's own upgrade-k8s waits for a
 * restarted pod (pkg/cluster/kubernetes/talos_managed.go @ v1.10.5 checkPodStatus: the mirror
 * pod's config-version against the config resource's version, then PodReady). A change that
 * restarts nothing leaves the versions equal, so nothing is waited for; one that restarts a pod
 * moves Talos's version at once (the controllers react to the new config before the kubelet
 * replaces the pod), so the wait holds until the new pod runs.
 */
export const ROLLING = `${CLASSIFY}${PROBE_MEMBERS}${FETCH_KUBECONFIG}cluster_running() {
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
  if [ "\${CLUSTER_WAS_RUNNING:-no}" = yes ]; then
    wait_until cluster_running "an answering etcd before $NODE_HOSTNAME changes (the stack's last update completed the cluster phase, so the cluster ran; refusing to skip the rolling gate)"
    return 0
  fi
  cluster_running
}
# node_settled ADDRESS ROLE: the node's boot finished (stage running) and, for a control plane,
# its own etcd serves with a leader (\`etcd members\` fails without quorum and on a learner;
# \`etcd status\` answers even then); sets \`ready\` to its machine readiness (Kubernetes NodeReady
# included). talosctl prints each jsonpath result on a line of its own (output/jsonpath.go).
node_settled() {
  status=$(${shellCommand(T, talosctl.machineStatus("${1}"))} 2>"$WORK/gate.err") || { why="$1: $(last_line "$WORK/gate.err")"; return 1; }
  set -- "$1" "$2" $status
  case "$3 \${4:-}" in
    "running true") ready=yes ;;
    "running false") ready=no ;;
    *) why="$1 is $3"; return 1 ;;
  esac
  [ "$2" = controlplane ] || return 0
  ${shellCommand(T, talosctl.etcdMembers("${1}"), '"$PROBE_TIMEOUT"')} >/dev/null 2>"$WORK/gate.err" || { why="etcd on $1: $(last_line "$WORK/gate.err")"; return 1; }
}
# node_name ADDRESS: the node's Kubernetes name (its hostname: Talos nodename.go) from NODE_NAMES
node_name() {
  for pair in $NODE_NAMES; do
    [ "\${pair%%=*}" = "$1" ] && { echo "\${pair#*=}"; return 0; }
  done
  echo "$1"
}
# control_plane_current ADDRESS: the control plane's own kube-apiserver answers on its address and
# every static pod its kubelet runs carries the annotations of the pod Talos rendered last, Ready.
control_plane_current() {
  GATE_ADDRESS=$1
  GATE_NODE=$(node_name "$1")
  [ -s "$WORK/kubeconfig" ] || fetch_kubeconfig || { why="no control plane serves a kubeconfig: $(last_line "$WORK/kubeconfig.err")"; return 1; }
  ${shellCommand(K, kubectl.readyzOf("${GATE_ADDRESS}"))} >/dev/null 2>"$WORK/gate.err" || { why="kube-apiserver on $1: $(last_line "$WORK/gate.err")"; return 1; }
  rendered=$(${shellCommand(T, talosctl.staticPodVersions("${GATE_ADDRESS}"))} 2>"$WORK/gate.err") || { why="static pods of $1: $(last_line "$WORK/gate.err")"; return 1; }
  pods=$(${shellCommand(K, kubectl.mirrorPods("${GATE_ADDRESS}", "${GATE_NODE}"))} 2>"$WORK/gate.err") || { why="mirror pods of $GATE_NODE: $(last_line "$WORK/gate.err")"; return 1; }
  want=""
  set -- $rendered
  while [ $# -ge 3 ]; do
    want="$want $1-$GATE_NODE $2 $3 True"
    shift 3
  done
  [ -n "$want" ] || { why="Talos has rendered no control-plane static pod on $GATE_ADDRESS yet"; return 1; }
  # word lists compared with single spaces: \`set --\` splits both the same way
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
lock_release() { [ "\${LOCKED:-}" = yes ] && rm -rf "$ROLLING_LOCK"; LOCKED=no; }
`;

/** apply_holds_config: the node runs exactly the machine config in $WORK (dry run: No changes). */
export const HOLDS_CONFIG = `holds_config() {
  ${shellCommand(T, talosctl.applyDryRun("${NODE_ADDRESS}"))} >/dev/null 2>"$WORK/dry.err" && grep -q 'No changes' "$WORK/dry.err"
}
`;
