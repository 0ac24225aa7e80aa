/**
 * Building blocks every contract shares: the document type, the home-ops settings as values
 * (kube-apiserver, controller-manager, scheduler and etcd arguments, PodSecurity defaults, the
 * audit policy, LUKS2), and the documents whose shape no contract changes (LLDPD
 * ExtensionServiceConfig, USB SSD UserVolumeConfig, STATE/EPHEMERAL VolumeConfig encryption).
 */
import type { NodeConfig, StackConfig, TalosMinor } from "../../config/types";
import { cidrFamilyAndPrefix, ipv6NodeMaskSize } from "../../config/network";

/** A JSON-like Talos document (a v1alpha1 patch or a multi-document kind). */
export type TalosDocument = { readonly [key: string]: unknown };

/**
 * What a node's documents are rendered for: the Talos minor the node runs (its schema and
 * validation) and the machine-config contract of the cluster (`gen config --talos-version`), which
 * alone fixes the shape of the documents.
 */
export interface RenderTarget {
  readonly minor: TalosMinor;
  readonly contract: TalosMinor;
}

/** Where the lldpd extension reads its configuration (siderolabs/lldpd). */
export const LLDPD_CONFIG_MOUNT_PATH = "/usr/local/etc/lldpd/lldpd.conf";

export const API_SERVER_ADMISSION_PLUGINS = [
  "NodeRestriction",
  "ValidatingAdmissionWebhook",
  "MutatingAdmissionWebhook",
] as const;

/** Shorter leader election than the defaults, so a lost control plane node fails over fast. */
export const LEADER_ELECTION_ARGS = {
  "bind-address": "0.0.0.0",
  "leader-elect-lease-duration": "15s",
  "leader-elect-renew-deadline": "10s",
  "leader-elect-retry-period": "2s",
} as const;

export const ETCD_EXTRA_ARGS = {
  "election-timeout": "1000",
  "heartbeat-interval": "100",
  "listen-metrics-urls": "http://0.0.0.0:2381",
} as const;

/** A multi-document of `kind` (apiVersion v1alpha1 for every kind this program writes). */
export function talosDocument(kind: string, fields: TalosDocument): TalosDocument {
  return { apiVersion: "v1alpha1", kind, ...fields };
}

/**
 * kube-controller-manager's per-node pod CIDR sizes, matched to Cilium's cluster-pool: with the
 * defaults (/24, /64) an IPv6 pod range longer than /64 makes the controller manager refuse to
 * start, and mismatched sizes make the Node objects' podCIDRs disagree with Cilium's.
 */
export function nodeCidrMaskSizes(cfg: StackConfig): { readonly ipv4: number; readonly ipv6?: number } {
  const v6 = cfg.network.podCidrs.map(cidrFamilyAndPrefix).find((c) => c.family === 6);
  return { ipv4: cfg.cilium.ipv4MaskSize, ...(v6 ? { ipv6: ipv6NodeMaskSize(v6.prefixLength) } : {}) };
}

/** LUKS2 keyed by the node ID in slot 0: unlocks unattended, bound to this machine. */
export function nodeIdLuks2Encryption(): TalosDocument {
  return { provider: "luks2", keys: [{ nodeID: {}, slot: 0 }] };
}

/**
 * PodSecurity admission defaults. No `exemptions`: Talos' default already exempts kube-system,
 * and a patch list is appended to it, so repeating it duplicates the entry (that once
 * crash-looped the API server).
 */
export function podSecurityConfiguration(): TalosDocument {
  return {
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
  };
}

export function auditPolicy(): TalosDocument {
  return { apiVersion: "audit.k8s.io/v1", kind: "Policy", rules: [{ level: "Metadata" }] };
}

/** The kubelet settings of every node (`machine.kubelet.extraConfig`, or KubeletConfig `config`). */
export function kubeletConfiguration(cfg: StackConfig): TalosDocument {
  return {
    featureGates: { GracefulNodeShutdown: true },
    shutdownGracePeriod: cfg.machine.shutdownGracePeriod,
    shutdownGracePeriodCriticalPods: cfg.machine.shutdownGracePeriodCriticalPods,
  };
}

/** Sysctls sorted by key, so map order in the stack file never changes the rendered bytes. */
export function sortedSysctls(node: NodeConfig): Record<string, string> {
  return Object.fromEntries(
    Object.keys(node.sysctls)
      .sort()
      .map((key) => [key, node.sysctls[key]]),
  );
}

/** The node NIC (`machine.network.interfaces[]`): DHCPv4 only, the IPv6 default route, the VIP. */
export function nodeInterface(cfg: StackConfig, node: NodeConfig): TalosDocument {
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

/** STATE and EPHEMERAL encryption as VolumeConfig documents (contracts from v1.11). */
export function systemVolumeEncryptionDocuments(cfg: StackConfig): TalosDocument[] {
  if (!cfg.machine.encryptSystemDisk) return [];
  return ["STATE", "EPHEMERAL"].map((name) =>
    talosDocument("VolumeConfig", { name, encryption: nodeIdLuks2Encryption() }),
  );
}

/** The lldpd extension service does not start without this document. */
export function renderLldpdDocument(cfg: StackConfig): TalosDocument {
  return talosDocument("ExtensionServiceConfig", {
    name: "lldpd",
    configFiles: [{ content: cfg.lldpd.config, mountPath: LLDPD_CONFIG_MOUNT_PATH }],
  });
}

/**
 * The USB SSD as a Talos user volume, mounted by Talos at /var/mnt/<name>. Its mount options are
 * Talos's own on every minor: from v1.13 `mount.secure` defaults to nosuid,nodev (v1.14: and
 * noexec), which Longhorn's replica files on it do not need (decided in docs of the contract).
 */
export function renderUsbSsdVolume(cfg: StackConfig): TalosDocument {
  return talosDocument("UserVolumeConfig", {
    name: cfg.usbSsd.name,
    provisioning: {
      diskSelector: { match: cfg.usbSsd.selector },
      maxSize: cfg.usbSsd.maxSize,
    },
    filesystem: { type: cfg.usbSsd.filesystem },
  });
}

function isPlainObject(value: unknown): value is TalosDocument {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Merge two patches whose leaves must not overlap: a key set by both the per-node and the
 * cluster-wide part would be a builder bug (one of them silently lost), so it throws.
 */
export function mergeDisjoint(first: TalosDocument, second: TalosDocument, at = ""): TalosDocument {
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
