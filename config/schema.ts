/**
 * The stack file described once: every `homeops:<key>` of `Pulumi.<stack>.yaml`, its type, its
 * per-value rules, its defaults and its description. parseStackConfig validates with it, the
 * TypeScript type of the parsed value comes from it, and schema/stack-config.schema.json (editor
 * completion and checks) is generated from it (config/stackFile.ts).
 *
 * Why zod 4 and not TypeBox + ajv: the messages are the product here (key path, value, fix). In
 * zod each type carries its own error function next to its definition, so a missing key, a wrong
 * type and a failed rule each get their own fix text, and checks zod lacks (host bits of a CIDR,
 * supported Talos minors, chart semver) are plain functions returning that text. One pass reports
 * every issue with its path and (reportInput) the offending value. JSON Schema comes built in
 * (z.toJSONSchema, draft-07 for the editors). With TypeBox the errors would come from ajv as
 * generic keyword messages ("must match pattern ...") needing a second table keyed by JSON pointer
 * to get back to today's messages, and the custom rules would become ajv keywords, moving ajv from
 * the tests into the program.
 *
 * Cross-field rules (VIP in the node subnet, overlaps, one bootstrap node, ...) are not here: they
 * are small functions over the parsed value in config/rules.ts.
 */
import * as z from "zod";
import {
  checkByteSize,
  checkCelDiskSelector,
  checkChartVersion,
  checkCidr,
  checkEndpoint,
  checkExtensionName,
  checkGitBranch,
  checkGitUrl,
  checkIPv4,
  checkIPv4Cidr,
  checkIPv6,
  checkKernelArg,
  checkKubernetesVersion,
  checkPrefixedVersion,
  checkSchematicKernelArg,
  checkRepositoryPath,
  checkTalosContract,
  checkTalosVersion,
  DNS_NAME,
  DURATION_RULE,
  flag,
  GO_DURATION,
  HOSTNAME_RULE,
  integer,
  INTERFACE_RULE,
  LINUX_INTERFACE_NAME,
  list,
  nonEmptyText,
  oneOf,
  RFC1123_LABEL,
  rule,
  section,
  SUPPORTED_TALOS_CONTRACTS,
  SUPPORTED_TALOS_VERSION_PATTERN,
  SYSCTL_NAME,
  text,
  VOLUME_NAME,
} from "./fields";
import { checkRenewBefore, DEFAULT_RENEW_BEFORE } from "./duration";
import { PHASES } from "./types";
import { checkChartSource } from "./chartSource";

/** The Pulumi project namespace of every key (`homeops:cluster`, ...). */
export const CONFIG_NAMESPACE = "homeops";

/**
 * Secret stack settings (`pulumi config set --secret homeops:<key>`), read by the program as Pulumi
 * secrets, never part of `StackConfig`. The loaders drop them; given in plain text they are an error.
 */
export const SECRET_CONFIG_KEYS = ["onepasswordServiceAccountToken"] as const;

const ipv4Address = (required?: string) => text(required).check(rule(checkIPv4)).meta({ format: "ipv4" });
const ipv6Address = () => text().check(rule(checkIPv6)).meta({ format: "ipv6" });
const cidr = () => text().check(rule(checkCidr)).meta({ pattern: "^[0-9A-Fa-f:.]+/[0-9]{1,3}$" });
const cidrList = (required?: string) => list(cidr(), required);
const interfaceName = (required?: string) => text(required).regex(LINUX_INTERFACE_NAME, { error: INTERFACE_RULE });
const kernelArgs = (check = checkKernelArg) => list(text().check(rule(check)));
const chartVersion = (required: string, example: string) => text(required).check(rule(checkChartVersion(example)));
const chartSource = (chart: string, official: string) =>
  text()
    .check(rule(checkChartSource))
    .optional()
    .describe(`Chart ${chart}: a Helm repository URL, oci://host/path or a local path. Default ${official}.`);
const seconds = (byDefault: number) => integer(1, Number.MAX_SAFE_INTEGER, " (seconds)").default(byDefault);

const DISK_SELECTOR_KEYS = ["model", "serial", "size", "type", "busPath"] as const;

