/**
 * The typed, validated stack configuration. `parseStackConfig` (config/index.ts) is the only
 * producer; every builder, component, the offline renderer and the tests consume this shape.
 * Nothing here is secret: secret stack values (1Password auth) are read separately as Pulumi
 * secrets and never enter this object.
 */

export const PHASES = ["talos", "cluster", "cni", "secrets", "gitops"] as const;
export type Phase = (typeof PHASES)[number];

/**
 * Talos minors whose machine-config schema and CLI reference this program carries contracts for
 * (../shared/contracts/talos), oldest first. Each is also a possible config contract.
 */
export const SUPPORTED_TALOS_MINORS = ["v1.10", "v1.11", "v1.12", "v1.13", "v1.14"] as const;
export type TalosMinor = (typeof SUPPORTED_TALOS_MINORS)[number];

/** `a` is `b` or newer (both supported minors). */
export function talosMinorAtLeast(a: TalosMinor, b: TalosMinor): boolean {
  return SUPPORTED_TALOS_MINORS.indexOf(a) >= SUPPORTED_TALOS_MINORS.indexOf(b);
}

export type NodeRole = "controlplane" | "worker";

/** Talos `machine.install.diskSelector` (subset the program supports). */
export interface DiskSelector {
  readonly model?: string;
  readonly serial?: string;
  readonly size?: string;
  readonly type?: "ssd" | "hdd" | "nvme" | "sd";
  readonly busPath?: string;
}

export interface NodeConfig {
  /** Node hostname (RFC 1123 label); also the Kubernetes node name. */
  readonly hostname: string;
  /** IPv4 address the program reaches the node on (a DHCP reservation on the router). */
  readonly address: string;
  /** IPv6 address (SLAAC, informational: docs/outputs). */
  readonly ipv6?: string;
  readonly role: NodeRole;
  /** The one control-plane node that runs `talosctl bootstrap`. */
  readonly bootstrap: boolean;
  /** Effective install disk selector (cluster default merged with the node override). */
  readonly installDisk: DiskSelector;
  /** Effective NIC name (cluster default or node override). */
  readonly interface: string;
  /** Effective extra kernel args (cluster list followed by the node's own). */
  readonly extraKernelArgs: readonly string[];
  /** Effective sysctls (cluster map overlaid by the node's own). */
  readonly sysctls: Readonly<Record<string, string>>;
}

