/**
 * Helm values for the Cilium release (reference §4.3). Cilium has exactly one owner, this program;
 * the values here are everything the cluster depends on at bootstrap (KubePrism endpoint, IPAM,
 * BGP control plane, Talos' cgroup/capability settings, no XDP on the Mac mini NIC).
 */
import type { StackConfig } from "../config/types";
import { cidrFamilyAndPrefix, ipv6NodeMaskSize } from "../config/network";
import { helmReleaseDescriptor } from "./helmRelease";
import type { HelmReleaseDescriptor } from "./kubernetesObject";
import { CILIUM } from "./names";

export interface Toleration {
  readonly key?: string;
  readonly operator: "Exists" | "Equal";
  readonly value?: string;
  readonly effect?: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

/** A type alias (not an interface) so it is assignable to `Record<string, unknown>`. */
export type CiliumValues = {
  readonly kubeProxyReplacement: boolean;
  readonly k8sServiceHost: string;
  readonly k8sServicePort: number;
  readonly ipv4: { readonly enabled: boolean };
  readonly ipv6: { readonly enabled: boolean };
  readonly ipam: {
    readonly mode: "cluster-pool";
    readonly operator: {
      readonly clusterPoolIPv4PodCIDRList: readonly string[];
      readonly clusterPoolIPv4MaskSize: number;
      readonly clusterPoolIPv6PodCIDRList?: readonly string[];
      readonly clusterPoolIPv6MaskSize?: number;
    };
  };
  readonly loadBalancer: { readonly acceleration: "disabled" };
  readonly bgpControlPlane: { readonly enabled: boolean };
  readonly l2announcements: { readonly enabled: boolean };
  readonly cgroup: { readonly autoMount: { readonly enabled: boolean }; readonly hostRoot: string };
  readonly securityContext: {
    readonly capabilities: {
      readonly ciliumAgent: readonly string[];
      readonly cleanCiliumState: readonly string[];
    };
  };
  readonly tolerations: readonly Toleration[];
  readonly hubble: {
    readonly enabled: boolean;
    readonly relay: { readonly enabled: boolean; readonly tolerations: readonly Toleration[] };
  };
  readonly operator: { readonly replicas: number; readonly tolerations: readonly Toleration[] };
};

/** Capabilities the agent needs instead of running privileged (Talos' documented Cilium set). */
export const CILIUM_AGENT_CAPABILITIES: readonly string[] = [
  "CHOWN",
  "KILL",
  "NET_ADMIN",
  "NET_RAW",
  "IPC_LOCK",
  "SYS_ADMIN",
  "SYS_RESOURCE",
  "DAC_OVERRIDE",
  "FOWNER",
  "SETGID",
  "SETUID",
];
/** Capabilities of the clean-cilium-state init container (Talos' documented set). */
export const CILIUM_CLEAN_STATE_CAPABILITIES: readonly string[] = ["NET_ADMIN", "SYS_ADMIN", "SYS_RESOURCE"];

// The per-node IPv6 size is network math Talos' controller manager shares: it lives in config/network.
export { CILIUM_IPV6_MAX_MASK_DIFF, ipv6NodeMaskSize } from "../config/network";

/** Taints the operator must tolerate to start on a fresh all-control-plane cluster without a CNI. */
export const CILIUM_OPERATOR_TOLERATIONS: readonly Toleration[] = [
  { key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoSchedule" },
  { key: "node.cilium.io/agent-not-ready", operator: "Exists" },
  { key: "node.cloudprovider.kubernetes.io/uninitialized", operator: "Exists" },
];

/** The agent is a DaemonSet that must run on every node whatever its taints. */
export const CILIUM_AGENT_TOLERATIONS: readonly Toleration[] = [{ operator: "Exists" }];

/** Relay needs pod networking, so only the control-plane taint (not not-ready) is tolerated. */
export const HUBBLE_RELAY_TOLERATIONS: readonly Toleration[] = [
  { key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" },
];

export function ciliumValues(cfg: StackConfig): CiliumValues {
  const ipv4Pools = cfg.network.podCidrs.filter((c) => cidrFamilyAndPrefix(c).family === 4);
  const ipv6Pools = cfg.network.podCidrs.filter((c) => cidrFamilyAndPrefix(c).family === 6);
  if (ipv4Pools.length === 0) {
    throw new Error(
      `network.podCidrs ${JSON.stringify(cfg.network.podCidrs)} has no IPv4 CIDR; Cilium's cluster pool needs one`,
    );
  }
  for (const pool of ipv4Pools) {
    const { prefixLength } = cidrFamilyAndPrefix(pool);
    if (cfg.cilium.ipv4MaskSize <= prefixLength || cfg.cilium.ipv4MaskSize > 32) {
      throw new Error(
        `cilium.ipv4MaskSize ${cfg.cilium.ipv4MaskSize} must be longer than the pod CIDR prefix (${pool}) and at most 32`,
      );
    }
  }
  const ipv6MaskSizes = ipv6Pools.map((pool) => ipv6NodeMaskSize(cidrFamilyAndPrefix(pool).prefixLength));
  // One mask size serves every IPv6 pool: the shortest safe one fits all of them.
  const ipv6MaskSize = ipv6MaskSizes.length > 0 ? Math.min(...ipv6MaskSizes) : undefined;
  const dualStack = ipv6MaskSize !== undefined;

  const values: CiliumValues = {
    kubeProxyReplacement: true,
    // KubePrism: the node-local API load balancer Talos runs on every node.
    k8sServiceHost: "localhost",
    k8sServicePort: cfg.machine.kubePrismPort,
    ipv4: { enabled: true },
    ipv6: { enabled: dualStack },
    ipam: {
      mode: "cluster-pool",
      operator: {
        clusterPoolIPv4PodCIDRList: [...ipv4Pools],
        clusterPoolIPv4MaskSize: cfg.cilium.ipv4MaskSize,
        ...(dualStack ? { clusterPoolIPv6PodCIDRList: [...ipv6Pools], clusterPoolIPv6MaskSize: ipv6MaskSize } : {}),
      },
    },
    // XDP breaks on the Mac mini NIC: no LB acceleration. (Cilium 1.17 has no XDP prefilter value.)
    loadBalancer: { acceleration: cfg.cilium.acceleration },
    bgpControlPlane: { enabled: true },
    l2announcements: { enabled: false },
    // Talos mounts cgroup2 itself and forbids privileged containers by default.
    cgroup: { autoMount: { enabled: false }, hostRoot: "/sys/fs/cgroup" },
    securityContext: {
      capabilities: {
        ciliumAgent: [...CILIUM_AGENT_CAPABILITIES],
        cleanCiliumState: [...CILIUM_CLEAN_STATE_CAPABILITIES],
      },
    },
    tolerations: [...CILIUM_AGENT_TOLERATIONS],
    hubble: {
      enabled: cfg.cilium.hubble,
      relay: { enabled: cfg.cilium.hubble, tolerations: [...HUBBLE_RELAY_TOLERATIONS] },
    },
    operator: { replicas: cfg.cilium.operatorReplicas, tolerations: [...CILIUM_OPERATOR_TOLERATIONS] },
  };
  assertCiliumValuesSafe(values);
  return values;
}

function valueAt(values: unknown, dottedPath: string): unknown {
  let node: unknown = values;
  for (const key of dottedPath.split(".")) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Agent flag names / config keys that switch on the XDP prefilter. */
const XDP_PREFILTER_SETTINGS = ["prefilter-device", "prefilter-mode"];
/** The agent option loadBalancer.acceleration is rendered into (cilium-config key / flag). */
const LB_ACCELERATION_SETTING = "bpf-lb-acceleration";

/**
 * Defence in depth against XDP on the Mac mini NIC (it breaks networking): throws unless
 * `loadBalancer.acceleration` is explicitly "disabled" and no XDP prefilter is switched on by any
 * route the chart offers (`prefilter.enabled` of older charts, `extraConfig`, `extraArgs`).
 */
export function assertCiliumValuesSafe(values: unknown): void {
  const problems: string[] = [];
  const acceleration = valueAt(values, "loadBalancer.acceleration");
  if (acceleration !== "disabled") {
    problems.push(
      `loadBalancer.acceleration is ${JSON.stringify(acceleration)}; it must be "disabled" (XDP breaks on the Mac mini NIC)`,
    );
  }
  // Older charts named the same setting nodePort.acceleration.
  const legacyAcceleration = valueAt(values, "nodePort.acceleration");
  if (legacyAcceleration !== undefined && legacyAcceleration !== "disabled") {
    problems.push(`nodePort.acceleration is ${JSON.stringify(legacyAcceleration)}; it must be absent or "disabled"`);
  }
  const prefilterEnabled = valueAt(values, "prefilter.enabled");
  if (prefilterEnabled !== undefined && prefilterEnabled !== false && prefilterEnabled !== "false") {
    problems.push(`prefilter.enabled is ${JSON.stringify(prefilterEnabled)}; the XDP prefilter must stay off`);
  }
  const extraConfig = valueAt(values, "extraConfig");
  if (extraConfig !== null && typeof extraConfig === "object") {
    for (const key of Object.keys(extraConfig).filter((k) => XDP_PREFILTER_SETTINGS.includes(k))) {
      problems.push(`extraConfig.${key} switches on the XDP prefilter; remove it`);
    }
    const rawAcceleration = (extraConfig as Record<string, unknown>)[LB_ACCELERATION_SETTING];
    if (rawAcceleration !== undefined && rawAcceleration !== "disabled") {
      problems.push(
        `extraConfig.${LB_ACCELERATION_SETTING} is ${JSON.stringify(rawAcceleration)}; it must be "disabled"`,
      );
    }
  }
  const extraArgs = valueAt(values, "extraArgs");
  if (Array.isArray(extraArgs)) {
    for (const arg of extraArgs) {
      if (typeof arg === "string" && XDP_PREFILTER_SETTINGS.some((s) => arg.startsWith(`--${s}`))) {
        problems.push(`extraArgs entry ${JSON.stringify(arg)} switches on the XDP prefilter; remove it`);
      }
      if (typeof arg === "string" && arg.startsWith(`--${LB_ACCELERATION_SETTING}`) && !/=\s*disabled$/.test(arg)) {
        problems.push(`extraArgs entry ${JSON.stringify(arg)} overrides the LB acceleration; remove it`);
      }
    }
  }
  if (problems.length > 0) {
    throw new Error(
      `unsafe Cilium values for release ${CILIUM.namespace}/${CILIUM.releaseName}:\n  - ${problems.join("\n  - ")}`,
    );
  }
}

/** The Cilium Helm release (chart, repository, version, values) as the cni phase installs it. */
export function ciliumRelease(cfg: StackConfig): HelmReleaseDescriptor {
  return helmReleaseDescriptor({
    name: CILIUM.releaseName,
    namespace: CILIUM.namespace,
    chart: CILIUM.chart,
    source: cfg.charts.cilium,
    version: cfg.cilium.version,
    values: ciliumValues(cfg),
  });
}