/** Talos `machine.install.diskSelector` (the subset this program supports). */
function diskSelector(required?: string) {
  return section(
    {
      model: nonEmptyText().optional().describe('Disk model, glob allowed, e.g. "APPLE*"'),
      serial: nonEmptyText().optional(),
      size: nonEmptyText().optional().describe('Size expression, e.g. ">= 100GB"'),
      type: oneOf(["ssd", "hdd", "nvme", "sd"]).optional(),
      busPath: nonEmptyText().optional(),
    },
    required,
  )
    .refine((selector) => DISK_SELECTOR_KEYS.some((key) => selector[key] !== undefined), {
      error: `must select the disk by at least one of ${DISK_SELECTOR_KEYS.join(", ")}, e.g. { model: "APPLE*" }`,
      // Also when another key of the mapping was wrong: say everything at once.
      when: (payload) => typeof payload.value === "object" && payload.value !== null,
    })
    .meta({ minProperties: 1 });
}

/** Sysctl name to value; numbers are accepted and rendered as strings. */
const sysctls = () =>
  z
    .record(
      z.string().regex(SYSCTL_NAME, {
        error: (issue) => `key ${JSON.stringify(issue.input)} must be a dotted sysctl name, e.g. net.ipv4.ip_forward`,
      }),
      z.union([z.string(), z.number()], { error: 'must be a string (or a number), e.g. "1"' }),
      { error: 'must be a mapping of sysctl name to value, e.g. { net.ipv4.ip_forward: "1" }' },
    )
    .default({});

/** Talos minor to talosctl executable (the minors an upgrade path runs talosctl of). */
const talosctlsByMinor = () =>
  z
    .record(
      z
        .string()
        .check(
          rule<string>((minor) =>
            (SUPPORTED_TALOS_CONTRACTS as readonly string[]).includes(minor)
              ? undefined
              : `key ${JSON.stringify(minor)} must be a supported Talos minor (${SUPPORTED_TALOS_CONTRACTS.join(", ")}), e.g. v1.12`,
          ),
        ),
      nonEmptyText(),
      { error: "must be a mapping of Talos minor to talosctl executable, e.g. { v1.12: talosctl-1.12 }" },
    )
    .default({});

const NODES_EXAMPLE =
  "a list like [{ hostname: mini01, address: 172.29.51.11, role: controlplane, bootstrap: true }, ...]";
const NOT_A_NODE_LIST = `must be a non-empty list of nodes: ${NODES_EXAMPLE}`;

const node = section({
  hostname: text("set the node's hostname, e.g. mini01")
    .regex(RFC1123_LABEL, { error: HOSTNAME_RULE })
    .describe("Node hostname (RFC 1123 label); also the Kubernetes node name."),
  address: ipv4Address("set the node's IPv4 address, e.g. 172.29.51.11").describe(
    "IPv4 address the program reaches the node on (a DHCP reservation on the router).",
  ),
  ipv6: ipv6Address().optional().describe("IPv6 address (SLAAC; informational: docs and outputs)."),
  role: oneOf(["controlplane", "worker"]).default("controlplane"),
  bootstrap: flag().default(false).describe("The one control-plane node that runs `talosctl bootstrap`."),
  installDisk: diskSelector().optional().describe("Replaces machine.installDisk for this node."),
  interface: interfaceName().optional().describe("Replaces network.interface for this node."),
  extraKernelArgs: kernelArgs().default([]).describe("Appended to machine.extraKernelArgs for this node."),
  sysctls: sysctls().describe("Overlays machine.sysctls for this node."),
});

const CLUSTER_SCHEMA = section(
  {
    name: text("set the cluster name, e.g. home-ops").regex(RFC1123_LABEL, {
      error:
        "must be an RFC 1123 label (lowercase letters, digits, '-'), e.g. home-ops; it names the cluster, its certificates and its 1Password items",
    }),
    endpoint: text("set the Kubernetes API endpoint on the VIP, e.g. https://172.29.51.10:6443")
      .check(rule(checkEndpoint))
      .describe("https://<vip>:6443"),
    vip: ipv4Address("set the Talos shared VIP, e.g. 172.29.51.10").describe(
      "Talos shared VIP on the node NIC; also an extra API-server certificate SAN.",
    ),
    dnsDomain: text()
      .regex(DNS_NAME, { error: "must be a lowercase DNS domain, e.g. cluster.local" })
      .default("cluster.local"),
    allowSchedulingOnControlPlanes: flag().default(true),
  },
  "set name, endpoint and vip of the cluster",
);

