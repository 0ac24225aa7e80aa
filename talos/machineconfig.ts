/**
 * Pure builders of the Talos machine-config documents for one node: the v1alpha1 patch handed to
 * `talosctl gen config --config-patch`, plus the extra documents every apply must carry (system
 * volume encryption on v1.11, the LLDPD ExtensionServiceConfig, the USB SSD UserVolumeConfig).
 * Output depends only on the config and the stack's Talos minor; fields are written in a fixed
 * order so the same input always yields a byte-identical YAML (its hash triggers the node apply).
 */
import { stringify } from "yaml";
import type { NodeConfig, StackConfig, TalosMinor } from "../config/types";
import { installerImage } from "./schematic";
import { cidrFamilyAndPrefix, ipv6NodeMaskSize } from "../config/network";

/**
 * kube-controller-manager's per-node pod CIDR sizes, matched to Cilium's cluster-pool: with the
 * defaults (/24, /64) an IPv6 pod range longer than /64 makes the controller manager refuse to
 * start, and mismatched sizes make the Node objects' podCIDRs disagree with Cilium's.
 */
function nodeCidrMaskArgs(cfg: StackConfig): Record<string, string> {
  const args: Record<string, string> = { "node-cidr-mask-size-ipv4": String(cfg.cilium.ipv4MaskSize) };
  const v6 = cfg.network.podCidrs.map(cidrFamilyAndPrefix).find((c) => c.family === 6);
  if (v6) args["node-cidr-mask-size-ipv6"] = String(ipv6NodeMaskSize(v6.prefixLength));
  return args;
}

/** A JSON-like Talos document (a v1alpha1 patch or a multi-document kind). */
export type TalosDocument = { readonly [key: string]: unknown };

/** Where the lldpd extension reads its configuration (siderolabs/lldpd). */
export const LLDPD_CONFIG_MOUNT_PATH = "/usr/local/etc/lldpd/lldpd.conf";

const API_SERVER_ADMISSION_PLUGINS = ["NodeRestriction", "ValidatingAdmissionWebhook", "MutatingAdmissionWebhook"];

/** Shorter leader election than the defaults, so a lost control plane node fails over fast. */
const LEADER_ELECTION_ARGS = {
  "bind-address": "0.0.0.0",
  "leader-elect-lease-duration": "15s",
  "leader-elect-renew-deadline": "10s",
  "leader-elect-retry-period": "2s",
} as const;

const ETCD_EXTRA_ARGS = {
  "election-timeout": "1000",
  "heartbeat-interval": "100",
  "listen-metrics-urls": "http://0.0.0.0:2381",
} as const;

/** LUKS2 keyed by the node ID in slot 0: unlocks unattended, bound to this machine. */
function nodeIdLuks2Encryption(): TalosDocument {
  return { provider: "luks2", keys: [{ nodeID: {}, slot: 0 }] };
}

/**
 * PodSecurity admission defaults. No `exemptions`: Talos' default already exempts kube-system,
 * and a patch list is appended to it, so repeating it duplicates the entry (that once
 * crash-looped the API server).
 */
function podSecurityAdmission(): TalosDocument {
  return {
    name: "PodSecurity",
    configuration: {
      apiVersion: "pod-security.admission.config.k8s.io/v1alpha1",
      kind: "PodSecurityConfiguration",
      defaults: {
        enforce: "baseline",
        "enforce-version": "latest",
        audit: "restricted",
        "audit-version": "latest",
        warn: "restricted",
        "warn-version": "latest",
      },
    },
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
      admissionControl: [podSecurityAdmission()],
      auditPolicy: {
        apiVersion: "audit.k8s.io/v1",
        kind: "Policy",
        rules: [{ level: "Metadata" }],
      },
    },
    controllerManager: { extraArgs: { ...LEADER_ELECTION_ARGS, ...nodeCidrMaskArgs(cfg) } },
    scheduler: { extraArgs: { ...LEADER_ELECTION_ARGS } },
    etcd: { extraArgs: { ...ETCD_EXTRA_ARGS } },
  };
}

/** `machine.systemDiskEncryption` exists up to v1.10 only; v1.11 uses VolumeConfig documents. */
function systemDiskEncryptionSection(cfg: StackConfig): TalosDocument {
  if (!cfg.machine.encryptSystemDisk) return {};
  switch (cfg.talos.minor) {
    case "v1.10":
      return {
        systemDiskEncryption: {
          state: nodeIdLuks2Encryption(),
          ephemeral: nodeIdLuks2Encryption(),
        },
      };
    case "v1.11":
      return {};
  }
}

function clusterMachineSection(cfg: StackConfig): TalosDocument {
  return {
    install: { image: installerImage(cfg) },
    ...(cfg.machine.udevRules.length > 0 ? { udev: { rules: [...cfg.machine.udevRules] } } : {}),
    kubelet: {
      extraConfig: {
        featureGates: { GracefulNodeShutdown: true },
        shutdownGracePeriod: cfg.machine.shutdownGracePeriod,
        shutdownGracePeriodCriticalPods: cfg.machine.shutdownGracePeriodCriticalPods,
      },
    },
    features: {
      rbac: true,
      stableHostname: true,
      apidCheckExtKeyUsage: true,
      diskQuotaSupport: true,
      kubePrism: { enabled: true, port: cfg.machine.kubePrismPort },
      hostDNS: { enabled: true, forwardKubeDNSToHost: true },
    },
    ...systemDiskEncryptionSection(cfg),
  };
}

/** The cluster-wide part of every node's v1alpha1 patch (identical on all nodes). */
export function renderClusterPatch(cfg: StackConfig): TalosDocument {
  return { machine: clusterMachineSection(cfg), cluster: clusterSection(cfg) };
}

