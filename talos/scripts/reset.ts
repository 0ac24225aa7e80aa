/** Delete of a node's apply: the node's removal from the cluster, or the safe reset on destroy. */
import { PRELUDE, shellCommand } from "../shell";
import { FILES, talosctl } from "../talosctl";
import { T, work, WRITE_TALOSCONFIG } from "./common";
import { REMOVAL } from "./removal";
import { HOLDS_CONFIG, ROLLING } from "./rolling";

/**
 * Delete of a node's apply. The delete runs with the inputs stored at the last apply; what it
 * does is decided from the run-time settings, which every evaluation rewrites:
 * - the node left `homeops:nodes` (its hostname and its address are gone from the inventory
 *   NODE_NAMES): it is removed from etcd and Kubernetes (removal.ts), and reset only when
 *   operations.resetOnDestroy names it;
 * - `pulumi destroy` (the engine does not evaluate the program, so the settings of the last
 *   preview or up still list it), a replacement, or a rename (its address is still listed, under
 *   another hostname): left alone unless operations.resetOnDestroy names it AND it still runs the
 *   very config this resource applied (a renamed or re-addressed node was configured anew by its
 *   new resource before this delete runs, so it is never reset by accident). Then safe reset, one
 *   node at a time, graceful (leave etcd, drain) while other members remain.
 * A reset wipes the system volumes of the node's Talos minor (talosctl.ts safeReset), never a
 * user volume, reboots, and is done only when the node answers in maintenance mode.
 */
export const nodeReset = `${PRELUDE}
REMOVING=yes
case " $NODE_NAMES " in *"=$NODE_HOSTNAME "*) REMOVING=no ;; esac
case " $NODE_ADDRESSES " in *" $NODE_ADDRESS "*) REMOVING=no ;; esac
RESET=no
case " $RESET_ON_DESTROY " in *" $NODE_HOSTNAME "*) RESET=yes ;; esac
if [ "$REMOVING" = no ] && [ "$RESET" = no ]; then
  log "leaving $NODE_HOSTNAME as it is (not listed in operations.resetOnDestroy)"
  exit 0
fi
${WRITE_TALOSCONFIG}printf '%s\\n' "$NODE_PATCH" > "${work(FILES.patch)}"
${shellCommand(T, talosctl.genMachineConfig())} >/dev/null 2>"$WORK/gen.err" || fail "talosctl gen config failed: $(last_line "$WORK/gen.err")"
${ROLLING}${HOLDS_CONFIG}${REMOVAL}# reset_node: the safe reset (RESET_GRACEFUL), then wait until the node answers in maintenance mode
reset_node() {
  if [ "\${TALOS_MINOR:-}" = v1.14 ]; then
    ${shellCommand(T, talosctl.safeReset("${NODE_ADDRESS}", true))} >/dev/null 2>"$WORK/reset.err" || fail "safe reset of $NODE_HOSTNAME failed: $(last_line "$WORK/reset.err")"
  else
    ${shellCommand(T, talosctl.safeReset("${NODE_ADDRESS}"))} >/dev/null 2>"$WORK/reset.err" || fail "safe reset of $NODE_HOSTNAME failed: $(last_line "$WORK/reset.err")"
  fi
  # --wait=false returns once the request is taken; the reset runs after (and etcd may still refuse
  # a graceful leave): done only when the node answers in maintenance mode.
  deadline=$(deadline_in "$TIMEOUT_NODE_READY")
  until stage=$(${shellCommand(T, talosctl.machineStageInsecure("${NODE_ADDRESS}"))} 2>"$WORK/probe.err") && [ "$stage" = maintenance ]; do
    past "$deadline" && fail "$NODE_HOSTNAME was asked to reset but is not in maintenance mode after $TIMEOUT_NODE_READY s (a graceful reset stops when etcd refuses the leave): $(last_line "$WORK/probe.err")"
    sleep "$POLL_SECONDS"
  done
  log "reset $NODE_HOSTNAME (system volumes of Talos \${TALOS_MINOR:-?} wiped, back in maintenance mode)"
}
if [ "$REMOVING" = yes ]; then
  log "removing $NODE_HOSTNAME ($NODE_ADDRESS) from the cluster: it left homeops:nodes"
  lock_acquire
  wait_until remaining_serving "every remaining control plane's etcd serving before $NODE_HOSTNAME leaves"
  [ "$NODE_ROLE" = controlplane ] && leave_etcd
  leave_kubernetes
  if [ "$RESET" = yes ]; then
    if holds_config; then
      RESET_GRACEFUL=false
      reset_node
    else
      log "not resetting $NODE_HOSTNAME: it does not answer with the config this stack applied ($(last_line "$WORK/dry.err"))"
    fi
  fi
  lock_release
  log "removed $NODE_HOSTNAME: no etcd member, no Kubernetes node; the talosconfig's endpoints are the remaining control planes ($CONTROL_PLANE_ADDRESSES)"
  exit 0
fi
if ! holds_config; then
  unreachable "$WORK/dry.err" && fail "cannot reach $NODE_HOSTNAME ($NODE_ADDRESS) to reset it: bring it up, or remove it from operations.resetOnDestroy"
  log "leaving $NODE_HOSTNAME ($NODE_ADDRESS): it no longer runs the config this stack applied as $NODE_HOSTNAME (renamed or reconfigured)"
  exit 0
fi
lock_acquire
RESET_GRACEFUL=false
if [ "$NODE_ROLE" = controlplane ] && ${shellCommand(T, talosctl.etcdMembers("${NODE_ADDRESS}"), '"$PROBE_TIMEOUT"')} >"$WORK/members" 2>/dev/null; then
  # leave etcd gracefully while other members remain; the last member cannot leave
  [ "$(grep -c . "$WORK/members")" -gt 2 ] && RESET_GRACEFUL=true
fi
reset_node
lock_release
`;
