/** One node's Talos upgrade on one hop of the planned path (plan/upgrades.ts), under the rolling gate. */
import { PRELUDE, shellCommand } from "../shell";
import { kubectl, talosctl } from "../talosctl";
import { K, T, WRITE_TALOSCONFIG } from "./common";
import { ROLLING } from "./rolling";

/**
 * The talosctl of the hop's minor: TALOSCTL_SETTING names the run-time setting that holds it
 * (TALOSCTL_V1_12, ...: homeops:talos.talosctls, or homeops:talos.talosctl for the stack's own
 * minor), so a new executable reaches the next run without re-running a step.
 */
export const SELECT_TALOSCTL = `case "$TALOSCTL_SETTING" in TALOSCTL_V1_[0-9]*) ;; *) fail "bad TALOSCTL_SETTING $TALOSCTL_SETTING" ;; esac
eval "TALOSCTL=\\\${$TALOSCTL_SETTING:-}"
test -n "\${TALOSCTL}" || fail "no talosctl for Talos $TALOS_MINOR in the run-time settings ($TALOSCTL_SETTING): set homeops:talos.talosctls[\\"$TALOS_MINOR\\"] and run pulumi up again"
`;

/**
 * The etcd gate before and after each node: every control plane's own etcd answers and lists the
 * full membership (one member per control plane) with no learner, and every member names the same
 * leader. \`etcd members\` asks the node's local member (EtcdMemberList QueryLocal) and fails
 * without quorum; \`etcd status\` prints the member ID then the leader ID, each 16 hex digits
 * (cmd/talosctl/cmd/talos/etcd.go @ v1.14.1: %x of MemberId and Leader).
 */
export const ETCD_GATE = `etcd_gate() {
  want=0
  for cp in $CONTROL_PLANE_ADDRESSES; do want=$((want + 1)); done
  leaders=""
  for cp in $CONTROL_PLANE_ADDRESSES; do
    ${shellCommand(T, talosctl.etcdMembers("${cp}"), '"$PROBE_TIMEOUT"')} >"$WORK/etcd.members" 2>"$WORK/gate.err" || { why="etcd on $cp: $(last_line "$WORK/gate.err")"; return 1; }
    n=$(grep -c '[0-9a-f]\\{16\\}' "$WORK/etcd.members" || :)
    [ "$n" -eq "$want" ] || { why="etcd on $cp lists $n members, the stack has $want control planes"; return 1; }
    ! grep '[0-9a-f]\\{16\\}' "$WORK/etcd.members" | grep -q 'true[[:space:]]*$' || { why="etcd on $cp lists a learner"; return 1; }
    ${shellCommand(T, talosctl.etcdStatus("${cp}"), '"$PROBE_TIMEOUT"')} >"$WORK/etcd.status" 2>"$WORK/gate.err" || { why="etcd status on $cp: $(last_line "$WORK/gate.err")"; return 1; }
    leader=$(grep -o '[0-9a-f]\\{16\\}' "$WORK/etcd.status" | sed -n 2p)
    case "$leader" in "" | 0000000000000000) why="etcd on $cp has no leader"; return 1 ;; esac
    case " $leaders " in *" $leader "*) ;; *) leaders="$leaders $leader" ;; esac
  done
  [ "$(echo $leaders | wc -w)" -eq 1 ] || { why="etcd members name different leaders:$leaders"; return 1; }
}
`;

/**
 * What the node runs: \`version --json\` (protojson, .version.tag: the Talos it booted, so an A/B
 * fallback shows as the old tag) and the schematic Image Factory put in its extensions (the
 * virtual extension \`schematic\`: talos @ v1.14.1 pkg/machinery/constants
 * ImageFactorySchematicExtensionName). talosctl prints each jsonpath result on a line of its own,
 * the "=" between them included (output/jsonpath.go), so the schematic is the line after
 * "schematic" and "=". Sets runs_version and runs_schematic.
 */
export const NODE_RUNS = `node_runs() {
  ${shellCommand(T, talosctl.versionJson("${NODE_ADDRESS}"))} >"$WORK/version.json" 2>"$WORK/gate.err" || { why="version of $NODE_ADDRESS: $(last_line "$WORK/gate.err")"; return 1; }
  runs_version=$(grep -o '"tag": *"[^"]*"' "$WORK/version.json" | head -n 1 | sed 's/.*"\\([^"]*\\)"$/\\1/')
  [ -n "$runs_version" ] || { why="no version tag from $NODE_ADDRESS"; return 1; }
  ${shellCommand(T, talosctl.extensions("${NODE_ADDRESS}"))} >"$WORK/extensions" 2>"$WORK/gate.err" || { why="extensions of $NODE_ADDRESS: $(last_line "$WORK/gate.err")"; return 1; }
  runs_schematic=$(awk '{ l[NR] = $0 } END { for (i = 1; i + 2 <= NR; i++) if (l[i] == "schematic" && l[i + 1] == "=") { print l[i + 2]; exit } }' "$WORK/extensions")
  runs_schematic=\${runs_schematic:-none}
}
`;