/** Copy of the selector without unset keys, in a fixed key order. */
function installDiskSelector(node: NodeConfig): TalosDocument {
  const { model, serial, size, type, busPath } = node.installDisk;
  const entries = Object.entries({ model, serial, size, type, busPath }).filter(([, v]) => v !== undefined);
  return Object.fromEntries(entries);
}

/** Sysctls sorted by key, so map order in the stack file never changes the rendered bytes. */
function sortedSysctls(node: NodeConfig): Record<string, string> {
  return Object.fromEntries(
    Object.keys(node.sysctls)
      .sort()
      .map((key) => [key, node.sysctls[key]]),
  );
}

function nodeInterface(cfg: StackConfig, node: NodeConfig): TalosDocument {
  const ipv6Gateway = cfg.network.ipv6Gateway;
  return {
    interface: node.interface,
    dhcp: true,
    // IPv6 comes from SLAAC; DHCPv6 stays off.
    dhcpOptions: { ipv6: false, routeMetric: cfg.network.dhcpRouteMetric },
    ...(ipv6Gateway !== undefined ? { routes: [{ network: "::/0", gateway: ipv6Gateway }] } : {}),
    // The shared API VIP floats between control planes only.
    ...(node.role === "controlplane" ? { vip: { ip: cfg.cluster.vip } } : {}),
  };
}

function nodeMachineSection(cfg: StackConfig, node: NodeConfig): TalosDocument {
  return {
    network: {
      hostname: node.hostname,
      interfaces: [nodeInterface(cfg, node)],
    },
    install: {
      diskSelector: installDiskSelector(node),
      ...(node.extraKernelArgs.length > 0 ? { extraKernelArgs: [...node.extraKernelArgs] } : {}),
    },
    ...(Object.keys(node.sysctls).length > 0 ? { sysctls: sortedSysctls(node) } : {}),
  };
}

function isPlainObject(value: unknown): value is TalosDocument {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Merge two patches whose leaves must not overlap: a key set by both the per-node and the
 * cluster-wide part would be a builder bug (one of them silently lost), so it throws.
 */
function mergeDisjoint(first: TalosDocument, second: TalosDocument, at = ""): TalosDocument {
  const merged: Record<string, unknown> = { ...first };
  for (const [key, value] of Object.entries(second)) {
    const existing = merged[key];
    if (existing === undefined) merged[key] = value;
    else if (isPlainObject(existing) && isPlainObject(value))
      merged[key] = mergeDisjoint(existing, value, `${at}.${key}`);
    else throw new Error(`machine config field ${at}.${key} is set both per node and cluster-wide`);
  }
  return merged;
}

/** The full v1alpha1 patch of one node: its own settings merged with the cluster-wide ones. */
export function renderNodePatch(cfg: StackConfig, node: NodeConfig): TalosDocument {
  const perNode = { machine: nodeMachineSection(cfg, node) };
  return mergeDisjoint(perNode, renderClusterPatch(cfg));
}

/** v1.11+: STATE and EPHEMERAL encryption as VolumeConfig documents (empty on v1.10 or when off). */
export function renderSystemVolumeDocuments(cfg: StackConfig): TalosDocument[] {
  if (!cfg.machine.encryptSystemDisk || !volumeConfigHasEncryption(cfg.talos.minor)) return [];
  return ["STATE", "EPHEMERAL"].map((name) => ({
    apiVersion: "v1alpha1",
    kind: "VolumeConfig",
    name,
    encryption: nodeIdLuks2Encryption(),
  }));
}

function volumeConfigHasEncryption(minor: TalosMinor): boolean {
  switch (minor) {
    case "v1.10":
      return false;
    case "v1.11":
      return true;
  }
}

/** The lldpd extension service does not start without this document. */
export function renderLldpdDocument(cfg: StackConfig): TalosDocument {
  return {
    apiVersion: "v1alpha1",
    kind: "ExtensionServiceConfig",
    name: "lldpd",
    configFiles: [{ content: cfg.lldpd.config, mountPath: LLDPD_CONFIG_MOUNT_PATH }],
  };
}

/** The USB SSD as a Talos user volume, mounted by Talos at /var/mnt/<name>. */
export function renderUsbSsdVolume(cfg: StackConfig): TalosDocument {
  return {
    apiVersion: "v1alpha1",
    kind: "UserVolumeConfig",
    name: cfg.usbSsd.name,
    provisioning: {
      diskSelector: { match: cfg.usbSsd.selector },
      maxSize: cfg.usbSsd.maxSize,
    },
    filesystem: { type: cfg.usbSsd.filesystem },
  };
}

/**
 * Every document of one node, in apply order: the v1alpha1 patch, system VolumeConfigs (v1.11),
 * the LLDPD ExtensionServiceConfig and the USB SSD UserVolumeConfig. All of them go into every
 * apply, because a full apply-config replaces documents it does not carry.
 */
export function renderNodeDocuments(cfg: StackConfig, node: NodeConfig): TalosDocument[] {
  return [
    renderNodePatch(cfg, node),
    ...renderSystemVolumeDocuments(cfg),
    renderLldpdDocument(cfg),
    renderUsbSsdVolume(cfg),
  ];
}

/** Documents as one multi-document YAML (`---` between documents), the node's config patch file. */
export function documentsToYaml(documents: readonly TalosDocument[]): string {
  // lineWidth 0: never fold long strings (udev rules), so the bytes do not depend on line length.
  return documents.map((doc) => stringify(doc, { lineWidth: 0 })).join("---\n");
}

/** The node's multi-document patch YAML: deterministic, what `talosctl gen config --config-patch @file` gets. */
export function renderNodePatchYaml(cfg: StackConfig, node: NodeConfig): string {
  return documentsToYaml(renderNodeDocuments(cfg, node));
}
