/**
 * The idempotent POSIX sh scripts the command resources run, one file each under `steps/`
 * (generated from this module: `npm run gen:steps`; a test keeps the files current and the
 * program refuses to run with stale ones). A resource's `create` is just the file's path, so a
 * fixed script reaches every existing step on the next run without being a diffed input.
 * Parameters arrive in the environment (config values: they decide whether a step re-runs) or
 * in the runtime settings file (tools, waits, node inventory: read fresh on every run); secrets
 * arrive on stdin. Every script can be killed at any line and run again: it reads state from the
 * nodes, the cluster and 1Password, never from a local file, and every wait polls a real
 * condition until a deadline.
 */
import { PRELUDE, shellCommand } from "./shell";
import { FILES, kubectl, talosctl } from "./talosctl";

const T = '"$TALOSCTL"';
const K = '"$KUBECTL"';
const work = (file: string) => file.replace("${WORK}", "$WORK");

/**
 * Reads the Talos secrets bundle from stdin and writes a talosconfig for it (no node contact).
 * Every node-addressed call passes --nodes/--endpoints itself, so no endpoints are stored in it.
 */
const WRITE_TALOSCONFIG = `cat > "${work(FILES.secrets)}"
[ -s "${work(FILES.secrets)}" ] || fail "no Talos secrets bundle on stdin"
${shellCommand(T, talosctl.genTalosconfig())} >/dev/null
`;

/**
 * How a failed talosctl call ended, from its stderr (grpc-go v1.71.3 internal/transport, the
 * version talosctl v1.10.5 is built with):
 * - unreachable: the connection never came up ("transport: Error while dialing: ... connection
 *   refused / no route to host / i/o timeout", or a TLS "authentication handshake failed" that
 *   is not a certificate verdict);
 * - dropped: it broke after the request was sent ("error reading from server: ...",
 *   ErrConnClosing "transport is closing", "connection reset by peer"): the node may have taken
 *   the request and gone down to install or reboot.
 * gRPC Unavailable covers both, so the code alone says nothing.
 */
const CLASSIFY = `unreachable() { grep -Eq '[Ee]rror while dialing|connection refused|no route to host|network is unreachable' "$1"; }
dropped() {
  unreachable "$1" && return 1
  grep -Eq 'error reading from server|transport is closing|connection reset by peer' "$1"
}
`;

/**
 * talos phase: the secrets bundle. 1Password is the source of truth; a new bundle is minted only
 * when 1Password has none AND every node provably answers in maintenance mode, so a missing item
 * can never silently give an existing cluster a new identity. stdout: the bundle (a secret);
 * nothing is printed to stdout before the last line, so a failure never shows the bundle.
 */
const secretsBundle = `${PRELUDE}
# read_bundle FILE: the field's value; \`op\` prints a multi-line value CSV-quoted ("..." with "" for
# a quote), which is undone here so the bundle arrives byte for byte.
read_bundle() {
  run "$OP" item get "$OP_ITEM" --vault "$OP_VAULT" --fields "label=$OP_FIELD" --reveal >"$1.raw" 2>"$WORK/op.err" || return 1
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
log "1Password has no Talos secrets bundle; checking that every node is still in maintenance mode"
for address in $NODE_ADDRESSES; do
  # Only maintenance mode answers an --insecure call; a configured node refuses it for want of a
  # client certificate. Anything else (off, unreachable, timing out) proves nothing.
  if stage=$(${shellCommand(T, talosctl.machineStageInsecure("${address}"))} 2>"$WORK/probe.err") && [ "$stage" = maintenance ]; then
    continue
  fi
  if grep -Eq 'tls: certificate required|tls: bad certificate' "$WORK/probe.err"; then
    fail "node $address is already configured but 1Password has no item '$OP_ITEM' (field $OP_FIELD) in vault $OP_VAULT. Refusing to mint a new cluster identity: restore the original bundle into 1Password and run again."
  fi
  fail "cannot prove node $address is in maintenance mode ($(last_line "$WORK/probe.err")). Refusing to mint a new cluster identity while a node may hold the old one."
done
${shellCommand(T, talosctl.genSecrets())} >/dev/null 2>"$WORK/gen.err" || fail "talosctl gen secrets failed: $(last_line "$WORK/gen.err")"
{
  printf '{"title":"%s","category":"SECURE_NOTE","fields":[{"label":"%s","type":"CONCEALED","value":"' "$OP_ITEM" "$OP_FIELD"
  sed -e 's/\\\\/\\\\\\\\/g' -e 's/"/\\\\"/g' "${work(FILES.secrets)}" | awk '{ printf "%s\\\\n", $0 }'
  printf '"}]}'
} > "$WORK/item.json"
run "$OP" item create --vault "$OP_VAULT" --template "$WORK/item.json" >/dev/null 2>"$WORK/op.err" ||
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
const registerSchematic = `${PRELUDE}
printf '%s' "$SCHEMATIC_YAML" > "$WORK/schematic.yaml"
deadline=$(deadline_in "$TIMEOUT_FACTORY")
until run "$CURL" -fsS -X POST --data-binary "@$WORK/schematic.yaml" -H 'Content-Type: application/yaml' "$IMAGE_FACTORY/schematics" >"$WORK/response.json" 2>"$WORK/curl.err"; do
  past "$deadline" && fail "Image Factory at $IMAGE_FACTORY did not accept the schematic within $TIMEOUT_FACTORY s: $(last_line "$WORK/curl.err")"
  sleep "$POLL_SECONDS"
