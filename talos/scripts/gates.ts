/** The gates: the API through the VIP, Kubernetes conditions, talosctl health. */
import { PRELUDE, shellCommand } from "../shell";
import { kubectl, talosctl } from "../talosctl";
import { K, T, WRITE_KUBECONFIG, WRITE_TALOSCONFIG } from "./common";

/** cluster phase gate: the API answers through the VIP and every node has registered. */
export const apiReady = `${PRELUDE}
${WRITE_KUBECONFIG}deadline=$(deadline_in "$TIMEOUT_API_READY")
until [ "$(${shellCommand(K, kubectl.readyz())} 2>"$WORK/readyz.err")" = ok ]; do
  past "$deadline" && fail "the API server at $CLUSTER_ENDPOINT is not ready after $TIMEOUT_API_READY s: $(last_line "$WORK/readyz.err")"
  sleep "$POLL_SECONDS"
done
for hostname in $EXPECTED_NODES; do
  until ${shellCommand(K, kubectl.nodeNames())} 2>"$WORK/nodes.err" | grep -qx "node/$hostname"; do
    past "$deadline" && fail "node $hostname has not registered with the API server after $TIMEOUT_API_READY s"
    sleep "$POLL_SECONDS"
  done
done
echo "API ready at $CLUSTER_ENDPOINT; nodes registered: $EXPECTED_NODES"
`;

/**
 * Gate on Kubernetes conditions. WAIT_FOR lists `Condition:namespace:kind/name` entries (or
 * `Ready::nodes` for all nodes); each is polled with short bounded attempts. `kubectl wait` fails
 * at once while the object or its CRD does not exist yet (kubectl pkg/cmd/wait: NotFound / "the
 * server doesn't have a resource type"), so every failed attempt is followed by a sleep.
 * WAIT_TIMEOUT_NAME names the setting that bounds this gate.
 */
export const kubeWait = `${PRELUDE}
${WRITE_KUBECONFIG}case "$WAIT_TIMEOUT_NAME" in TIMEOUT_[A-Z_]*) ;; *) fail "bad WAIT_TIMEOUT_NAME $WAIT_TIMEOUT_NAME" ;; esac
eval "WAIT_TIMEOUT=\\$$WAIT_TIMEOUT_NAME"
deadline=$(deadline_in "$WAIT_TIMEOUT")
for entry in $WAIT_FOR; do
  COND=\${entry%%:*}; rest=\${entry#*:}; NS=\${rest%%:*}; OBJ=\${rest#*:}
  if [ "$OBJ" = nodes ]; then TARGET="nodes --all"; else TARGET=$OBJ; fi
  ATTEMPT=$POLL_SECONDS
  until ${shellCommand(K, kubectl.waitOnce(), '"$(( ${ATTEMPT%.*} + CALL_TIMEOUT ))"')} >/dev/null 2>"$WORK/wait.err"; do
    if past "$deadline"; then
      why=$(${shellCommand(K, kubectl.conditionMessage())} 2>/dev/null || true)
      fail "$OBJ is not $COND after $WAIT_TIMEOUT s: \${why:-$(last_line "$WORK/wait.err")}"
    fi
    sleep "$POLL_SECONDS"
  done
  log "$OBJ is $COND"
done
echo "$GATE_NAME passed"
`;

/**
 * cni phase gate: `talosctl health` (etcd, control plane, all nodes Ready), bounded. health polls
 * its checks itself for --wait-timeout, so each attempt gets the time left; the loop only retries
 * an attempt that failed early (e.g. the API briefly unreachable).
 */
export const talosHealth = `${PRELUDE}
${WRITE_TALOSCONFIG}deadline=$(deadline_in "$TIMEOUT_HEALTH")
while :; do
  left=$(( deadline - $(now) )); [ "$left" -gt 0 ] || left=1
  HEALTH_ATTEMPT_TIMEOUT=\${left}s
  if [ -n "$HEALTH_WORKERS" ]; then
    ${shellCommand(T, talosctl.healthWithWorkers("${BOOTSTRAP_ADDRESS}"), '"$(( left + CALL_TIMEOUT ))"')} >"$WORK/health.out" 2>&1 && break
  else
    ${shellCommand(T, talosctl.health("${BOOTSTRAP_ADDRESS}"), '"$(( left + CALL_TIMEOUT ))"')} >"$WORK/health.out" 2>&1 && break
  fi
  past "$deadline" && fail "talosctl health did not pass within $TIMEOUT_HEALTH s: $(last_line "$WORK/health.out")"
  sleep "$POLL_SECONDS"
done
echo "talosctl health passed"
`;
