/**
 * The v1alpha1 patch of contracts v1.10 to v1.13: every setting in the legacy v1alpha1 fields,
 * which Talos decodes through v1.14 (contracts/NOTES.md §7.1), except what the contract itself
 * moves into its own document:
 * - v1.11+: STATE/EPHEMERAL encryption is a VolumeConfig (`machine.systemDiskEncryption` only for
 *   v1.10). Fixed by the contract, not by the minor the node runs: Talos v1.11–v1.14 still read the
 *   legacy field (talos @ v1.14.1 : internal/app/machined/pkg/controllers/block/internal/volumes/
 *   volumeconfig/system_volumes.go falls back to it, through the same ConvertEncryptionConfiguration),
 *   while switching it is a change to a reboot-only field (v1alpha1_runtime.go CanApplyImmediate,
 *   NOTES §7.2) and the two forms together are refused (block/volume_config.go
 *   V1Alpha1ConflictValidate).
 * - v1.12+: gen config emits HostnameConfig{auto: stable} instead of `features.stableHostname`,
 *   so the hostname is a HostnameConfig (network/hostname.go refuses `machine.network.hostname`
 *   next to it); rbac and apidCheckExtKeyUsage are locked on and hidden (CHANGELOG 1.12.0
 *   "Feature Lock"); and gen config sets `install.grubUseUKICmdline: true`, which Talos refuses
 *   together with `install.extraKernelArgs` (v1alpha1_validation.go @ v1.12.6/v1.13.9), so the
 *   patch sets it back to false: GRUB keeps honouring the node's kernel args as under v1.11.
 */
import type { NodeConfig, StackConfig, TalosMinor } from "../../config/types";
import { talosMinorAtLeast } from "../../config/types";
import { installerImage } from "../schematic";
import {
  API_SERVER_ADMISSION_PLUGINS,
  auditPolicy,
  ETCD_EXTRA_ARGS,
  kubeletConfiguration,
  LEADER_ELECTION_ARGS,
  mergeDisjoint,
  nodeCidrMaskSizes,
  nodeIdLuks2Encryption,
  nodeInterface,
  podSecurityConfiguration,
  sortedSysctls,
  type TalosDocument,
} from "./common";

function nodeCidrMaskArgs(cfg: StackConfig): Record<string, string> {
  const sizes = nodeCidrMaskSizes(cfg);
  return {
    "node-cidr-mask-size-ipv4": String(sizes.ipv4),
    ...(sizes.ipv6 !== undefined ? { "node-cidr-mask-size-ipv6": String(sizes.ipv6) } : {}),
  };
}

function clusterSection(cfg: StackConfig): TalosDocument {
  return {
    allowSchedulingOnControlPlanes: cfg.cluster.allowSchedulingOnControlPlanes,
    network: {
      // Cilium is installed by the program's CNI phase, never by Talos.
      cni: { name: "none" },
      dnsDomain: cfg.cluster.dnsDomain,
      podSubnets: [...cfg.network.podCidrs],
      serviceSubnets: [...cfg.network.serviceCidrs],
    },
    // Cilium replaces kube-proxy.
    proxy: { disabled: true },
    discovery: { enabled: true },
    apiServer: {
      certSANs: [cfg.cluster.vip],
      extraArgs: {
        "enable-admission-plugins": API_SERVER_ADMISSION_PLUGINS.join(","),
      },
      admissionControl: [{ name: "PodSecurity", configuration: podSecurityConfiguration() }],
      auditPolicy: auditPolicy(),
    },
    controllerManager: { extraArgs: { ...LEADER_ELECTION_ARGS, ...nodeCidrMaskArgs(cfg) } },
    scheduler: { extraArgs: { ...LEADER_ELECTION_ARGS } },
    etcd: { extraArgs: { ...ETCD_EXTRA_ARGS } },
  };
}