done
id=$(sed -n 's/.*"id"[[:space:]]*:[[:space:]]*"\\([0-9a-f]*\\)".*/\\1/p' "$WORK/response.json")
[ "$id" = "$SCHEMATIC_ID" ] || fail "Image Factory registered the schematic as '$id' but the installer image names $SCHEMATIC_ID; refusing to install an image of another schematic"
echo "schematic $SCHEMATIC_ID registered at $IMAGE_FACTORY"
`;

/** talos phase: the operator's talosconfig (stdin: bundle; stdout: talosconfig, a secret). */
const talosconfig = `${PRELUDE}
${WRITE_TALOSCONFIG}${shellCommand(T, talosctl.configEndpoint())} >/dev/null
${shellCommand(T, talosctl.configNode())} >/dev/null
cat "${work(FILES.talosconfig)}"
`;

/** Every control plane's etcd asked at once (bootstrap, and whether a cluster runs). */
const PROBE_MEMBERS = `# probe_members: ask every control plane's own etcd for its members, all at once (\`etcd members\`
# asks only the addressed node's local etcd: EtcdMemberList with QueryLocal, cmd/talosctl/cmd/talos/
# etcd.go; it blocks while that etcd is down, so each probe is bounded by PROBE_TIMEOUT). Leaves
# $WORK/members.<address> non-empty for each that serves, and its stderr in members.<address>.err.
probe_members() {
  probes=""
  for cp in $CONTROL_PLANE_ADDRESSES; do
    ${shellCommand(T, talosctl.etcdMembers("${cp}"), '"$PROBE_TIMEOUT"')} >"$WORK/members.$cp" 2>"$WORK/members.$cp.err" &
    probes="$probes $!"
  done
  for probe in $probes; do wait "$probe" || :; done
}
# serving_member: the first control plane whose etcd serves members (after probe_members)
serving_member() {
  for cp in $CONTROL_PLANE_ADDRESSES; do
    [ -s "$WORK/members.$cp" ] && { echo "$cp"; return 0; }
  done
  return 1
}
`;

/**
 * Helpers shared by the per-node apply and its reset: the running-cluster checks and the rolling
 * lock that lets only one configured node at a time go through a change (three control planes
 * keep quorum with one down, never with two).
 */
const ROLLING = `${CLASSIFY}${PROBE_MEMBERS}cluster_running() { probe_members; serving_member >/dev/null; }
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
const HOLDS_CONFIG = `holds_config() {
  ${shellCommand(T, talosctl.applyDryRun("${NODE_ADDRESS}"))} >/dev/null 2>"$WORK/dry.err" && grep -q 'No changes' "$WORK/dry.err"
}
`;

/**
 * talos phase, per node: render the full machine config with the pinned talosctl, validate it,
 * find out whether the node is in maintenance mode or configured (never guess), and apply:
 * - maintenance (first install): insecure, in parallel with the other nodes;
 * - configured: nothing when the node already runs this config; otherwise under the rolling lock,
 *   and on a running cluster only when every other node is healthy, then wait until this one is
 *   healthy again before the next node may go (`--mode auto` reboots when the change cannot be
 *   applied live: v1alpha1_runtime.go CanApplyImmediate).
 * Then wait until the authenticated API answers and the node runs the applied config. Boot
 * completion (stage running) comes only after etcd is bootstrapped, so it is the health gates'
 * business, not this step's (v1alpha1_sequencer_tasks.go StartAllServices waits for etcd).
 */
