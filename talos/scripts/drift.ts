/** npm run drift, per node: what it runs and what the stack renders for it (no change to anything). */
import { PRELUDE, shellCommand } from "../shell";
import { FILES, talosctl } from "../talosctl";
import { T, work } from "./common";

/**
 * One node's read-back for `npm run drift` (scripts/drift.ts compares, render/drift.ts): the
 * stack's talosconfig arrives on stdin (the stack outputs), every node call is authenticated.
 * Written into DRIFT_OUT (a private directory the caller made): `version.json` (`version --json`),
 * `extensions` (`get extensions`: the schematic), `running.yaml` (the active machine config), and
 * `rendered.yaml`: what the stack's apply would render for the node (the same `gen config` argv,
 * the node's patch), with the cluster's own secrets read from the first reachable control plane's
 * config (`gen secrets --from-controlplane-config`), since the secrets are masked in the
 * comparison but the certificates they hold are not. Nothing is applied; the bundle stays in WORK.
 */
export const driftNode = `${PRELUDE}
case "\${DRIFT_OUT:-}" in /*) ;; *) fail "DRIFT_OUT must name the output directory by absolute path" ;; esac
cat > "${work(FILES.talosconfig)}"
[ -s "${work(FILES.talosconfig)}" ] || fail "no talosconfig on stdin (the stack output talosconfig)"
printf '%s\\n' "$NODE_PATCH" > "${work(FILES.patch)}"
secrets_from=""
for cp in $CONTROL_PLANE_ADDRESSES; do
  if ${shellCommand(T, talosctl.activeMachineConfig("${cp}"))} >"$WORK/controlplane.yaml" 2>"$WORK/cp.err" \\
    && [ -s "$WORK/controlplane.yaml" ]; then
    secrets_from=$cp
    break
  fi
done
[ -n "$secrets_from" ] || fail "no control plane ($CONTROL_PLANE_ADDRESSES) hands out its machine config: $(last_line "$WORK/cp.err")"
${shellCommand(T, talosctl.genSecretsFromControlPlane("${WORK}/controlplane.yaml"))} >/dev/null 2>"$WORK/secrets.err" || fail "talosctl gen secrets --from-controlplane-config ($secrets_from) failed: $(last_line "$WORK/secrets.err")"
${shellCommand(T, talosctl.genMachineConfig())} >/dev/null 2>"$WORK/gen.err" || fail "talosctl gen config failed: $(last_line "$WORK/gen.err")"
${shellCommand(T, talosctl.versionJson("${NODE_ADDRESS}"))} >"$DRIFT_OUT/version.json" 2>"$WORK/version.err" || fail "talosctl version on $NODE_HOSTNAME ($NODE_ADDRESS): $(last_line "$WORK/version.err")"
${shellCommand(T, talosctl.extensions("${NODE_ADDRESS}"))} >"$DRIFT_OUT/extensions" 2>"$WORK/extensions.err" || fail "talosctl get extensions on $NODE_HOSTNAME ($NODE_ADDRESS): $(last_line "$WORK/extensions.err")"
${shellCommand(T, talosctl.activeMachineConfig("${NODE_ADDRESS}"))} >"$DRIFT_OUT/running.yaml" 2>"$WORK/running.err" || fail "talosctl get machineconfig on $NODE_HOSTNAME ($NODE_ADDRESS): $(last_line "$WORK/running.err")"
cp "${work(FILES.machineConfig)}" "$DRIFT_OUT/rendered.yaml"
`;