export interface StackConfig {
  /** Pulumi stack name (e.g. `home-ops`). */
  readonly stack: string;
  readonly cluster: {
    readonly name: string;
    /** `https://<vip>:6443` */
    readonly endpoint: string;
    /** Talos shared VIP on the node NIC; also an extra API-server cert SAN. */
    readonly vip: string;
    readonly dnsDomain: string;
    readonly allowSchedulingOnControlPlanes: boolean;
  };
  readonly nodes: readonly NodeConfig[];
  readonly talos: {
    /** Full Talos version, e.g. `v1.10.5`. */
    readonly version: string;
    /** Its minor: the schema and talosctl CLI the stack is checked against, the installer image form. */
    readonly minor: TalosMinor;
    /**
     * The machine-config contract (`talosctl gen config --talos-version`): the minor the cluster was
     * created with, never newer than `minor`. It fixes the shape of the rendered documents and never
     * moves with `version` (moving it on a running cluster renamed etcd's secretbox key and broke the
     * API server: siderolabs/talos #13885, #13887).
     */
    readonly contract: TalosMinor;
    /** talosctl executable of `minor` (PATH lookup by default). */
    readonly talosctl: string;
    /**
     * talosctl executables of the other minors an upgrade path runs talosctl of (config/upgradePath.ts
     * talosctlMinorsOf): run-time settings TALOSCTL_V1_<n>, never resource inputs.
     */
    readonly talosctls: Readonly<Partial<Record<TalosMinor, string>>>;
  };
  readonly kubernetes: { readonly version: string };
  readonly network: {
    /** The node subnet (management VLAN), e.g. 172.29.51.0/24. */
    readonly nodeSubnet: string;
    readonly podCidrs: readonly string[];
    readonly serviceCidrs: readonly string[];
    /** BGP-advertised LoadBalancer ranges (no node interface on them). */
    readonly loadBalancerCidrs: readonly string[];
    /** IPv6 default gateway (link-local), or undefined for none. */
    readonly ipv6Gateway?: string;
    /** DHCP route metric on the node NIC. */
    readonly dhcpRouteMetric: number;
  };
  readonly machine: {
    /** System disk encryption of STATE and EPHEMERAL with LUKS2 (nodeID key, slot 0). */
    readonly encryptSystemDisk: boolean;
    /** Raw udev rules (`machine.udev.rules`). */
    readonly udevRules: readonly string[];
    /** Kubelet graceful shutdown periods. */
    readonly shutdownGracePeriod: string;
    readonly shutdownGracePeriodCriticalPods: string;
    readonly kubePrismPort: number;
  };
  /** Image Factory schematic: official extensions (`siderolabs/<name>`). */
  readonly schematic: { readonly extensions: readonly string[] };
  readonly lldpd: {
    /** lldpcli commands written to /usr/local/etc/lldpd/lldpd.conf via ExtensionServiceConfig. */
    readonly config: string;
  };
  readonly usbSsd: {
    /** UserVolumeConfig name; mounted at /var/mnt/<name>. */
    readonly name: string;
    /** CEL disk selector, e.g. `disk.model == "Portable SSD T5"`. */
    readonly selector: string;
    readonly maxSize: string;
    readonly filesystem: "xfs" | "ext4";
    /** Derived: /var/mnt/<name>. */
    readonly mountPath: string;
  };
  readonly onepassword: {
    readonly vault: string;
    readonly talosSecretsItem: string;
    readonly talosSecretsField: string;
    readonly connectCredentialsItem: string;
    readonly connectTokenItem: string;
    readonly connectTokenField: string;
    /** How the Pulumi 1Password provider and the `op` CLI authenticate before Connect exists. */
    readonly auth: "service-account" | "account";
    /** Sign-in address/ID for `auth: account`. */
    readonly account?: string;
  };
  readonly cilium: {
    readonly version: string;
    /** Must stay `disabled` on these NICs (XDP breaks on the Mac mini). */
    readonly acceleration: "disabled";
    readonly operatorReplicas: number;
    readonly ipv4MaskSize: number;
    readonly hubble: boolean;
  };
  readonly externalSecrets: { readonly version: string };
  readonly connect: { readonly version: string };
  readonly flux: { readonly version: string; readonly operatorVersion: string };
  /**
   * Where each Helm release's chart comes from, when not its official source (k8s/names.ts): a
   * Helm repository URL, `oci://host/path`, or a local chart path relative to the project directory.
   */
  readonly charts: {
    readonly cilium?: string;
    readonly externalSecrets?: string;
    readonly fluxOperator?: string;
  };
  readonly gitops: {
    readonly url: string;
    readonly branch: string;
    readonly path: string;
    /** `none` for a public repository; `ssh` (deploy key) or `token` from 1Password. */
    readonly auth: "none" | "ssh" | "token";
    /** 1Password item holding the deploy key / token (when auth is not `none`). */
    readonly credentialsItem?: string;
  };
  /** Last phase to run; later phases are not declared (the next `pulumi up` continues). */
  readonly stopAfter: Phase;
  /** Bounded waits, in seconds. */
  readonly timeouts: {
    readonly nodeReady: number;
    readonly apiReady: number;
    readonly health: number;
    readonly storeReady: number;
    readonly fluxReady: number;
    /** Poll interval of every wait. */
    readonly poll: number;
    /** Bound of one etcd probe (default: nodeReady / 10, from 1 to 5). */
    readonly probe?: number;
  };
  readonly operations: {
    /** Nodes that `pulumi destroy` may reset (wiping STATE and EPHEMERAL only). Empty = never. */
    readonly resetOnDestroy: readonly string[];
    /** Helm releases (by step id) adopted on create even without this stack's mark. */
    readonly adoptHelmReleases: readonly ("cilium" | "external-secrets" | "flux-operator")[];
    /** Flux owns what it takes over after the gitops phase: the stack no longer declares it. */
    readonly handedOffToFlux: boolean;
    /**
     * How long before a client certificate (talosconfig, admin kubeconfig) expires `pulumi up`
     * mints it anew: a duration such as `30d` or `720h` (config/duration.ts).
     */
    readonly renewBefore: string;
    /** Nodes whose apply runs again without a config change (the way back from drift). */
    readonly reapply: readonly string[];
  };
}

/** Raw stack config: key (without the project namespace) to parsed YAML/JSON value. */
export type RawConfig = Readonly<Record<string, unknown>>;

/** Thrown by `parseStackConfig` with every problem found, each naming key, value and fix. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      `invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}