const applyNode = `${PRELUDE}
${WRITE_TALOSCONFIG}printf '%s\\n' "$NODE_PATCH" > "${work(FILES.patch)}"
${shellCommand(T, talosctl.genMachineConfig())} >/dev/null 2>"$WORK/gen.err" || fail "talosctl gen config failed: $(last_line "$WORK/gen.err")"
${shellCommand(T, talosctl.validate())} >/dev/null 2>"$WORK/validate.err" || fail "machine config for $NODE_HOSTNAME is invalid: $(last_line "$WORK/validate.err")"
${ROLLING}${HOLDS_CONFIG}
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
this_node_healthy() { node_settled "$NODE_ADDRESS" "$NODE_ROLE"; }

if [ "$mode" = maintenance ]; then
  log "$NODE_HOSTNAME is in maintenance mode: installing config $CONFIG_SHA256"
  apply ${shellCommand(T, talosctl.applyInsecure("${NODE_ADDRESS}"))}
  wait_holds_config
elif holds_config; then
  log "$NODE_HOSTNAME already runs config $CONFIG_SHA256"
else
  lock_acquire
  running=no
  if cluster_running; then
    running=yes
    wait_until others_healthy "every other node healthy before $NODE_HOSTNAME changes"
  fi
  log "$NODE_HOSTNAME is configured: applying config $CONFIG_SHA256"
  apply ${shellCommand(T, talosctl.applyAuthenticated("${NODE_ADDRESS}"))}
  grep -q 'with a reboot' "$WORK/apply.err" && log "$NODE_HOSTNAME reboots to take this change"
  wait_holds_config
  [ "$running" = yes ] && wait_until this_node_healthy "$NODE_HOSTNAME healthy again"
  lock_release
fi
echo "$NODE_HOSTNAME configured ($CONFIG_SHA256)"
`;

/**
 * cluster phase: bootstrap etcd exactly once for the cluster's life. AlreadyExists is a per-node
 * answer (that node's /var/lib/etcd is not empty: v1alpha1_server.go Bootstrap), so it proves
 * nothing about the cluster; the script asks every control plane's own etcd instead and calls
 * bootstrap only when none serves members and every one answered. A reset node then joins the
 * running cluster by itself; etcd data that no etcd serves (an old cluster's) is reported.
 */
const bootstrap = `${PRELUDE}
${WRITE_TALOSCONFIG}${CLASSIFY}${PROBE_MEMBERS}deadline=$(deadline_in "$TIMEOUT_API_READY")
already=no
while :; do
  probe_members
  serving=$(serving_member || :)
  silent=""
  for cp in $CONTROL_PLANE_ADDRESSES; do
    unreachable "$WORK/members.$cp.err" && silent="$silent $cp" && last_err="$WORK/members.$cp.err"
  done
  if [ -n "$serving" ]; then
    log "etcd serves members on $serving: the cluster is bootstrapped"
    break
  fi
  if [ -z "$silent" ]; then
    if ${shellCommand(T, talosctl.bootstrap("${BOOTSTRAP_ADDRESS}"))} >/dev/null 2>"$WORK/bootstrap.err"; then
      log "bootstrapped etcd on $BOOTSTRAP_HOSTNAME; waiting for it to serve"
    elif grep -q 'AlreadyExists' "$WORK/bootstrap.err"; then
      already=yes
    fi
  fi
  if past "$deadline"; then
    [ -n "$silent" ] && fail "cannot reach control plane(s)$silent to tell whether they hold the cluster's etcd; refusing to bootstrap a second etcd: $(last_line "$last_err")"
    [ "$already" = yes ] && fail "$BOOTSTRAP_HOSTNAME has etcd data (AlreadyExists) but no control plane's etcd serves members: data of an earlier cluster? If so, wipe it with talosctl reset --system-labels-to-wipe EPHEMERAL --reboot --nodes $BOOTSTRAP_ADDRESS and run again"
    fail "etcd on $BOOTSTRAP_HOSTNAME did not come up within $TIMEOUT_API_READY s: $(last_line "$WORK/bootstrap.err")"
  fi
  sleep "$POLL_SECONDS"
done
echo "etcd bootstrapped"
`;

/** The admin kubeconfig from the first control plane that serves it (needs the talosconfig). */
const FETCH_KUBECONFIG = `# fetch_kubeconfig: the admin kubeconfig into $WORK from the first control plane that serves one
fetch_kubeconfig() {
  for cp in $CONTROL_PLANE_ADDRESSES; do
    ${shellCommand(T, talosctl.kubeconfig("${cp}"))} >"${work(FILES.kubeconfig)}" 2>"$WORK/kubeconfig.err" && [ -s "${work(FILES.kubeconfig)}" ] && return 0
  done
  return 1
}
`;

/**
 * cluster phase: fetch the admin kubeconfig from any control plane that serves it (stdin:
 * bundle; stdout: kubeconfig, a secret).
 */