/** Contract v1.10 only: STATE and EPHEMERAL encryption in `machine.systemDiskEncryption`. */
function systemDiskEncryptionSection(cfg: StackConfig, contract: TalosMinor): TalosDocument {
  if (!cfg.machine.encryptSystemDisk || talosMinorAtLeast(contract, "v1.11")) return {};
  return {
    systemDiskEncryption: {
      state: nodeIdLuks2Encryption(),
      ephemeral: nodeIdLuks2Encryption(),
    },
  };
}

function features(cfg: StackConfig, contract: TalosMinor): TalosDocument {
  const locked = talosMinorAtLeast(contract, "v1.12");
  return {
    ...(locked ? {} : { rbac: true, stableHostname: true, apidCheckExtKeyUsage: true }),
    diskQuotaSupport: true,
    kubePrism: { enabled: true, port: cfg.machine.kubePrismPort },
    hostDNS: { enabled: true, forwardKubeDNSToHost: true },
  };
}

function clusterMachineSection(cfg: StackConfig, contract: TalosMinor): TalosDocument {
  return {
    install: {
      image: installerImage(cfg),
      ...(talosMinorAtLeast(contract, "v1.12") ? { grubUseUKICmdline: false } : {}),
    },
    ...(cfg.machine.udevRules.length > 0 ? { udev: { rules: [...cfg.machine.udevRules] } } : {}),
    kubelet: { extraConfig: kubeletConfiguration(cfg) },
    features: features(cfg, contract),
    ...systemDiskEncryptionSection(cfg, contract),
  };
}

/** The cluster-wide part of every node's v1alpha1 patch (identical on all nodes). */
export function renderClusterPatch(cfg: StackConfig, contract: TalosMinor = cfg.talos.contract): TalosDocument {
  return { machine: clusterMachineSection(cfg, contract), cluster: clusterSection(cfg) };
}

/** Copy of the selector without unset keys, in a fixed key order. */
function installDiskSelector(node: NodeConfig): TalosDocument {
  const { model, serial, size, type, busPath } = node.installDisk;
  const entries = Object.entries({ model, serial, size, type, busPath }).filter(([, v]) => v !== undefined);
  return Object.fromEntries(entries);
}

function nodeMachineSection(cfg: StackConfig, node: NodeConfig, contract: TalosMinor): TalosDocument {
  return {
    network: {
      ...(talosMinorAtLeast(contract, "v1.12") ? {} : { hostname: node.hostname }),
      interfaces: [nodeInterface(cfg, node)],
    },
    install: {
      diskSelector: installDiskSelector(node),
      ...(node.extraKernelArgs.length > 0 ? { extraKernelArgs: [...node.extraKernelArgs] } : {}),
    },
    ...(Object.keys(node.sysctls).length > 0 ? { sysctls: sortedSysctls(node) } : {}),
  };
}

/** The full v1alpha1 patch of one node (contracts v1.10–v1.13): its own settings and the cluster-wide ones. */
export function renderNodePatch(
  cfg: StackConfig,
  node: NodeConfig,
  contract: TalosMinor = cfg.talos.contract,
): TalosDocument {
  if (talosMinorAtLeast(contract, "v1.14")) {
    throw new Error(`internal: the v1alpha1-only patch is not the shape of contract ${contract}`);
  }
  const perNode = { machine: nodeMachineSection(cfg, node, contract) };
  const patch = mergeDisjoint(perNode, renderClusterPatch(cfg, contract));
  return node.role === "controlplane" ? patch : withoutEtcd(patch);
}

/**
 * A worker's patch carries no `cluster.etcd`: Talos refuses it on a worker ("etcd config is only
 * allowed on control plane machines", pkg/machinery/config/types/v1alpha1/v1alpha1_validation.go,
 * found by the real `talosctl validate` v1.10.5 in test/e2e/removal.e2e.ts).
 */
export function withoutEtcd(patch: TalosDocument): TalosDocument {
  const cluster = { ...(patch.cluster as TalosDocument) };
  delete cluster.etcd;
  return { ...patch, cluster };
}
