/** One Kubernetes hop of the planned path (plan/upgrades.ts): upgrade-k8s, then a health gate. */
import { PRELUDE, shellCommand } from "../shell";
import { kubectl, talosctl } from "../talosctl";
import { K, T, WRITE_TALOSCONFIG } from "./common";
import { ROLLING } from "./rolling";
import { ETCD_GATE, SELECT_TALOSCTL } from "./upgrade";

/**
 * Kubernetes hop: one \`talosctl upgrade-k8s --from --to\` through one control plane (the talosctl
 * of the minor the nodes run), under the rolling lock so no node's apply or upgrade interleaves.
 * upgrade-k8s allows only X->X+1 and refuses anything else before it contacts a node; it skips
 * what already runs the target, so a re-run after a failure continues (talos @ v1.14.1
 * pkg/cluster/kubernetes/talos_managed.go Upgrade, errUpdateSkipped; go-kubernetes
 * upgrade/path.go). Nothing when every kubelet and every control plane's own kube-apiserver
 * already report the target. After it: every kubelet and API server on the target, every Node
 * Ready (when any was Ready before: not before the CNI runs), etcd whole.
 */
export const kubernetesUpgrade = `${PRELUDE}
${SELECT_TALOSCTL}${WRITE_TALOSCONFIG}${ROLLING}${ETCD_GATE}
# at_target: every registered kubelet and every control plane's own kube-apiserver run v$TO_VERSION
at_target() {
  [ -s "$WORK/kubeconfig" ] || fetch_kubeconfig || { why="no control plane serves a kubeconfig: $(last_line "$WORK/kubeconfig.err")"; return 1; }
  kubelets=$(${shellCommand(K, kubectl.kubeletVersions())} 2>"$WORK/gate.err") || { why="Nodes: $(last_line "$WORK/gate.err")"; return 1; }
  for pair in $kubelets; do
    [ "\${pair#*=}" = "v$TO_VERSION" ] || { why="kubelet of \${pair%%=*} runs \${pair#*=}"; return 1; }
  done
  for hostname in $EXPECTED_NODES; do
    case " $kubelets " in *" $hostname="*) ;; *) why="Node $hostname is not registered"; return 1 ;; esac
  done
  for cp in $CONTROL_PLANE_ADDRESSES; do
    ${shellCommand(K, kubectl.apiServerVersionOf("${cp}"))} >"$WORK/version" 2>"$WORK/gate.err" || { why="kube-apiserver on $cp: $(last_line "$WORK/gate.err")"; return 1; }
    grep -q "\\"gitVersion\\": *\\"v$TO_VERSION\\"" "$WORK/version" || { why="kube-apiserver on $cp runs $(grep -o '"gitVersion": *"[^"]*"' "$WORK/version" || echo 'an unknown version')"; return 1; }
  done
}
nodes_ready() { ${shellCommand(K, kubectl.waitOnce())} >/dev/null 2>"$WORK/gate.err" || { why="Nodes not Ready: $(last_line "$WORK/gate.err")"; return 1; }; }
# readiness_read: the Nodes' Ready conditions, read (an answer, never a failed call, decides)
readiness_read() {
  [ -s "$WORK/kubeconfig" ] || fetch_kubeconfig || { why="no control plane serves a kubeconfig: $(last_line "$WORK/kubeconfig.err")"; return 1; }
  readiness=$(${shellCommand(K, kubectl.nodeReadiness())} 2>"$WORK/gate.err") || { why="Nodes: $(last_line "$WORK/gate.err")"; return 1; }
}
if at_target; then
  echo "Kubernetes already runs v$TO_VERSION"
  exit 0
fi
lock_acquire
gate_cluster || fail "no control plane's etcd serves members: $why"
wait_until etcd_gate "every etcd member healthy, one leader, full membership before Kubernetes $FROM_VERSION -> $TO_VERSION"
# As the rolling gate: every Node Ready after the hop when any was before; before the CNI runs
# (the stack stopped at the cluster phase) no Node is Ready, and none can become so.
wait_until readiness_read "the Nodes' Ready conditions read before Kubernetes $FROM_VERSION -> $TO_VERSION"
case " $readiness " in *"=True "*) nodes_were_ready=yes ;; *) nodes_were_ready=no ;; esac
log "upgrade-k8s $FROM_VERSION -> $TO_VERSION through $CONTROL_PLANE_ADDRESS (talosctl $TALOS_MINOR)"
${shellCommand(T, talosctl.upgradeKubernetes("${CONTROL_PLANE_ADDRESS}"), '"$(( ${UPGRADE_WAIT%s} + CALL_TIMEOUT ))"')} >"$WORK/upgrade-k8s.out" 2>"$WORK/upgrade-k8s.err" || fail "talosctl upgrade-k8s --from $FROM_VERSION --to $TO_VERSION failed: $(last_line "$WORK/upgrade-k8s.err")"
wait_until at_target "every kubelet and API server on Kubernetes v$TO_VERSION"
if [ "$nodes_were_ready" = yes ]; then
  COND=Ready NS="" TARGET="nodes --all" ATTEMPT=$POLL_SECONDS
  wait_until nodes_ready "every Node Ready on Kubernetes v$TO_VERSION"
fi
wait_until etcd_gate "every etcd member healthy, one leader, full membership after Kubernetes $TO_VERSION"
lock_release
echo "Kubernetes runs v$TO_VERSION"
`;
