/**
 * The idempotent POSIX sh scripts the command resources run. Each is a constant string: its
 * parameters arrive in the environment, secrets on stdin (see shell.ts). Every script can be
 * killed at any line and run again: it reads state from the node/cluster/1Password, never from a
 * local file, and every wait polls a real condition until a deadline.
 */
import { PRELUDE, shellCommand } from "./shell";
import { FILES, kubectl, talosctl } from "./talosctl";

const T = '"$TALOSCTL"';
const K = '"$KUBECTL"';

/**
 * Reads the Talos secrets bundle from stdin and writes a talosconfig for it (no node contact).
 * Every node-addressed call passes --nodes/--endpoints itself, so no endpoints are stored in it.
 */
const WRITE_TALOSCONFIG = `cat > "${"$"}WORK/secrets.yaml"
[ -s "${"$"}WORK/secrets.yaml" ] || fail "no Talos secrets bundle on stdin"
${shellCommand(T, talosctl.genTalosconfig())} >/dev/null
`;

/**
 * talos phase, once per cluster life: the secrets bundle. 1Password is the source of truth; a new
 * bundle is minted only when 1Password has none AND every node is provably in maintenance mode,
 * so a missing item can never silently give an existing cluster a new identity.
 * stdout: the bundle (a secret output).
 */
export const secretsBundleScript = `${PRELUDE}
# read_bundle FILE: the field's value; \`op\` prints a multi-line value CSV-quoted ("..." with "" for
# a quote), which is undone here so the bundle arrives byte for byte.
read_bundle() {
  op item get "$OP_ITEM" --vault "$OP_VAULT" --fields "label=$OP_FIELD" --reveal >"$1.raw" 2>"$WORK/op.err" || return 1
  if [ "$(head -c 1 "$1.raw")" = '"' ]; then
    sed -e '1s/^"//' -e '$s/"$//' -e 's/""/"/g' "$1.raw" >"$1"
  else
    cat "$1.raw" >"$1"
  fi
}
if read_bundle "$WORK/bundle.yaml"; then
  [ -s "$WORK/bundle.yaml" ] || fail "1Password item '$OP_ITEM' (vault $OP_VAULT) has an empty '$OP_FIELD' field"
  log "using the Talos secrets bundle from 1Password item '$OP_ITEM'"
  cat "$WORK/bundle.yaml"
  exit 0
fi
grep -q "isn't an item" "$WORK/op.err" || fail "cannot read 1Password item '$OP_ITEM' in vault $OP_VAULT: $(last_line "$WORK/op.err")"
log "1Password has no Talos secrets bundle; checking that no node has a cluster identity yet"
for address in $NODE_ADDRESSES; do
  if ${shellCommand(T, talosctl.versionInsecure("${address}"))} >/dev/null 2>"$WORK/probe.err"; then
    continue
  fi
  if grep -q "certificate required" "$WORK/probe.err"; then
    fail "node $address is already configured but 1Password has no item '$OP_ITEM' (field $OP_FIELD) in vault $OP_VAULT. Refusing to mint a new cluster identity: restore the original bundle into 1Password and run again."
  fi
  fail "cannot prove node $address is in maintenance mode ($(last_line "$WORK/probe.err")). Refusing to mint a new cluster identity while a node may hold the old one."
done
${shellCommand(T, talosctl.genSecrets())} >/dev/null
{
  printf '{"title":"%s","category":"SECURE_NOTE","fields":[{"label":"%s","type":"CONCEALED","value":"' "$OP_ITEM" "$OP_FIELD"
  sed -e 's/\\\\/\\\\\\\\/g' -e 's/"/\\\\"/g' "${FILES.secrets.replace("${WORK}", "$WORK")}" | awk '{ printf "%s\\\\n", $0 }'
  printf '"}]}'
} > "$WORK/item.json"
op item create --vault "$OP_VAULT" --template "$WORK/item.json" >/dev/null 2>"$WORK/op.err" ||
  fail "could not store the new bundle in 1Password: $(last_line "$WORK/op.err")"
read_bundle "$WORK/bundle.yaml" ||
  fail "stored the new bundle but cannot read it back from 1Password: $(last_line "$WORK/op.err")"
log "generated a new Talos secrets bundle and stored it in 1Password item '$OP_ITEM'"
cat "$WORK/bundle.yaml"
`;

