/**
 * Test fixtures: the typed `StackConfig` that Pulumi.home-ops.yaml means, written out as a literal
 * so builder tests do not depend on the config parser. Every call returns a fresh object, so a
 * test that mutates its copy cannot leak into another test.
 */
import type { NodeConfig, StackConfig, TalosMinor } from "../../config/types";

/**
 * Full Talos version used by the fixture for each supported minor: home-ops' own v1.10.5, and the
 * newest patch of each newer minor the Go module proxy serves (contracts/NOTES.md §7.0).
 */
export const FIXTURE_TALOS_VERSIONS: Readonly<Record<TalosMinor, string>> = {
  "v1.10": "v1.10.5",
  "v1.11": "v1.11.6",
  "v1.12": "v1.12.6",
  "v1.13": "v1.13.9",
  "v1.14": "v1.14.1",
};

/**
 * A Kubernetes release each minor runs (config/talosRules.ts): home-ops' v1.31.1 where the minor
 * runs it, else the minor's own default (constants.DefaultKubernetesVersion, NOTES §7.4).
 */
export const FIXTURE_KUBERNETES_VERSIONS: Readonly<Record<TalosMinor, string>> = {
  "v1.10": "v1.31.1",
  "v1.11": "v1.31.1",
  "v1.12": "v1.31.1",
  "v1.13": "v1.31.1",
  "v1.14": "v1.37.0",
};

const HOME_OPS_INSTALL_DISK = { model: "APPLE*" } as const;
const HOME_OPS_INTERFACE = "enp3s0f0";
const HOME_OPS_KERNEL_ARGS = ["talos.logging.kernel=udp://172.29.51.1:514/"];
const HOME_OPS_SYSCTLS: Record<string, string> = {
  "net.ipv4.ip_forward": "1",
  "net.ipv6.conf.all.forwarding": "1",
  "kernel.kexec_load_disabled": "1",
  "vm.dirty_ratio": "5",
  "vm.dirty_background_ratio": "2",
};

function homeOpsNode(hostname: string, lastOctet: number, bootstrap: boolean): NodeConfig {
  return {
    hostname,
    address: `172.29.51.${lastOctet}`,
    ipv6: `fd47:25e1:2f96:51::${lastOctet}`,
    role: "controlplane",
    bootstrap,
    installDisk: { ...HOME_OPS_INSTALL_DISK },
    interface: HOME_OPS_INTERFACE,
    extraKernelArgs: [...HOME_OPS_KERNEL_ARGS],
    sysctls: { ...HOME_OPS_SYSCTLS },
  };
}

