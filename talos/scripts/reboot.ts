/**
 * The explicit reboot a Talos v1.14 node needs after some config changes. From v1.14
 * apply-config never reboots: `auto` becomes `no-reboot`, the new config is active at once, and a
 * change that only takes effect at boot stays inactive, with nothing reporting it (talos @ v1.14.1
 * v1alpha1_server.go ApplyConfiguration; NOTES §7.2). The documented list of such changes
 * (siderolabs/docs v1.14 editing-machine-configuration.mdx "Changes which might need a reboot"):
 * `.cluster.etcd`; EnvironmentConfig or `.machine.env`; kernel modules (removed, or parameters
 * changed); volume encryption keys. `.machine.install` / UnattendedInstallConfig act only at
 * install or upgrade, so a reboot does not apply them either: not listed.
 *
 * The script compares those parts of the node's active config (`get machineconfig v1alpha1`,
 * the whole multi-document YAML: resources/config/machine_config.go) with the rendered file,
 * before the apply; when they differ, the node is rebooted gracefully (drained: `reboot --drain`,
 * talosctl ≥1.13) once the apply took, still under the rolling lock the apply holds, so control
 * planes go one at a time, and the health gate after the apply waits for it to come back.
 */
import { shellCommand } from "../shell";
import { FILES, talosctl } from "../talosctl";
import { T, work } from "./common";

/**
 * reboot_parts FILE: one `<kind>|<key path>|<line>` per line of FILE that lies under a part a v1.14
 * node applies only at its next reboot. Both sides are YAML as Talos's encoder writes it (block
 * style, nested by indentation), so the key path follows from the indentation.
 */
export const REBOOT_PARTS = `reboot_parts() {
  awk '
    /^---/ { depth = 0; kind = "v1alpha1"; next }
    /^[[:space:]]*(#|$)/ { next }
    {
      line = $0
      match(line, /^ */); indent = RLENGTH
      rest = substr(line, indent + 1)
      while (rest ~ /^- /) { indent += 2; rest = substr(rest, 3) }
      while (depth > 0 && ind[depth] >= indent) depth--
      path = ""
      for (i = 1; i <= depth; i++) path = path "." key[i]
      if (rest ~ /^[A-Za-z0-9_.\\/-]+:( |$)/) {
        k = rest; sub(/:.*/, "", k)
        if (indent == 0 && k == "kind") { v = rest; sub(/^kind: */, "", v); kind = v }
        depth++; key[depth] = k; ind[depth] = indent
        path = path "." k
      }
      if (path ~ /^\\.cluster\\.etcd(\\.|$)/ || path ~ /^\\.machine\\.env(\\.|$)/ ||
          path ~ /^\\.machine\\.kernel\\.modules(\\.|$)/ || path ~ /^\\.machine\\.systemDiskEncryption(\\.|$)/ ||
          kind == "EnvironmentConfig" || kind == "KernelModuleConfig" ||
          (kind == "VolumeConfig" && path ~ /^\\.encryption(\\.|$)/))
        print kind "|" path "|" line
    }
    BEGIN { kind = "v1alpha1"; depth = 0 }
  ' "$1"
}
`;

/** needs_reboot: on a v1.14 node, the apply changes a part that acts only at the next reboot. */
export const NEEDS_REBOOT = `${REBOOT_PARTS}needs_reboot() {
  case "$TALOS_MINOR" in v1.10 | v1.11 | v1.12 | v1.13) return 1 ;; esac
  ${shellCommand(T, talosctl.activeMachineConfig("${NODE_ADDRESS}"))} >"$WORK/active.yaml" 2>"$WORK/active.err" || fail "reading the active config of $NODE_HOSTNAME failed: $(last_line "$WORK/active.err")"
  reboot_parts "$WORK/active.yaml" >"$WORK/active.parts"
  reboot_parts "${work(FILES.machineConfig)}" >"$WORK/rendered.parts"
  ! cmp -s "$WORK/active.parts" "$WORK/rendered.parts"
}
# reboot_node: a graceful, drained reboot of this node, waiting until it is back
reboot_node() {
  log "$NODE_HOSTNAME: the change acts only at the next boot on Talos $TALOS_MINOR (apply-config never reboots there): rebooting it, drained"
  ${shellCommand(T, talosctl.rebootDrained("${NODE_ADDRESS}"), '"$(( ${UPGRADE_WAIT%s} + CALL_TIMEOUT ))"')} >"$WORK/reboot.out" 2>"$WORK/reboot.err" || fail "talosctl reboot of $NODE_HOSTNAME failed: $(last_line "$WORK/reboot.err")"
}
`;