/** Every `homeops:<key>` of the stack file except the secret ones, keyed without the namespace. */
export const RAW_CONFIG_SCHEMA = z.strictObject({
  cluster: CLUSTER_SCHEMA.describe("The cluster: name, API endpoint and shared VIP."),
  nodes: list(node, `set ${NODES_EXAMPLE}`, NOT_A_NODE_LIST)
    .min(1, { error: NOT_A_NODE_LIST })
    .describe("The nodes; exactly one control-plane node has bootstrap: true."),
  talos: section(
    {
      version: text("set the Talos release, e.g. v1.10.5")
        .check(rule(checkTalosVersion))
        .meta({ pattern: SUPPORTED_TALOS_VERSION_PATTERN, description: "Full Talos release, e.g. v1.10.5." }),
      contract: text(
        "set the machine-config contract: the Talos minor this cluster was created with (for home-ops v1.10); " +
          "a new cluster takes the minor of talos.version. It is never derived from talos.version: " +
          "moving it on a running cluster changes the generated config (siderolabs/talos #13885)",
      )
        .check(rule(checkTalosContract))
        .meta({
          enum: SUPPORTED_TALOS_CONTRACTS,
          description:
            "The machine-config contract (talosctl gen config --talos-version): the Talos minor the cluster was created with, e.g. v1.10. Required; never newer than the minor of version; change it only on purpose.",
        }),
      talosctl: nonEmptyText()
        .default("talosctl")
        .describe("talosctl executable of the minor of version (PATH lookup by default)."),
      talosctls: talosctlsByMinor().describe(
        "talosctl executables of the other Talos minors an upgrade path passes through, by minor, e.g. { v1.12: talosctl-1.12 }: a Talos hop runs the talosctl of the minor it installs, upgrade-k8s the one of the minor the nodes run. Run-time settings only (changing one runs nothing).",
      ),
    },
    "set talos.version and talos.contract, e.g. { version: v1.10.5, contract: v1.10 }",
  ).describe(
    "Talos release (its minor selects the schema, CLI and installer image), the pinned machine-config contract, and the talosctl to run.",
  ),
  kubernetes: section(
    { version: text("set the Kubernetes release, e.g. v1.31.1").check(rule(checkKubernetesVersion)) },
    "set kubernetes.version, e.g. { version: v1.31.1 }",
  ).describe("Kubernetes release, e.g. { version: v1.31.1 }."),
  network: section(
    {
      interface: interfaceName("set the node NIC name, e.g. enp3s0f0").describe("Node NIC name."),
      nodeSubnet: text("set the node subnet, e.g. 172.29.51.0/24")
        .check(rule(checkIPv4Cidr))
        .describe("The node subnet (management VLAN), e.g. 172.29.51.0/24."),
      podCidrs: cidrList("set the pod CIDRs, e.g. [10.244.0.0/16]").describe("At most one CIDR per family."),
      serviceCidrs: cidrList("set the service CIDRs, e.g. [10.96.0.0/12]").describe("At most one CIDR per family."),
      loadBalancerCidrs: cidrList().default([]).describe("BGP-advertised LoadBalancer ranges."),
      ipv6Gateway: ipv6Address().optional().describe("IPv6 default gateway (link-local)."),
      dhcpRouteMetric: integer(0, 4294967295).default(1024).describe("DHCP route metric on the node NIC."),
    },
    "set interface, nodeSubnet, podCidrs and serviceCidrs",
  ).describe("Node NIC, node subnet, pod/service/load-balancer ranges (disjoint)."),
  machine: section(
    {
      installDisk: diskSelector('set the install disk selector, e.g. { model: "APPLE*" }'),
      extraKernelArgs: kernelArgs(checkSchematicKernelArg).default([]).describe("Kernel args of every node."),
      encryptSystemDisk: flag().default(true).describe("LUKS2 encryption of STATE and EPHEMERAL (node ID key)."),
      sysctls: sysctls(),
      udevRules: list(nonEmptyText()).default([]).describe("Raw udev rules (machine.udev.rules)."),
      shutdownGracePeriod: text().regex(GO_DURATION, { error: DURATION_RULE }).default("30s"),
      shutdownGracePeriodCriticalPods: text().regex(GO_DURATION, { error: DURATION_RULE }).default("10s"),
      kubePrismPort: integer(1, 65535).default(7445),
    },
    'set machine.installDisk, e.g. { model: "APPLE*" }',
  ).describe("Settings of every node: install disk, kernel args, sysctls, udev rules, encryption, kubelet."),
  schematic: section(
    {
      extensions: list(
        text().check(rule(checkExtensionName)),
        "list the official extensions, e.g. [siderolabs/iscsi-tools, siderolabs/lldpd]",
      ).describe('Official Talos extensions, "siderolabs/<name>".'),
    },
    "set schematic.extensions, e.g. [siderolabs/iscsi-tools, siderolabs/lldpd]",
  ).describe("Image Factory schematic."),
  lldpd: section(
    {
      config: text("set the lldpcli commands, e.g. configure lldpd portidsubtype ifname")
        .check(
          rule((v) =>
            v.trim() === "" ? "must hold lldpcli commands, e.g. configure lldpd portidsubtype ifname" : undefined,
          ),
        )
        .describe("lldpcli commands written to /usr/local/etc/lldpd/lldpd.conf."),
    },
    "set lldpd.config (lldpcli commands)",
  ).describe("LLDP daemon configuration (needs the siderolabs/lldpd extension)."),
  usbSsd: section(
    {
      name: text("set the volume name, e.g. longhorn-ssd")
        .regex(VOLUME_NAME, {
          error:
            "must be 1–34 characters of letters, digits or '-' (a Talos UserVolumeConfig name; mounted at /var/mnt/<name>), e.g. longhorn-ssd",
        })
        .describe("UserVolumeConfig name; mounted at /var/mnt/<name>."),
      selector: text('set a CEL disk selector, e.g. disk.model == "Portable SSD T5"')
        .check(rule(checkCelDiskSelector))
        .describe('CEL disk selector, e.g. disk.model == "Portable SSD T5".'),
      maxSize: text("set the maximum size, e.g. 1TB").check(rule(checkByteSize)),
      filesystem: oneOf(["xfs", "ext4"], { required: 'set "xfs" or "ext4"' }),
    },
    "set name, selector, maxSize and filesystem",
  ).describe("The USB SSD as a Talos user volume."),
  onepassword: section({
    vault: nonEmptyText().default("Automation"),
    talosSecretsItem: nonEmptyText().optional().describe('Default "Talos Secrets - <cluster name>".'),
    talosSecretsField: nonEmptyText().default("talsecret"),
    connectCredentialsItem: nonEmptyText()
      .optional()
      .describe('Default "1Password Connect Credentials - <cluster name>".'),
    connectTokenItem: nonEmptyText().optional().describe('Default "1Password Connect Token - <cluster name>".'),
    connectTokenField: nonEmptyText().default("token"),
    auth: oneOf(["service-account", "account"])
      .default("service-account")
      .describe("How the 1Password provider and the op CLI authenticate before Connect exists."),
    account: nonEmptyText().optional().describe("Sign-in address or ID, for auth: account."),
  })
    .prefault({})
    .describe("1Password vault and item names."),
  cilium: section(
    {
      version: chartVersion("set the Cilium chart version, e.g. 1.17.6", "1.17.6"),
      acceleration: oneOf(["disabled"], {
        explanation:
          'must be "disabled": XDP load-balancer acceleration (native/best-effort) breaks on the Mac mini NIC and takes the node offline',
      }).default("disabled"),
      operatorReplicas: integer(1).default(1),
      ipv4MaskSize: integer(16, 30, " (the per-node pod CIDR prefix length)").default(24),
      hubble: flag().default(true),
    },
    "set cilium.version, e.g. 1.17.6",
  ).describe("The Cilium Helm release (XDP acceleration stays disabled)."),
  externalSecrets: section(
    { version: chartVersion("set the External Secrets chart version, e.g. 0.17.0", "0.17.0") },
    "set externalSecrets.version, e.g. 0.17.0",
  ).describe("External Secrets Operator chart version."),
  connect: section(
    { version: chartVersion("set the 1Password Connect version, e.g. 1.8.1", "1.8.1") },
    "set connect.version, e.g. 1.8.1",
  ).describe("1Password Connect chart version."),
  flux: section(
    {
      version: text("set the Flux release, e.g. v2.8.1").check(rule(checkPrefixedVersion)),
      operatorVersion: chartVersion("set the Flux operator chart version, e.g. 0.43.0", "0.43.0"),
    },
    "set flux.version and flux.operatorVersion",
  ).describe("Flux release and flux-operator chart version."),
  charts: section({
    cilium: chartSource("cilium", "https://helm.cilium.io/"),
    externalSecrets: chartSource("external-secrets", "https://charts.external-secrets.io"),
    fluxOperator: chartSource("flux-operator", "oci://ghcr.io/controlplaneio-fluxcd/charts"),
  })
    .prefault({})
    .describe(
      "Where each Helm release's chart comes from, when not the official source: a Helm repository (http/https: a mirror, private repository or pull-through cache), an OCI registry (oci://host/path; the chart is <path>/<chart name>) or a local chart directory or .tgz, relative to the project directory.",
    ),
  gitops: section(
    {
      url: text("set the repository Flux syncs, e.g. https://github.com/geoffdavis/talos-gitops").check(
        rule(checkGitUrl),
      ),
      branch: text().check(rule(checkGitBranch)).default("main"),
      path: text("set the directory Flux reconciles, e.g. clusters/home-ops").check(rule(checkRepositoryPath)),
      auth: oneOf(["none", "ssh", "token"])
        .default("none")
        .describe("none for a public repository; ssh (deploy key) or token from 1Password."),
      credentialsItem: nonEmptyText().optional().describe("1Password item with the deploy key or token."),
    },
    "set gitops.url and gitops.path",
  ).describe("The repository Flux reconciles."),
  stopAfter: oneOf(PHASES, { explanation: `must be one of the phases ${PHASES.join(", ")} (in run order)` })
    .default("gitops")
    .describe("Last phase to run; the next pulumi up continues from there."),
  timeouts: section({
    nodeReady: seconds(900),
    apiReady: seconds(600),
    health: seconds(600),
    storeReady: seconds(300),
    fluxReady: seconds(600),
    poll: seconds(5).describe("Poll interval of every wait; shorter than every timeout."),
    probe: integer(1, 600, " (seconds)")
      .optional()
      .describe(
        "Bound of one etcd probe (default: nodeReady / 10, from 1 to 5). A serving etcd answers at once; a stopped one blocks until this bound. Raise it for a slow link to the nodes.",
      ),
  })
    .prefault({})
    .describe("Bounded waits, in seconds."),
  operations: section({
    resetOnDestroy: list(text())
      .default([])
      .describe(
        "Nodes pulumi destroy, or their removal from homeops:nodes, may reset: STATE and EPHEMERAL (on Talos v1.14 also the ETCD, CRI, KUBELET and LOG system volumes), never a user volume. Empty = never.",
      ),
    adoptHelmReleases: list(oneOf(["cilium", "external-secrets", "flux-operator"] as const))
      .default([])
      .describe(
        "Helm releases to adopt even without this stack's mark (the description of every revision it installs): another tool's, or this stack's from before it marked them. Its own marked releases are adopted without this after a lost state.",
      ),
    handedOffToFlux: flag()
      .default(false)
      .describe(
        "Flux owns the External Secrets release and the Connect Deployment and Services (their HelmRelease and manifests in the GitOps repository): the stack stops declaring them. Set it to recover a lost state after the gitops phase had completed.",
      ),
    renewBefore: text()
      .check(rule(checkRenewBefore))
      .default(DEFAULT_RENEW_BEFORE)
      .describe(
        "How long before its client certificate expires pulumi up mints the talosconfig and the admin kubeconfig anew (also once expired), e.g. 30d or 720h; at most 335d (the certificates live 365 days).",
      ),
    reapply: list(text())
      .default([])
      .describe(
        "Nodes whose machine config pulumi up applies again although the stack's config for them did not change: the explicit way back for a node changed by hand (npm run drift). Re-runs once when a name is added.",
      ),
  })
    .prefault({})
    .describe(
      "Operations on the running cluster: destructive ones only on the nodes named here, credential renewal, re-applying drifted nodes.",
    ),
});

/** The raw config as parsed and checked value by value, defaults applied. */
export type ParsedConfig = z.output<typeof RAW_CONFIG_SCHEMA>;
export type ParsedNode = ParsedConfig["nodes"][number];
