/**
 * A node taken out of the cluster because it left `homeops:nodes` (the delete of its apply, see
 * reset.ts, which tells a removal from `pulumi destroy` by the run-time node inventory). Config
 * validation already refused an unsafe removal (config/removal.ts); at run time, under the
 * rolling lock, with every remaining control plane's etcd serving first:
 * 1. a control plane leaves etcd: `etcd forfeit-leadership` then `etcd leave` on the node itself
 *    (leave removes the node's own member, retrying while it is unhealthy; MemberNotFound counts
 *    as done: talos @ v1.14.1 internal/pkg/etcd/etcd.go LeaveCluster, the same code from v1.10.5
 *    on). A node that does not answer cannot leave: its member is removed through a remaining
 *    control plane by its hex ID, as `etcd members` prints it (`etcd remove-member <id>`;
 *    hostnames are refused: resources/etcd ParseMemberID). The same path for every supported
 *    minor (NOTES §7.5: the server code of these calls is unchanged from v1.12.6 to v1.14.1).
 * 2. its Kubernetes Node is cordoned and drained (when it still exists), then deleted: Talos never
 *    deletes it (terraform-provider-talos #216). A node that does not answer is not drained: its
 *    kubelet cannot end its pods, and drain waits until each evicted pod is gone (k8s.io/kubectl
 *    v0.33 pkg/drain/drain.go waitForDelete), so it would only time out; once its Node is deleted,
 *    the pod garbage collector deletes the pods bound to it (kubernetes v1.31
 *    pkg/controller/podgc/gc_controller.go gcOrphaned) and their controllers replace them.
 * 3. reset only when operations.resetOnDestroy names it, with the wipe set of its Talos minor
 *    (talosctl.ts safeReset), never a user volume; not graceful: it left etcd and was drained.
 * 4. end checks: no remaining member lists it, `kubectl get nodes` does not, and the talosconfig
 *    step's endpoints (the inventory's control planes, re-rendered by this update) do not.
 */
import { shellCommand } from "../shell";
import { kubectl, talosctl } from "../talosctl";
import { K, T } from "./common";