/**
 * Talos hop, one node: nothing when the node already runs the hop's version and schematic; a
 * refusal when it runs anything but the version and schematic the hop starts from (never guess).
 * Otherwise, under the rolling lock, with every other node healthy and the etcd gate passed:
 * leadership moved off the node, one \`talosctl upgrade\` of this node only (the talosctl of the
 * hop's minor: MachineService.Upgrade up to 1.12, LifecycleService from 1.13), then the node must
 * report the hop's version and schematic (else it fell back to its other boot entry, and the
 * rollout stops here), be healthy (API server, static pods, Node Ready), uncordoned, and etcd
 * whole again before the lock lets the next node go.
 */
export const talosUpgrade = `${PRELUDE}
${SELECT_TALOSCTL}${WRITE_TALOSCONFIG}${ROLLING}${ETCD_GATE}${NODE_RUNS}
this_node_healthy() { node_healthy "$NODE_ADDRESS" "$NODE_ROLE"; }
uncordoned() {
  [ -s "$WORK/kubeconfig" ] || fetch_kubeconfig || { why="no control plane serves a kubeconfig"; return 1; }
  cordoned=$(${shellCommand(K, kubectl.nodeUnschedulable("${NODE_HOSTNAME}"))} 2>"$WORK/gate.err") || { why="Node $NODE_HOSTNAME: $(last_line "$WORK/gate.err")"; return 1; }
  [ "$cordoned" != true ] || { why="Node $NODE_HOSTNAME is still cordoned"; return 1; }
}
runs_target() { [ "$runs_version" = "$TO_VERSION" ] && [ "$runs_schematic" = "$SCHEMATIC" ]; }
wait_until node_runs "the Talos version of $NODE_HOSTNAME ($NODE_ADDRESS)"
if runs_target; then
  echo "$NODE_HOSTNAME already runs Talos $TO_VERSION ($SCHEMATIC)"
  exit 0
fi
if [ "$runs_version" != "$FROM_VERSION" ] || [ "$runs_schematic" != "$FROM_SCHEMATIC" ]; then
  fail "$NODE_HOSTNAME ($NODE_ADDRESS) runs Talos $runs_version with schematic $runs_schematic; this hop assumed $FROM_VERSION with $FROM_SCHEMATIC before it (or $TO_VERSION with $SCHEMATIC after): refusing to guess. Bring the node to one of them, or record what it runs, then run pulumi up again"
fi
lock_acquire
running=no
gate_cluster && running=yes
if [ "$running" = yes ]; then
  wait_until others_healthy "every other node healthy before $NODE_HOSTNAME upgrades"
  wait_until etcd_gate "every etcd member healthy, one leader, full membership before $NODE_HOSTNAME upgrades"
  if [ "$NODE_ROLE" = controlplane ]; then
    ${shellCommand(T, talosctl.etcdForfeitLeadership("${NODE_ADDRESS}"))} >/dev/null 2>"$WORK/forfeit.err" || fail "etcd forfeit-leadership on $NODE_HOSTNAME failed: $(last_line "$WORK/forfeit.err")"
  fi
fi
log "$NODE_HOSTNAME: upgrading Talos $FROM_VERSION -> $TO_VERSION with $INSTALL_IMAGE (talosctl $TALOS_MINOR)"
upgrade_timeout=$(( \${UPGRADE_WAIT%s} + CALL_TIMEOUT ))
case "$TALOS_MINOR" in
  v1.10 | v1.11 | v1.12) upgrade_ok() { ${shellCommand(T, talosctl.upgradeLegacy("${NODE_ADDRESS}"), '"$upgrade_timeout"')} >"$WORK/upgrade.out" 2>"$WORK/upgrade.err"; } ;;
  *) upgrade_ok() { ${shellCommand(T, talosctl.upgradeLifecycle("${NODE_ADDRESS}"), '"$upgrade_timeout"')} >"$WORK/upgrade.out" 2>"$WORK/upgrade.err"; } ;;
esac
upgrade_ok || log "talosctl upgrade of $NODE_HOSTNAME ended with an error: $(last_line "$WORK/upgrade.err"); checking what the node runs"
wait_until node_runs "$NODE_HOSTNAME answering after its upgrade"
runs_target || fail "$NODE_HOSTNAME ($NODE_ADDRESS) came back running Talos $runs_version with schematic $runs_schematic, not $TO_VERSION with $SCHEMATIC (an A/B fallback to its previous boot entry, or the upgrade did not take: $(last_line "$WORK/upgrade.err" || :)); the rollout stops here"
if [ "$running" = yes ]; then
  wait_until this_node_healthy "$NODE_HOSTNAME healthy after its upgrade"
  wait_until uncordoned "$NODE_HOSTNAME uncordoned"
  wait_until etcd_gate "every etcd member healthy, one leader, full membership after $NODE_HOSTNAME upgraded"
fi
lock_release
echo "$NODE_HOSTNAME runs Talos $TO_VERSION ($SCHEMATIC)"
`;
