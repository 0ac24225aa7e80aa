/** The rolling gate and lock that the per-node apply and its reset share. */
import { shellCommand } from "../shell";
import { talosctl } from "../talosctl";
import { CLASSIFY, PROBE_MEMBERS, T } from "./common";

/**
 * Helpers shared by the per-node apply and its reset: the running-cluster checks and the rolling
 * lock that lets only one configured node at a time go through a change (three control planes
 * keep quorum with one down, never with two).
 */
export const ROLLING = `${CLASSIFY}${PROBE_MEMBERS}cluster_running() { probe_members; serving_member >/dev/null; }
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
# others_healthy: every other node settled (control planes: etcd member healthy) and Ready, or,
# before any node is Ready (no CNI yet), at least settled.
others_healthy() {
  any_ready=no
  not_ready=""
  for other in $NODE_ADDRESSES; do
    [ "$other" = "$NODE_ADDRESS" ] && continue
    role=worker
    case " $CONTROL_PLANE_ADDRESSES " in *" $other "*) role=controlplane ;; esac
    node_settled "$other" "$role" || return 1
    if [ "$ready" = yes ]; then any_ready=yes; else not_ready="$not_ready $other"; fi
  done
  if [ "$any_ready" = yes ] && [ -n "$not_ready" ]; then why="not Ready:$not_ready"; return 1; fi
}
# wait_until CHECK WHAT: poll CHECK until it passes or TIMEOUT_HEALTH runs out
wait_until() {
  gate_deadline=$(deadline_in "$TIMEOUT_HEALTH")
  until "$1"; do
    past "$gate_deadline" && fail "$2 not reached within $TIMEOUT_HEALTH s: $why"
    sleep "$POLL_SECONDS"
  done
}
# The rolling lock (a directory; its owner's pid inside): one configured node at a time.
# A lock whose owner is gone (killed) is taken over.
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