/** The home-ops stack (Talos v1.10), optionally with top-level sections replaced. */
export function homeOpsConfig(overrides: Partial<StackConfig> = {}): StackConfig {
  const base: StackConfig = {
    stack: "home-ops",
    cluster: {
      name: "home-ops",
      endpoint: "https://172.29.51.10:6443",
      vip: "172.29.51.10",
      dnsDomain: "cluster.local",
      allowSchedulingOnControlPlanes: true,
    },
    nodes: [homeOpsNode("mini01", 11, true), homeOpsNode("mini02", 12, false), homeOpsNode("mini03", 13, false)],
    talos: {
      version: FIXTURE_TALOS_VERSIONS["v1.10"],
      minor: "v1.10",
      contract: "v1.10",
      talosctl: "talosctl",
      talosctls: {},
    },
    kubernetes: { version: "v1.31.1" },
    network: {
      nodeSubnet: "172.29.51.0/24",
      podCidrs: ["10.244.0.0/16", "fd47:25e1:2f96:51:2000::/68"],
      serviceCidrs: ["10.96.0.0/12", "fd47:25e1:2f96:51:1000::/108"],
      loadBalancerCidrs: ["172.29.52.0/24"],
      ipv6Gateway: "fe80::1",
      dhcpRouteMetric: 1024,
    },
    machine: {
      encryptSystemDisk: true,
      udevRules: [
        'SUBSYSTEM=="block", ATTRS{model}=="Portable SSD T5*", ATTR{queue/scheduler}="mq-deadline"',
        'SUBSYSTEM=="block", ATTRS{model}=="Portable SSD T5*", ATTR{queue/rotational}="0"',
      ],
      shutdownGracePeriod: "30s",
      shutdownGracePeriodCriticalPods: "10s",
      kubePrismPort: 7445,
    },
    schematic: {
      extensions: [
        "siderolabs/iscsi-tools",
        "siderolabs/lldpd",
        "siderolabs/usb-modem-drivers",
        "siderolabs/thunderbolt",
      ],
    },
    lldpd: {
      config:
        "configure lldpd portidsubtype ifname\n" +
        'configure system description "Talos Node"\n' +
        "unconfigure lldp management-addresses-advertisements\n" +
        "unconfigure lldp capabilities-advertisements\n",
    },
    usbSsd: {
      name: "longhorn-ssd",
      selector: 'disk.model == "Portable SSD T5"',
      maxSize: "1TB",
      filesystem: "xfs",
      mountPath: "/var/mnt/longhorn-ssd",
    },
    onepassword: {
      vault: "Automation",
      talosSecretsItem: "Talos Secrets - home-ops",
      talosSecretsField: "talsecret",
      connectCredentialsItem: "1Password Connect Credentials - home-ops",
      connectTokenItem: "1Password Connect Token - home-ops",
      connectTokenField: "token",
      auth: "service-account",
    },
    cilium: {
      version: "1.17.6",
      acceleration: "disabled",
      operatorReplicas: 1,
      ipv4MaskSize: 24,
      hubble: true,
    },
    externalSecrets: { version: "0.17.0" },
    connect: { version: "1.8.1" },
    flux: { version: "v2.8.1", operatorVersion: "0.43.0" },
    charts: {},
    gitops: {
      url: "https://github.com/geoffdavis/talos-gitops",
      branch: "main",
      path: "clusters/home-ops",
      auth: "none",
    },
    stopAfter: "gitops",
    timeouts: {
      nodeReady: 900,
      apiReady: 600,
      health: 600,
      storeReady: 300,
      fluxReady: 600,
      poll: 5,
    },
    operations: { resetOnDestroy: [], adoptHelmReleases: [], handedOffToFlux: false, renewBefore: "30d", reapply: [] },
  };
  return { ...base, ...overrides };
}

/**
 * The same stack created on another Talos minor: that minor's fixture version, the minor as its
 * contract (what a new cluster takes), and a Kubernetes release the minor runs.
 */
export function withTalosMinor(cfg: StackConfig, minor: TalosMinor): StackConfig {
  return withTalos(cfg, minor, minor);
}

/**
 * The same stack on Talos `minor` with the machine-config contract `contract` (home-ops upgraded
 * to `minor` keeps contract v1.10), and a Kubernetes release the minor runs.
 */
export function withTalos(cfg: StackConfig, minor: TalosMinor, contract: TalosMinor): StackConfig {
  return {
    ...cfg,
    talos: { ...cfg.talos, minor, contract, version: FIXTURE_TALOS_VERSIONS[minor] },
    kubernetes: { version: FIXTURE_KUBERNETES_VERSIONS[minor] },
  };
}

/**
 * home-ops moved to Talos v1.14.1 + Kubernetes 1.34.1 (the config contract kept), with the
 * talosctl of the target minor and of v1.12 (the path's intermediate minor) named and a Cilium
 * that fits every Kubernetes version on the path: the upgrade example.
 */
export function homeOpsUpgradeTarget(): StackConfig {
  const cfg = homeOpsConfig();
  return {
    ...cfg,
    talos: {
      ...cfg.talos,
      version: "v1.14.1",
      minor: "v1.14",
      talosctl: "talosctl-1.14",
      talosctls: { "v1.12": "talosctl-1.12" },
    },
    kubernetes: { version: "v1.34.1" },
    cilium: { ...cfg.cilium, version: "1.19.3" },
  };
}
