/** talos phase: one node's machine config, applied under the rolling gate. */
import { PRELUDE, shellCommand } from "../shell";
import { FILES, talosctl } from "../talosctl";
import { T, work, WRITE_TALOSCONFIG } from "./common";
import { HOLDS_CONFIG, ROLLING } from "./rolling";
import { NEEDS_REBOOT } from "./reboot";

/**
 * talos phase, per node: render the full machine config with the pinned talosctl, validate it,
 * find out whether the node is in maintenance mode or configured (never guess), and apply:
 * - maintenance (first install): insecure, in parallel with the other nodes;
 * - configured: nothing when the node already runs this config; otherwise under the rolling lock,
 *   and on a running cluster only when every other node is healthy, then wait until this one is
 *   healthy again (its restarted control-plane pods included) before the lock lets the next node
 *   go. `--mode auto` reboots when the change cannot be applied live (v1alpha1_runtime.go
 *   CanApplyImmediate); a live change answers before what it restarts has restarted
 *   (v1alpha1_server.go ApplyConfiguration), hence the same wait. On a cluster that ran before,
 *   an etcd that does not answer is waited for, then refused (see rolling.ts gate_cluster).
 * Then wait until the authenticated API answers and the node runs the applied config. Boot
 * completion (stage running) comes only after etcd is bootstrapped, so it is the health gates'
 * business, not this step's (v1alpha1_sequencer_tasks.go StartAllServices waits for etcd).
 * On v1.14, where apply-config never reboots, a change that acts only at boot gets an explicit
 * drained reboot under the same lock (reboot.ts).
 */
export const applyNode = `${PRELUDE}
${WRITE_TALOSCONFIG}printf '%s\\n' "$NODE_PATCH" > "${work(FILES.patch)}"
${shellCommand(T, talosctl.genMachineConfig())} >/dev/null 2>"$WORK/gen.err" || fail "talosctl gen config failed: $(last_line "$WORK/gen.err")"
${shellCommand(T, talosctl.validate())} >/dev/null 2>"$WORK/validate.err" || fail "machine config for $NODE_HOSTNAME is invalid: $(last_line "$WORK/validate.err")"
${ROLLING}${HOLDS_CONFIG}${NEEDS_REBOOT}
# probe_mode: maintenance | configured | foreign, or nothing while the node answers neither
probe_mode() {
  if ${shellCommand(T, talosctl.machineStageInsecure("${NODE_ADDRESS}"))} >/dev/null 2>"$WORK/probe.err"; then
    echo maintenance
  elif grep -Eq 'tls: certificate required|tls: bad certificate' "$WORK/probe.err"; then
    if ${shellCommand(T, talosctl.machineStatus("${NODE_ADDRESS}"))} >/dev/null 2>"$WORK/auth.err"; then
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
  apply ${shellCommand(T, talosctl.applyInsecure("${NODE_ADDRESS}"))}
  wait_holds_config
  # Joining a cluster that runs (a node added, or installed again after a reset): done only once
  # it is healthy. A new control plane joins etcd as a learner and votes once Talos promotes it
  # (talos v1.10.5 internal/app/machined/pkg/system/services/etcd.go addMember: MemberAddAsLearner,
  # then promoteMember); until then the cluster's quorum is two of its two voters, and the next
  # change must not start on that (node_healthy: its own etcd serves, which a learner does not).
  if [ "\${CLUSTER_WAS_RUNNING:-no}" = yes ] && cluster_running; then
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
  apply ${shellCommand(T, talosctl.applyAuthenticated("${NODE_ADDRESS}"))}
  grep -q 'with a reboot' "$WORK/apply.err" && log "$NODE_HOSTNAME reboots to take this change"
  wait_holds_config
  [ "$reboot_needed" = yes ] && reboot_node
  [ "$running" = yes ] && wait_until this_node_healthy "$NODE_HOSTNAME healthy again"
  lock_release
fi
echo "$NODE_HOSTNAME configured ($CONFIG_SHA256)"
`;