/**
 * talos phase: register the schematic with Image Factory (content-addressed, so idempotent) and
 * check that the factory's ID is the one computed offline, which every installer image names. A
 * node told to install an image of an unregistered or different schematic would fail to pull it.
 */
export const registerSchematicScript = `${PRELUDE}
printf '%s' "$SCHEMATIC_YAML" > "$WORK/schematic.yaml"
deadline=$(deadline_in "$FACTORY_TIMEOUT")
until "$CURL" -fsS -X POST --data-binary "@$WORK/schematic.yaml" -H 'Content-Type: application/yaml' "$IMAGE_FACTORY/schematics" >"$WORK/response.json" 2>"$WORK/curl.err"; do
  past "$deadline" && fail "Image Factory at $IMAGE_FACTORY did not accept the schematic within $FACTORY_TIMEOUT s: $(last_line "$WORK/curl.err")"
  sleep "$POLL_SECONDS"
done
id=$(sed -n 's/.*"id"[[:space:]]*:[[:space:]]*"\\([0-9a-f]*\\)".*/\\1/p' "$WORK/response.json")
[ "$id" = "$SCHEMATIC_ID" ] || fail "Image Factory registered the schematic as '$id' but the installer image names $SCHEMATIC_ID; refusing to install an image of another schematic"
echo "schematic $SCHEMATIC_ID registered at $IMAGE_FACTORY"
`;

/**
 * talos phase: the operator's talosconfig, with the control planes as endpoints and nodes
 * (stdin: bundle; stdout: talosconfig, a secret).
 */
export const talosconfigScript = `${PRELUDE}
${WRITE_TALOSCONFIG}${shellCommand(T, talosctl.configEndpoint())} >/dev/null
${shellCommand(T, talosctl.configNode())} >/dev/null
cat "${FILES.talosconfig.replace("${WORK}", "$WORK")}"
`;

/**
 * talos phase, per node: render the full machine config with the pinned talosctl, validate it,
 * detect whether the node is in maintenance mode or configured (never guess), apply it the
 * matching way, tolerate the connection dropping while the node installs/reboots, then wait until
 * the Talos API answers in configured mode and the machine is running.
 */