const kubeconfig = `${PRELUDE}
${WRITE_TALOSCONFIG}${FETCH_KUBECONFIG}deadline=$(deadline_in "$TIMEOUT_API_READY")
until fetch_kubeconfig; do
  past "$deadline" && fail "no control plane served a kubeconfig within $TIMEOUT_API_READY s: $(last_line "$WORK/kubeconfig.err")"
  sleep "$POLL_SECONDS"
done
cat "${work(FILES.kubeconfig)}"
`;

const WRITE_KUBECONFIG = `cat > "${work(FILES.kubeconfig)}"
[ -s "${work(FILES.kubeconfig)}" ] || fail "no kubeconfig on stdin"
`;

/** cluster phase gate: the API answers through the VIP and every node has registered. */
const apiReady = `${PRELUDE}
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
const kubeWait = `${PRELUDE}
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
 * Before a Helm release is first created (this step runs once, when it is created with the
 * release): does a release of that name already exist? Helm refuses to install over a name in use
 * (helm pkg/action/install.go availableName), which is what a lost state or a destroy that
 * retained the release leaves behind. Listed in operations.adoptHelmReleases (run-time settings),
 * the program adopts it instead (the `import` resource option); otherwise this step fails naming
 * the one command that does that. stdin: the bundle (stable, so this never re-runs by itself);
 * the kubeconfig is fetched from a control plane.
 */
const helmAdoption = `${PRELUDE}
${WRITE_TALOSCONFIG}${FETCH_KUBECONFIG}deadline=$(deadline_in "$TIMEOUT_API_READY")
until fetch_kubeconfig && releases=$(${shellCommand(K, kubectl.helmReleaseSecrets())} 2>"$WORK/get.err"); do
  past "$deadline" && fail "cannot tell whether Helm release $RELEASE_NAMESPACE/$RELEASE_NAME exists: $(last_line "$WORK/get.err" || last_line "$WORK/kubeconfig.err")"
  sleep "$POLL_SECONDS"
done
if [ -z "$releases" ]; then
  echo "Helm release $RELEASE_NAMESPACE/$RELEASE_NAME is new"
  exit 0
fi
case " $ADOPT_HELM_RELEASES " in
  *" $RELEASE_STEP "*)
    echo "adopting the existing Helm release $RELEASE_NAMESPACE/$RELEASE_NAME"
    exit 0 ;;
esac
set -- $ADOPT_HELM_RELEASES
fail "Helm release $RELEASE_NAMESPACE/$RELEASE_NAME already exists in the cluster, but this stack has no record of it (its state was lost, or a destroy retained it), and Helm cannot install over it. Adopt it with: pulumi config set --path 'homeops:operations.adoptHelmReleases[$#]' $RELEASE_STEP && pulumi up"
`;

/**
 * cni phase gate: `talosctl health` (etcd, control plane, all nodes Ready), bounded. health polls
 * its checks itself for --wait-timeout, so each attempt gets the time left; the loop only retries
 * an attempt that failed early (e.g. the API briefly unreachable).
 */
const talosHealth = `${PRELUDE}
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

/**
 * Delete of a node's apply (`pulumi destroy`, or the node left the stack). It resets the node
 * only when the current stack settings name it in operations.resetOnDestroy (read at run time:
 * the delete itself runs with the inputs stored at the last apply) AND the node still runs the
 * very config this resource applied: a node renamed or re-addressed in the stack was configured
 * anew by its new resource before this delete runs, so it is never reset by accident. Safe reset
 * wipes STATE and EPHEMERAL only and reboots into maintenance mode, one node at a time.
 */
const nodeReset = `${PRELUDE}
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

/** Every script by name; the file `steps/<name>.sh` holds exactly this text. */
export const SCRIPTS = {
  "secrets-bundle": secretsBundle,
  "register-schematic": registerSchematic,
  talosconfig,
  "apply-node": applyNode,
  "node-reset": nodeReset,
  bootstrap,
  kubeconfig,
  "api-ready": apiReady,
  "kube-wait": kubeWait,
  "talos-health": talosHealth,
  "helm-adoption": helmAdoption,
} as const;

export type ScriptName = keyof typeof SCRIPTS;

/** The directory of the script files, relative to the project directory. */
export const STEPS_DIR = "steps";

/** Path of a script file relative to the project directory (the command a resource runs). */
export function scriptPath(name: ScriptName): string {
  return `${STEPS_DIR}/${name}.sh`;
}

/** The text of a script file: a header, then the script. */
export function scriptFileText(name: ScriptName): string {
  return `#!/bin/sh\n# Generated from talos/scripts.ts by \`npm run gen:steps\`: edit that file, not this one.\n${SCRIPTS[name]}`;
}
