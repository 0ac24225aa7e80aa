/**
 * A catalogue of invalid stack configs, each a small mutation of the valid home-ops raw config.
 * `test/config-bad-input.test.ts` proves `parseStackConfig` rejects each with a message naming the
 * key path; program tests reuse the table to show nothing is created for bad config.
 */
import * as fs from "fs";
import * as path from "path";
import { rawConfigFromStackFile } from "../../config/load";
import { strict as assert } from "assert";
import { parseStackConfig } from "../../config/index";
import { ConfigError, RawConfig } from "../../config/types";

type Mutable = Record<string, any>;

/** The raw config of Pulumi.home-ops.yaml (keys without `homeops:`): every mutation starts from the real file. */
export const HOME_OPS_RAW_CONFIG: RawConfig = Object.freeze(
  rawConfigFromStackFile(fs.readFileSync(path.join(__dirname, "../../Pulumi.home-ops.yaml"), "utf8")),
);

/** The problems parseStackConfig reports for `raw` (fails the test if it accepts it). */
export function problemsOf(raw: RawConfig): readonly string[] {
  try {
    parseStackConfig(raw, "home-ops");
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail("parseStackConfig accepted the config");
}

/** The Pulumi runtime's view of a raw config: `homeops:<key>` → plain string or JSON text. */
export function asPulumiAllConfig(raw: RawConfig): Record<string, string> {
  const all: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    all[`homeops:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return all;
}

/** A deep, mutable copy of the valid home-ops raw config. */
export function homeOpsRawConfig(): Mutable {
  return structuredClone(HOME_OPS_RAW_CONFIG) as Mutable;
}

export interface BadInput {
  /** What is wrong, in words. */
  readonly name: string;
  readonly raw: RawConfig;
  /** Key path one problem message must start with, e.g. `homeops:nodes[1].address`. */
  readonly path: string;
  /** The offending value; when given, that problem must show it as JSON. */
  readonly value?: unknown;
  /** Text the fix hint of that problem must contain. */
  readonly hint?: string;
}

function bad(
  name: string,
  mutate: (raw: Mutable) => void,
  expected: { path: string; value?: unknown; hint?: string },
): BadInput {
  const raw = homeOpsRawConfig();
  mutate(raw);
  return { name, raw: Object.freeze(raw), ...expected };
}

const ns = "homeops";

/**
 * The home-ops pins (what production runs) carry one known warning: Flux 2.8 on Kubernetes 1.31,
 * below Flux's advisory floor (compatibility.json "flux-needs-kubernetes", severity warn).
 */
export const FLUX_FLOOR_WARNING_PREFIX =
  'homeops:flux.version = "v2.8.1": Flux 2.8.1 does not fit homeops:kubernetes.version';

/** Warnings other than the home-ops pins' known Flux floor warning. */
export function withoutFluxFloorWarning(warnings: readonly string[]): string[] {
  return warnings.filter((w) => !w.startsWith(FLUX_FLOOR_WARNING_PREFIX));
}

export const BAD_INPUTS: readonly BadInput[] = [
  // --- nodes
  bad("duplicate node address", (r) => (r.nodes[1].address = "172.29.51.11"), {
    path: `${ns}:nodes[1].address`,
    value: "172.29.51.11",
    hint: "homeops:nodes[0].address",
  }),
  bad("duplicate hostname", (r) => (r.nodes[2].hostname = "mini01"), {
    path: `${ns}:nodes[2].hostname`,
    value: "mini01",
    hint: "unique",
  }),
  bad("malformed IPv4 address", (r) => (r.nodes[1].address = "172.29.51.300"), {
    path: `${ns}:nodes[1].address`,
    value: "172.29.51.300",
    hint: "IPv4",
  }),
  bad("IPv4 address with leading zeros", (r) => (r.nodes[0].address = "172.29.051.11"), {
    path: `${ns}:nodes[0].address`,
    value: "172.29.051.11",
  }),
  bad("node address outside the node subnet", (r) => (r.nodes[2].address = "172.29.60.13"), {
    path: `${ns}:nodes[2].address`,
    value: "172.29.60.13",
    hint: "172.29.51.0/24",
  }),
  bad("malformed IPv6 address", (r) => (r.nodes[0].ipv6 = "fd47::51::11"), {
    path: `${ns}:nodes[0].ipv6`,
    value: "fd47::51::11",
    hint: "IPv6",
  }),
  bad("duplicate IPv6 address", (r) => (r.nodes[1].ipv6 = "fd47:25e1:2f96:51:0::11"), {
    path: `${ns}:nodes[1].ipv6`,
    hint: "homeops:nodes[0].ipv6",
  }),
  bad("hostname with upper case", (r) => (r.nodes[0].hostname = "Mini01"), {
    path: `${ns}:nodes[0].hostname`,
    value: "Mini01",
    hint: "RFC 1123",
  }),
  bad("hostname with underscore", (r) => (r.nodes[1].hostname = "mini_02"), {
    path: `${ns}:nodes[1].hostname`,
    value: "mini_02",
  }),
  bad("unknown node role", (r) => (r.nodes[1].role = "master"), {
    path: `${ns}:nodes[1].role`,
    value: "master",
    hint: '"controlplane", "worker"',
  }),
  bad("bootstrap given as a string", (r) => (r.nodes[0].bootstrap = "yes"), {
    path: `${ns}:nodes[0].bootstrap`,
    value: "yes",
    hint: "boolean",
  }),
  bad("empty node list", (r) => (r.nodes = []), { path: `${ns}:nodes`, value: [], hint: "non-empty" }),
  bad("no bootstrap node", (r) => delete r.nodes[0].bootstrap, { path: `${ns}:nodes`, hint: "bootstrap: true" }),
  bad(
    "no bootstrap node, even with a single control plane",
    (r) => {
      delete r.nodes[0].bootstrap;
      r.nodes[1].role = "worker";
      r.nodes[2].role = "worker";
    },
    { path: `${ns}:nodes`, hint: "homeops:nodes[0] (mini01)" },
  ),
  bad("two bootstrap nodes", (r) => (r.nodes[1].bootstrap = true), {
    path: `${ns}:nodes[1].bootstrap`,
    value: true,
    hint: "only one node",
  }),
  bad(
    "a worker as the bootstrap node",
    (r) => {
      r.nodes[0].role = "worker";
    },
    { path: `${ns}:nodes[0].bootstrap`, value: true, hint: "control-plane" },
  ),
  bad(
    "no control-plane node",
    (r) => {
      for (const node of r.nodes) node.role = "worker";
    },
    { path: `${ns}:nodes`, hint: "at least one node with role controlplane" },
  ),
  bad("typo in a node key", (r) => (r.nodes[0].adress = "172.29.51.11"), {
    path: `${ns}:nodes[0].adress`,
    hint: 'did you mean "address"',
  }),
  bad("empty node installDisk override", (r) => (r.nodes[1].installDisk = {}), {
    path: `${ns}:nodes[1].installDisk`,
    hint: "at least one of model, serial, size, type, busPath",
  }),
  bad("node interface name too long", (r) => (r.nodes[2].interface = "enp3s0f0-much-too-long"), {
    path: `${ns}:nodes[2].interface`,
    value: "enp3s0f0-much-too-long",
  }),

  // --- cluster
  bad(
    "VIP outside the node subnet",
    (r) => {
      r.cluster.vip = "172.29.60.10";
      r.cluster.endpoint = "https://172.29.60.10:6443";
    },
    { path: `${ns}:cluster.vip`, value: "172.29.60.10", hint: "172.29.51.0/24" },
  ),
  bad(
    "VIP equal to a node address",
    (r) => {
      r.cluster.vip = "172.29.51.12";
      r.cluster.endpoint = "https://172.29.51.12:6443";
    },
    { path: `${ns}:cluster.vip`, value: "172.29.51.12", hint: "node address" },
  ),
  bad("malformed VIP", (r) => (r.cluster.vip = "172.29.51"), { path: `${ns}:cluster.vip`, value: "172.29.51" }),
  bad("endpoint over http", (r) => (r.cluster.endpoint = "http://172.29.51.10:6443"), {
    path: `${ns}:cluster.endpoint`,
    value: "http://172.29.51.10:6443",
    hint: "https://<host>:<port>",
  }),
  bad("endpoint without a port", (r) => (r.cluster.endpoint = "https://172.29.51.10"), {
    path: `${ns}:cluster.endpoint`,
    value: "https://172.29.51.10",
  }),
  bad("endpoint neither the VIP nor a node", (r) => (r.cluster.endpoint = "https://10.0.0.1:6443"), {
    path: `${ns}:cluster.endpoint`,
    value: "https://10.0.0.1:6443",
    hint: "172.29.51.10",
  }),
  bad("missing cluster name", (r) => delete r.cluster.name, { path: `${ns}:cluster.name`, hint: "home-ops" }),
  bad("typo in a cluster key", (r) => (r.cluster.vipp = "172.29.51.10"), {
    path: `${ns}:cluster.vipp`,
    hint: 'did you mean "vip"',
  }),

  // --- network
  bad("pod and service CIDRs overlap", (r) => (r.network.serviceCidrs[0] = "10.244.128.0/17"), {
    path: `${ns}:network.serviceCidrs[0]`,
    value: "10.244.128.0/17",
    hint: "homeops:network.podCidrs[0]",
  }),
  bad("CIDR with host bits set", (r) => (r.network.podCidrs[0] = "10.244.0.1/16"), {
    path: `${ns}:network.podCidrs[0]`,
    value: "10.244.0.1/16",
    hint: "10.244.0.0/16",
  }),
  bad(
    "IPv6 CIDR with host bits set (as in the stack file)",
    (r) => (r.network.podCidrs[1] = "fd47:25e1:2f96:51:2000::/64"),
    { path: `${ns}:network.podCidrs[1]`, value: "fd47:25e1:2f96:51:2000::/64", hint: "fd47:25e1:2f96:51::/64" },
  ),
  bad("load-balancer range overlaps the node subnet", (r) => (r.network.loadBalancerCidrs = ["172.29.51.128/25"]), {
    path: `${ns}:network.loadBalancerCidrs[0]`,
    value: "172.29.51.128/25",
    hint: "homeops:network.nodeSubnet",
  }),
  bad(
    "IPv6 service range overlaps the IPv6 pod range",
    (r) => (r.network.serviceCidrs[1] = "fd47:25e1:2f96:51:2000::/108"),
    { path: `${ns}:network.serviceCidrs[1]`, hint: "overlaps" },
  ),
  bad("no IPv4 pod CIDR", (r) => (r.network.podCidrs = ["fd47:25e1:2f96:51:2000::/68"]), {
    path: `${ns}:network.podCidrs`,
    hint: "at least one IPv4",
  }),
  bad("no IPv4 service CIDR", (r) => (r.network.serviceCidrs = ["fd47:25e1:2f96:51:1000::/108"]), {
    path: `${ns}:network.serviceCidrs`,
    hint: "at least one IPv4",
  }),
  bad("prefix length out of range", (r) => (r.network.podCidrs[0] = "10.244.0.0/33"), {
    path: `${ns}:network.podCidrs[0]`,
    value: "10.244.0.0/33",
  }),
  bad("IPv6 node subnet", (r) => (r.network.nodeSubnet = "fd47:25e1:2f96:51::/64"), {
    path: `${ns}:network.nodeSubnet`,
    value: "fd47:25e1:2f96:51::/64",
    hint: "IPv4",
  }),
  bad("malformed IPv6 gateway", (r) => (r.network.ipv6Gateway = "fe80::1::2"), {
    path: `${ns}:network.ipv6Gateway`,
    value: "fe80::1::2",
  }),
  bad("missing node interface", (r) => delete r.network.interface, {
    path: `${ns}:network.interface`,
    hint: "enp3s0f0",
  }),

  // --- versions
  bad("unknown Talos minor v1.9", (r) => (r.talos.version = "v1.9.5"), {
    path: `${ns}:talos.version`,
    value: "v1.9.5",
    hint: "v1.10, v1.11, v1.12, v1.13, v1.14",
  }),
  bad("unknown Talos minor v1.15", (r) => (r.talos.version = "v1.15.0"), {
    path: `${ns}:talos.version`,
    value: "v1.15.0",
    hint: "v1.10, v1.11, v1.12, v1.13, v1.14",
  }),
  bad("missing config contract (never derived from the version)", (r) => delete r.talos.contract, {
    path: `${ns}:talos.contract`,
    hint: "the Talos minor this cluster was created with",
  }),
  bad("config contract as a full version", (r) => (r.talos.contract = "v1.10.5"), {
    path: `${ns}:talos.contract`,
    value: "v1.10.5",
    hint: "write the minor only, as v1.10",
  }),
  bad("config contract as a YAML number", (r) => (r.talos.contract = 1.1), {
    path: `${ns}:talos.contract`,
    value: 1.1,
    hint: "quote it",
  }),
  bad("unsupported config contract", (r) => (r.talos.contract = "v1.9"), {
    path: `${ns}:talos.contract`,
    value: "v1.9",
    hint: "v1.10, v1.11, v1.12, v1.13, v1.14",
  }),
  bad("config contract newer than the installed Talos", (r) => (r.talos.contract = "v1.11"), {
    path: `${ns}:talos.contract`,
    value: "v1.11",
    hint: "at most v1.10",
  }),
  bad("Kubernetes newer than the Talos minor runs", (r) => (r.kubernetes.version = "v1.34.0"), {
    path: `${ns}:kubernetes.version`,
    value: "v1.34.0",
    hint: "runs Kubernetes 1.28 to 1.33",
  }),
  bad(
    "Kubernetes 1.32 on Talos v1.14 (the support matrix's stricter range)",
    (r) => {
      r.talos.version = "v1.14.1";
      r.kubernetes.version = "v1.32.4";
    },
    { path: `${ns}:kubernetes.version`, value: "v1.32.4", hint: "runs Kubernetes 1.33 to 1.37" },
  ),
  bad(
    "a node-only kernel arg under the v1.14 contract (UnattendedInstallConfig has none)",
    (r) => {
      r.talos = { version: "v1.14.1", contract: "v1.14" };
      r.kubernetes.version = "v1.37.0";
      r.nodes[0].extraKernelArgs = ["console=ttyS0"];
    },
    { path: `${ns}:nodes[0].extraKernelArgs[0]`, value: "console=ttyS0", hint: "machine.extraKernelArgs" },
  ),
  bad(
    "an install disk size CEL cannot take under the v1.14 contract",
    (r) => {
      r.talos = { version: "v1.14.1", contract: "v1.14" };
      r.kubernetes.version = "v1.37.0";
      r.machine.installDisk = { model: "APPLE*", size: "big" };
    },
    { path: `${ns}:machine.installDisk.size`, value: "big", hint: ">= 100GB" },
  ),
  bad("Talos version without the v", (r) => (r.talos.version = "1.10.5"), {
    path: `${ns}:talos.version`,
    value: "1.10.5",
    hint: "vX.Y.Z",
  }),
  bad("Talos version as a YAML number", (r) => (r.talos.version = 1.1), {
    path: `${ns}:talos.version`,
    value: 1.1,
    hint: "string",
  }),
  bad("missing Talos version", (r) => delete r.talos.version, { path: `${ns}:talos.version`, hint: "v1.10.5" }),
  bad("Kubernetes version without the v", (r) => (r.kubernetes.version = "1.31.1"), {
    path: `${ns}:kubernetes.version`,
    value: "1.31.1",
  }),
  bad("Cilium version with a v", (r) => (r.cilium.version = "v1.17.6"), {
    path: `${ns}:cilium.version`,
    value: "v1.17.6",
    hint: "leading",
  }),
  bad("Flux version without the v", (r) => (r.flux.version = "2.8.1"), { path: `${ns}:flux.version`, value: "2.8.1" }),
  bad("missing Flux operator version", (r) => delete r.flux.operatorVersion, { path: `${ns}:flux.operatorVersion` }),

  // --- machine
  bad("empty install disk selector", (r) => (r.machine.installDisk = {}), {
    path: `${ns}:machine.installDisk`,
    hint: "model",
  }),
  bad("unknown install disk selector key", (r) => (r.machine.installDisk = { vendor: "Apple" }), {
    path: `${ns}:machine.installDisk.vendor`,
  }),
  bad("unknown install disk type", (r) => (r.machine.installDisk.type = "usb"), {
    path: `${ns}:machine.installDisk.type`,
    value: "usb",
  }),
  bad("udev rule that is not a string", (r) => (r.machine.udevRules[0] = 42), {
    path: `${ns}:machine.udevRules[0]`,
    value: 42,
  }),
  bad("sysctl name that is not dotted", (r) => (r.machine.sysctls.ip_forward = "1"), {
    path: `${ns}:machine.sysctls["ip_forward"]`,
    hint: "dotted",
  }),
  bad("sysctl value that is a boolean", (r) => (r.machine.sysctls["vm.swappiness"] = true), {
    path: `${ns}:machine.sysctls["vm.swappiness"]`,
    value: true,
  }),
  bad("kernel argument with whitespace", (r) => (r.machine.extraKernelArgs = ["console=tty0 quiet"]), {
    path: `${ns}:machine.extraKernelArgs[0]`,
    value: "console=tty0 quiet",
  }),
  bad("shutdown grace period that is not a duration", (r) => (r.machine.shutdownGracePeriod = "30 seconds"), {
    path: `${ns}:machine.shutdownGracePeriod`,
    value: "30 seconds",
  }),
  bad("KubePrism port out of range", (r) => (r.machine.kubePrismPort = 70000), {
    path: `${ns}:machine.kubePrismPort`,
    value: 70000,
  }),

  // --- schematic, lldpd, usbSsd
  bad("wrong lldpd extension name ext-lldpd", (r) => (r.schematic.extensions[1] = "siderolabs/ext-lldpd"), {
    path: `${ns}:schematic.extensions[1]`,
    value: "siderolabs/ext-lldpd",
    hint: '"siderolabs/lldpd"',
  }),
  bad(
    "extension not in the official format",
    (r) => (r.schematic.extensions[0] = "ghcr.io/siderolabs/iscsi-tools:v0.2.0"),
    {
      path: `${ns}:schematic.extensions[0]`,
      value: "ghcr.io/siderolabs/iscsi-tools:v0.2.0",
      hint: "siderolabs/<name>",
    },
  ),
  bad("extension without the siderolabs/ prefix", (r) => (r.schematic.extensions[2] = "usb-modem-drivers"), {
    path: `${ns}:schematic.extensions[2]`,
    value: "usb-modem-drivers",
  }),
  bad("duplicate extension", (r) => r.schematic.extensions.push("siderolabs/iscsi-tools"), {
    path: `${ns}:schematic.extensions[4]`,
    value: "siderolabs/iscsi-tools",
    hint: "homeops:schematic.extensions[0]",
  }),
  bad("lldpd config without the lldpd extension", (r) => r.schematic.extensions.splice(1, 1), {
    path: `${ns}:schematic.extensions`,
    hint: "add siderolabs/lldpd",
  }),
  bad("empty lldpd config", (r) => (r.lldpd.config = "  "), { path: `${ns}:lldpd.config`, value: "  " }),
  bad("USB SSD name with a space", (r) => (r.usbSsd.name = "longhorn ssd"), {
    path: `${ns}:usbSsd.name`,
    value: "longhorn ssd",
    hint: "1–34",
  }),
  bad("USB SSD name too long", (r) => (r.usbSsd.name = "x".repeat(35)), {
    path: `${ns}:usbSsd.name`,
    value: "x".repeat(35),
  }),
  bad("unsupported USB SSD filesystem", (r) => (r.usbSsd.filesystem = "btrfs"), {
    path: `${ns}:usbSsd.filesystem`,
    value: "btrfs",
    hint: '"xfs", "ext4"',
  }),
  bad("USB SSD size without a unit", (r) => (r.usbSsd.maxSize = "1000"), {
    path: `${ns}:usbSsd.maxSize`,
    value: "1000",
    hint: "1TB",
  }),
  bad("USB SSD selector that does not reference the disk", (r) => (r.usbSsd.selector = 'model == "T5"'), {
    path: `${ns}:usbSsd.selector`,
    value: 'model == "T5"',
    hint: "disk.",
  }),
  bad("missing usbSsd section", (r) => delete r.usbSsd, { path: `${ns}:usbSsd` }),

  // --- cilium
  bad("XDP acceleration native", (r) => (r.cilium.acceleration = "native"), {
    path: `${ns}:cilium.acceleration`,
    value: "native",
    hint: "Mac mini",
  }),
  bad("XDP acceleration best-effort", (r) => (r.cilium.acceleration = "best-effort"), {
    path: `${ns}:cilium.acceleration`,
    value: "best-effort",
    hint: "XDP",
  }),
  bad("zero operator replicas", (r) => (r.cilium.operatorReplicas = 0), {
    path: `${ns}:cilium.operatorReplicas`,
    value: 0,
  }),
  bad("per-node mask size out of range", (r) => (r.cilium.ipv4MaskSize = 31), {
    path: `${ns}:cilium.ipv4MaskSize`,
    value: 31,
  }),
  bad(
    "per-node mask size not larger than the pod CIDR prefix",
    (r) => {
      r.network.podCidrs[0] = "10.244.0.0/20";
      r.cilium.ipv4MaskSize = 20;
    },
    { path: `${ns}:cilium.ipv4MaskSize`, value: 20, hint: "/20" },
  ),
  bad("typo in a cilium key", (r) => (r.cilium.accelaration = "disabled"), {
    path: `${ns}:cilium.accelaration`,
    hint: 'did you mean "acceleration"',
  }),

  // --- gitops
  bad("scp-style git URL", (r) => (r.gitops.url = "git@github.com:geoffdavis/talos-gitops"), {
    path: `${ns}:gitops.url`,
    value: "git@github.com:geoffdavis/talos-gitops",
    hint: "ssh://git@github.com/geoffdavis/talos-gitops",
  }),
  bad("git URL over plain http", (r) => (r.gitops.url = "http://github.com/geoffdavis/talos-gitops"), {
    path: `${ns}:gitops.url`,
    value: "http://github.com/geoffdavis/talos-gitops",
  }),
  bad(
    "token auth with an ssh URL",
    (r) => {
      r.gitops.url = "ssh://git@github.com/geoffdavis/talos-gitops";
      r.gitops.auth = "token";
      r.gitops.credentialsItem = "GitHub token";
    },
    { path: `${ns}:gitops.auth`, value: "token", hint: "https://" },
  ),
  bad(
    "ssh auth with an https URL",
    (r) => {
      r.gitops.auth = "ssh";
      r.gitops.credentialsItem = "Flux deploy key";
    },
    { path: `${ns}:gitops.auth`, value: "ssh", hint: "ssh://" },
  ),
  bad(
    "ssh auth without a credentials item",
    (r) => {
      r.gitops.url = "ssh://git@github.com/geoffdavis/talos-gitops";
      r.gitops.auth = "ssh";
    },
    { path: `${ns}:gitops.credentialsItem`, hint: "deploy key" },
  ),
  bad("unknown git auth", (r) => (r.gitops.auth = "password"), { path: `${ns}:gitops.auth`, value: "password" }),
  bad("absolute gitops path", (r) => (r.gitops.path = "/clusters/home-ops"), {
    path: `${ns}:gitops.path`,
    value: "/clusters/home-ops",
    hint: "relative",
  }),
  bad("gitops path leaving the repository", (r) => (r.gitops.path = "clusters/../../etc"), {
    path: `${ns}:gitops.path`,
    value: "clusters/../../etc",
    hint: "..",
  }),

  // --- onepassword
  bad("account auth without an account", (r) => (r.onepassword.auth = "account"), {
    path: `${ns}:onepassword.account`,
    hint: "sign-in address",
  }),
  bad("unknown 1Password auth", (r) => (r.onepassword.auth = "connect"), {
    path: `${ns}:onepassword.auth`,
    value: "connect",
    hint: '"service-account", "account"',
  }),
  bad("empty 1Password vault", (r) => (r.onepassword.vault = ""), { path: `${ns}:onepassword.vault`, value: "" }),

  // --- phases, timeouts, operations, top level
  bad("unknown phase", (r) => (r.stopAfter = "flux"), {
    path: `${ns}:stopAfter`,
    value: "flux",
    hint: "talos, cluster, cni, secrets, gitops",
  }),
  bad("negative timeout", (r) => (r.timeouts = { nodeReady: -5 }), {
    path: `${ns}:timeouts.nodeReady`,
    value: -5,
    hint: "integer",
  }),
  bad("fractional timeout", (r) => (r.timeouts = { health: 1.5 }), { path: `${ns}:timeouts.health`, value: 1.5 }),
  bad("poll interval not shorter than a timeout", (r) => (r.timeouts = { poll: 300 }), {
    path: `${ns}:timeouts.poll`,
    value: 300,
    hint: "storeReady (300)",
  }),
  bad("typo in a timeout key", (r) => (r.timeouts = { nodeReddy: 100 }), {
    path: `${ns}:timeouts.nodeReddy`,
    hint: 'did you mean "nodeReady"',
  }),
  bad("reset of an unknown host", (r) => (r.operations = { resetOnDestroy: ["mini04"] }), {
    path: `${ns}:operations.resetOnDestroy[0]`,
    value: "mini04",
    hint: "mini01, mini02, mini03",
  }),
  bad("unknown top-level key", (r) => (r.clustr = { name: "home-ops" }), {
    path: `${ns}:clustr`,
    hint: 'did you mean "cluster"',
  }),
  bad("missing required top-level key", (r) => delete r.kubernetes, { path: `${ns}:kubernetes`, hint: "v1.31.1" }),
  bad("section given as a string", (r) => (r.flux = "v2.8.1"), { path: `${ns}:flux`, value: "v2.8.1" }),

  // --- versions that do not run together (compatibility.json)
  bad(
    "flux-operator that does not carry the Flux version (issue 15 §1)",
    (r) => {
      r.kubernetes.version = "v1.33.0";
      r.cilium.version = "1.18.0";
      r.flux.version = "v2.8.1";
      r.flux.operatorVersion = "0.33.0";
    },
    { path: `${ns}:flux.operatorVersion`, value: "0.33.0", hint: 'homeops:flux.version = "v2.8.1"' },
  ),
  bad("a Flux release no flux-operator carries", (r) => (r.flux.version = "v2.8.4"), {
    path: `${ns}:flux.operatorVersion`,
    value: "0.43.0",
    hint: "no flux-operator in the table carries Flux 2.8.4",
  }),
  bad("Kubernetes newer than the Cilium minor supports", (r) => (r.kubernetes.version = "v1.33.0"), {
    path: `${ns}:cilium.version`,
    value: "1.17.6",
    hint: "homeops:cilium.version 1.18.x; 1.19.x",
  }),
  bad("Connect older than External Secrets' onepassword provider needs", (r) => (r.connect.version = "1.5.0"), {
    path: `${ns}:connect.version`,
    value: "1.5.0",
    hint: "1.5.6",
  }),
  bad("Cilium newer than the compatibility table knows", (r) => (r.cilium.version = "1.20.0"), {
    path: `${ns}:cilium.version`,
    value: "1.20.0",
    hint: "add a row",
  }),
  bad("flux-operator newer than the compatibility table knows", (r) => (r.flux.operatorVersion = "0.59.0"), {
    path: `${ns}:flux.operatorVersion`,
    value: "0.59.0",
    hint: "add a row",
  }),
];