export const applyNodeScript = `${PRELUDE}
${WRITE_TALOSCONFIG}printf '%s\\n' "$NODE_PATCH" > "$WORK/patch.yaml"
${shellCommand(T, talosctl.genMachineConfig())} >/dev/null 2>"$WORK/gen.err" || fail "talosctl gen config failed: $(last_line "$WORK/gen.err")"
${shellCommand(T, talosctl.validate())} >/dev/null 2>"$WORK/validate.err" || fail "machine config for $NODE_HOSTNAME is invalid: $(last_line "$WORK/validate.err")"

deadline=$(deadline_in "$NODE_TIMEOUT")
mode=""
while [ -z "$mode" ]; do
  # Only maintenance mode answers without a client certificate; only our cluster's nodes answer ours.
  if ${shellCommand(T, talosctl.versionInsecure("${NODE_ADDRESS}"))} >/dev/null 2>"$WORK/insecure.err"; then
    mode=maintenance
  elif ${shellCommand(T, talosctl.versionAuthenticated("${NODE_ADDRESS}"))} >/dev/null 2>"$WORK/auth.err"; then
    mode=configured
  elif grep -q "unknown authority" "$WORK/auth.err"; then
    fail "$NODE_HOSTNAME ($NODE_ADDRESS) is configured with a different cluster identity; refusing to touch it"
  elif past "$deadline"; then
    fail "$NODE_HOSTNAME ($NODE_ADDRESS) answers neither in maintenance nor in configured mode after $NODE_TIMEOUT s: $(last_line "$WORK/auth.err")"
  else
    sleep "$POLL_SECONDS"
  fi
done
log "$NODE_HOSTNAME is in $mode mode; applying config $CONFIG_SHA256"
if [ "$mode" = maintenance ]; then
  ${shellCommand(T, talosctl.applyInsecure("${NODE_ADDRESS}"))} >"$WORK/apply.out" 2>"$WORK/apply.err" && applied=yes || applied=no
else
  ${shellCommand(T, talosctl.applyAuthenticated("${NODE_ADDRESS}"))} >"$WORK/apply.out" 2>"$WORK/apply.err" && applied=yes || applied=no
fi
if [ "$applied" = no ]; then
  if grep -q "connection refused" "$WORK/apply.err"; then
    fail "apply-config could not reach $NODE_HOSTNAME ($NODE_ADDRESS): $(last_line "$WORK/apply.err")"
  elif grep -Eqi 'Unavailable|EOF|connection reset|connection closed|broken pipe' "$WORK/apply.err"; then
    log "connection dropped during apply-config (expected while the node installs or reboots); verifying below"
  else
    fail "apply-config to $NODE_HOSTNAME failed: $(last_line "$WORK/apply.err")"
  fi
fi

deadline=$(deadline_in "$NODE_TIMEOUT")
until [ "$(${shellCommand(T, talosctl.machineStage("${NODE_ADDRESS}"))} 2>"$WORK/stage.err")" = running ]; do
  past "$deadline" && fail "$NODE_HOSTNAME did not come up configured and running within $NODE_TIMEOUT s: $(last_line "$WORK/stage.err")"
  sleep "$POLL_SECONDS"
done
echo "$NODE_HOSTNAME configured ($CONFIG_SHA256)"
`;

/** cluster phase: bootstrap etcd once for the cluster's life. AlreadyExists or members = done. */
export const bootstrapScript = `${PRELUDE}
${WRITE_TALOSCONFIG}deadline=$(deadline_in "$API_TIMEOUT")
while :; do
  if ${shellCommand(T, talosctl.etcdMembers("${BOOTSTRAP_ADDRESS}"))} >"$WORK/members" 2>/dev/null && [ -s "$WORK/members" ]; then
    log "etcd already has members: the cluster is bootstrapped"
    break
  fi
  if ${shellCommand(T, talosctl.bootstrap("${BOOTSTRAP_ADDRESS}"))} >/dev/null 2>"$WORK/bootstrap.err"; then
    log "bootstrapped etcd on $BOOTSTRAP_HOSTNAME"
    break
  fi
  if grep -q "AlreadyExists" "$WORK/bootstrap.err"; then
    log "etcd was already bootstrapped (AlreadyExists)"
    break
  fi
  past "$deadline" && fail "bootstrap on $BOOTSTRAP_HOSTNAME did not succeed within $API_TIMEOUT s: $(last_line "$WORK/bootstrap.err")"
  sleep "$POLL_SECONDS"
done
echo "etcd bootstrapped on $BOOTSTRAP_HOSTNAME"
`;

/** cluster phase: fetch the admin kubeconfig (stdin: bundle; stdout: kubeconfig, a secret). */
export const kubeconfigScript = `${PRELUDE}
${WRITE_TALOSCONFIG}deadline=$(deadline_in "$API_TIMEOUT")
until ${shellCommand(T, talosctl.kubeconfig("${BOOTSTRAP_ADDRESS}"))} >"$WORK/kubeconfig" 2>"$WORK/kubeconfig.err" && [ -s "$WORK/kubeconfig" ]; do
  past "$deadline" && fail "no kubeconfig from $BOOTSTRAP_HOSTNAME within $API_TIMEOUT s: $(last_line "$WORK/kubeconfig.err")"
  sleep "$POLL_SECONDS"
done
cat "$WORK/kubeconfig"
`;

const WRITE_KUBECONFIG = `cat > "$WORK/kubeconfig"
[ -s "$WORK/kubeconfig" ] || fail "no kubeconfig on stdin"
`;

