/** Delete of a node's apply: the safe reset, only of a node listed for it. */
import { PRELUDE, shellCommand } from "../shell";
import { FILES, talosctl } from "../talosctl";
import { T, work, WRITE_TALOSCONFIG } from "./common";
import { HOLDS_CONFIG, ROLLING } from "./rolling";

/**
 * Delete of a node's apply (`pulumi destroy`, or the node left the stack). It resets the node
 * only when the current stack settings name it in operations.resetOnDestroy (read at run time:
 * the delete itself runs with the inputs stored at the last apply) AND the node still runs the
 * very config this resource applied: a node renamed or re-addressed in the stack was configured
 * anew by its new resource before this delete runs, so it is never reset by accident. Safe reset
 * wipes STATE and EPHEMERAL only and reboots into maintenance mode, one node at a time.
 */
export const nodeReset = `${PRELUDE}
case " $RESET_ON_DESTROY " in
  *" $NODE_HOSTNAME "*) ;;
  *) log "leaving $NODE_HOSTNAME as it is (not listed in operations.resetOnDestroy)"; exit 0 ;;
esac
${WRITE_TALOSCONFIG}printf '%s\\n' "$NODE_PATCH" > "${work(FILES.patch)}"
${shellCommand(T, talosctl.genMachineConfig())} >/dev/null 2>"$WORK/gen.err" || fail "talosctl gen config failed: $(last_line "$WORK/gen.err")"
${ROLLING}${HOLDS_CONFIG}
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
${shellCommand(T, talosctl.safeReset("${NODE_ADDRESS}"))} >/dev/null 2>"$WORK/reset.err" || fail "safe reset of $NODE_HOSTNAME failed: $(last_line "$WORK/reset.err")"
# --wait=false returns once the request is taken; the reset runs after (and etcd may still refuse
# a graceful leave): done only when the node answers in maintenance mode.
deadline=$(deadline_in "$TIMEOUT_NODE_READY")
until stage=$(${shellCommand(T, talosctl.machineStageInsecure("${NODE_ADDRESS}"))} 2>"$WORK/probe.err") && [ "$stage" = maintenance ]; do
  past "$deadline" && fail "$NODE_HOSTNAME was asked to reset but is not in maintenance mode after $TIMEOUT_NODE_READY s (a graceful reset stops when etcd refuses the leave): $(last_line "$WORK/probe.err")"
  sleep "$POLL_SECONDS"
done
lock_release
log "reset $NODE_HOSTNAME (STATE and EPHEMERAL wiped, back in maintenance mode)"
`;