/** Shell functions of the removal; they need ROLLING (probe_members, fetch_kubeconfig, wait_until). */
export const REMOVAL = `# remaining_serving: every remaining control plane's etcd serves members (after probe_members);
# HEALTHY is the first of them
remaining_serving() {
  probe_members
  HEALTHY=""
  for cp in $CONTROL_PLANE_ADDRESSES; do
    [ -s "$WORK/members.$cp" ] || { why="etcd on $cp: $(last_line "$WORK/members.$cp.err" || :)"; return 1; }
    [ -n "$HEALTHY" ] || HEALTHY=$cp
  done
  [ -n "$HEALTHY" ] || { why="no control plane stays in homeops:nodes"; return 1; }
}
# member_id: the hex member ID of $NODE_HOSTNAME in the list of $HEALTHY's etcd (the word before
# the hostname: columns [NODE] ID HOSTNAME PEER-URLS CLIENT-URLS LEARNER); empty when not a member.
# Fails when the list cannot be read: never taken for "not a member".
member_id() {
  ${shellCommand(T, talosctl.etcdMembers("${HEALTHY}"), '"$PROBE_TIMEOUT"')} >"$WORK/members" 2>"$WORK/members.err" || return 1
  awk -v host="$NODE_HOSTNAME" '{ for (i = 2; i <= NF; i++) if ($i == host) { print $(i - 1); exit } }' "$WORK/members"
}
not_a_member() {
  MEMBER_ID=$(member_id) || { why="etcd members on $HEALTHY: $(last_line "$WORK/members.err")"; return 1; }
  [ -z "$MEMBER_ID" ] || { why="$NODE_HOSTNAME is still member $MEMBER_ID"; return 1; }
}
leave_etcd() {
  MEMBER_ID=$(member_id) || fail "cannot list etcd members on $HEALTHY: $(last_line "$WORK/members.err")"
  if [ -z "$MEMBER_ID" ]; then
    log "$NODE_HOSTNAME is no etcd member (already left)"
    return 0
  fi
  if ${shellCommand(T, talosctl.etcdForfeitLeadership("${NODE_ADDRESS}"))} >/dev/null 2>"$WORK/forfeit.err" \\
    && ${shellCommand(T, talosctl.etcdLeave("${NODE_ADDRESS}"))} >/dev/null 2>"$WORK/leave.err"; then
    log "$NODE_HOSTNAME left etcd (member $MEMBER_ID)"
  else
    err="$WORK/leave.err"; [ -s "$err" ] || err="$WORK/forfeit.err"
    log "$NODE_HOSTNAME could not leave etcd itself ($(last_line "$err")): removing member $MEMBER_ID through $HEALTHY"
    ${shellCommand(T, talosctl.etcdRemoveMember("${HEALTHY}", "${MEMBER_ID}"))} >/dev/null 2>"$WORK/remove.err" \\
      || grep -q NotFound "$WORK/remove.err" \\
      || fail "etcd remove-member $MEMBER_ID ($NODE_HOSTNAME) through $HEALTHY failed: $(last_line "$WORK/remove.err")"
  fi
  wait_until not_a_member "$NODE_HOSTNAME gone from etcd members"
}
# node_object: NODE_OBJECT=present|absent for node/$NODE_HOSTNAME (fails when nodes cannot be listed)
node_object() {
  ${shellCommand(K, kubectl.nodeNames())} >"$WORK/nodes" 2>"$WORK/nodes.err" || { why="kubectl get nodes: $(last_line "$WORK/nodes.err")"; return 1; }
  if grep -qx "node/$NODE_HOSTNAME" "$WORK/nodes"; then NODE_OBJECT=present; else NODE_OBJECT=absent; fi
}
node_object_gone() {
  node_object || return 1
  [ "$NODE_OBJECT" = absent ] || { why="node/$NODE_HOSTNAME still listed"; return 1; }
}
# node_down: the node's own API does not answer (a dial error, or no answer within PROBE_TIMEOUT)
node_down() {
  ${shellCommand(T, talosctl.versionJson("${NODE_ADDRESS}"), '"$PROBE_TIMEOUT"')} >/dev/null 2>"$WORK/version.err" && return 1
  unreachable "$WORK/version.err" || grep -q 'timed out after' "$WORK/version.err"
}
leave_kubernetes() {
  fetch_kubeconfig || fail "no remaining control plane serves a kubeconfig: $(last_line "$WORK/kubeconfig.err")"
  wait_until node_object "the list of Kubernetes nodes"
  if [ "$NODE_OBJECT" = present ]; then
    ${shellCommand(K, kubectl.cordon())} >/dev/null 2>"$WORK/cordon.err" || fail "kubectl cordon $NODE_HOSTNAME failed: $(last_line "$WORK/cordon.err")"
    DRAIN_SECONDS=$TIMEOUT_HEALTH
    if node_down; then
      log "not draining $NODE_HOSTNAME: it does not answer ($(last_line "$WORK/version.err")), so its pods cannot end and a drain would wait for them until it times out; deleting its Node lets the pod garbage collector delete them"
    else
      ${shellCommand(K, kubectl.drain())} >/dev/null 2>"$WORK/drain.err" || fail "kubectl drain $NODE_HOSTNAME failed (pods without a controller, or a PodDisruptionBudget, hold it): $(last_line "$WORK/drain.err")"
    fi
    ${shellCommand(K, kubectl.deleteNode())} >/dev/null 2>"$WORK/delete.err" || fail "kubectl delete node $NODE_HOSTNAME failed: $(last_line "$WORK/delete.err")"
  else
    log "node/$NODE_HOSTNAME is not in Kubernetes (already deleted)"
  fi
  wait_until node_object_gone "node/$NODE_HOSTNAME gone from kubectl get nodes"
}
`;