/** cluster phase gate: the API answers through the VIP and every node has registered. */
export const apiReadyScript = `${PRELUDE}
${WRITE_KUBECONFIG}deadline=$(deadline_in "$API_TIMEOUT")
until [ "$(${shellCommand(K, kubectl.readyz())} 2>"$WORK/readyz.err")" = ok ]; do
  past "$deadline" && fail "the API server at $CLUSTER_ENDPOINT is not ready after $API_TIMEOUT s: $(last_line "$WORK/readyz.err")"
  sleep "$POLL_SECONDS"
done
for hostname in $EXPECTED_NODES; do
  until ${shellCommand(K, kubectl.nodeNames())} 2>"$WORK/nodes.err" | grep -qx "node/$hostname"; do
    past "$deadline" && fail "node $hostname has not registered with the API server after $API_TIMEOUT s"
    sleep "$POLL_SECONDS"
  done
done
echo "API ready at $CLUSTER_ENDPOINT; nodes registered: $EXPECTED_NODES"
`;

/**
 * Gate on Kubernetes conditions. WAIT_FOR lists `Condition:namespace:kind/name` entries (or
 * `Ready::nodes` for all nodes); each is polled with short bounded attempts, because
 * `kubectl wait` fails at once while the object does not exist yet.
 */
export const kubeWaitScript = `${PRELUDE}
${WRITE_KUBECONFIG}deadline=$(deadline_in "$WAIT_TIMEOUT")
for entry in $WAIT_FOR; do
  COND=\${entry%%:*}; rest=\${entry#*:}; NS=\${rest%%:*}; OBJ=\${rest#*:}
  if [ "$OBJ" = nodes ]; then TARGET="nodes --all"; else TARGET=$OBJ; fi
  ATTEMPT=$POLL_SECONDS
  until ${shellCommand(K, kubectl.waitOnce())} >/dev/null 2>"$WORK/wait.err"; do
    if past "$deadline"; then
      why=$(${shellCommand(K, kubectl.conditionMessage())} 2>/dev/null || true)
      fail "$OBJ is not $COND after $WAIT_TIMEOUT s: \${why:-$(last_line "$WORK/wait.err")}"
    fi
    grep -q "no matching resources" "$WORK/wait.err" && sleep "$POLL_SECONDS"
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
export const talosHealthScript = `${PRELUDE}
${WRITE_TALOSCONFIG}deadline=$(deadline_in "$HEALTH_TIMEOUT")
while :; do
  left=$(( deadline - $(now) )); [ "$left" -gt 0 ] || left=1
  HEALTH_ATTEMPT_TIMEOUT=\${left}s
  if [ -n "$WORKER_ADDRESSES" ]; then
    ${shellCommand(T, talosctl.healthWithWorkers("${BOOTSTRAP_ADDRESS}"))} >"$WORK/health.out" 2>&1 && break
  else
    ${shellCommand(T, talosctl.health("${BOOTSTRAP_ADDRESS}"))} >"$WORK/health.out" 2>&1 && break
  fi
  past "$deadline" && fail "talosctl health did not pass within $HEALTH_TIMEOUT s: $(last_line "$WORK/health.out")"
  sleep "$POLL_SECONDS"
done
echo "talosctl health passed"
`;

/**
 * Destroy of a node's apply: only when the operator named the node in
 * operations.resetOnDestroy (passed as RESET_ON_DESTROY=yes). Safe reset wipes STATE and
 * EPHEMERAL only and reboots; otherwise destroying the stack leaves the node untouched.
 */
export const nodeDeleteScript = `${PRELUDE}
if [ "\${RESET_ON_DESTROY:-no}" != yes ]; then
  log "leaving $NODE_HOSTNAME as it is (not listed in operations.resetOnDestroy)"
  exit 0
fi
${WRITE_TALOSCONFIG}${shellCommand(T, talosctl.safeReset("${NODE_ADDRESS}"))} >/dev/null 2>"$WORK/reset.err" || fail "safe reset of $NODE_HOSTNAME failed: $(last_line "$WORK/reset.err")"
log "reset $NODE_HOSTNAME (STATE and EPHEMERAL wiped, rebooting to maintenance mode)"
`;
