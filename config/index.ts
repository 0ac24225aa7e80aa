/**
 * The one config module's entry point: turns the raw stack config (keys without the `homeops:`
 * namespace) into the typed, validated `StackConfig`. Pure: no I/O, no Pulumi, so the program,
 * the offline renderer and the tests share it. Three steps: the schema checks every value on its
 * own (config/schema.ts), the cross-field rules judge the good values together (config/rules.ts),
 * and only a config without any problem becomes a `StackConfig` (cluster defaults merged into each
 * node). Every problem is reported together in one `ConfigError`, each naming the key path, the
 * bad value and the fix.
 */
import { looseParse, Report, reportDroppedMapKeys, reportIssues, showValue } from "./problems";
import { checkCrossFieldRules, StackHistory } from "./rules";
import { CONFIG_NAMESPACE, ParsedConfig, ParsedNode, RAW_CONFIG_SCHEMA, SECRET_CONFIG_KEYS } from "./schema";
import { TALOS_VERSION } from "./fields";
import { ConfigError, NodeConfig, RawConfig, StackConfig, TalosMinor } from "./types";

export { ConfigError, PHASES, SUPPORTED_TALOS_MINORS } from "./types";
export type { RawConfig, StackConfig } from "./types";
export { deployedNodesFromOutputs, NO_DEPLOYED_NODES, nodesLeaving, removedNodesOutput } from "./removal";
export type { DeployedNode, DeployedNodes } from "./removal";
export { CONFIG_NAMESPACE, SECRET_CONFIG_KEYS } from "./schema";

function isPlainObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Secret settings given in plain text are reported (never echoed) and left out of validation. */
function withoutPlainTextSecrets(raw: RawConfig, report: Report): Record<string, unknown> {
  const rest: Record<string, unknown> = { ...raw };
  for (const key of SECRET_CONFIG_KEYS.filter((secret) => secret in raw)) {
    const path = `${CONFIG_NAMESPACE}:${key}`;
    report.plainTextSecret(path, `remove it and run \`pulumi config set --secret ${path} <value>\``);
    delete rest[key];
  }
  return rest;
}

const stringValues = (sysctls: Readonly<Record<string, string | number>>): Record<string, string> =>
  Object.fromEntries(Object.entries(sysctls).map(([key, value]) => [key, String(value)]));

/** A node's effective settings: the cluster defaults with the node's own overrides. */
function effectiveNode(node: ParsedNode, parsed: ParsedConfig): NodeConfig {
  return {
    hostname: node.hostname,
    address: node.address,
    ...(node.ipv6 === undefined ? {} : { ipv6: node.ipv6 }),
    role: node.role,
    bootstrap: node.bootstrap,
    installDisk: node.installDisk ?? parsed.machine.installDisk,
    interface: node.interface ?? parsed.network.interface,
    extraKernelArgs: [...parsed.machine.extraKernelArgs, ...node.extraKernelArgs],
    sysctls: { ...stringValues(parsed.machine.sysctls), ...stringValues(node.sysctls) },
  };
}

function talosMinorOf(version: string): TalosMinor {
  const match = TALOS_VERSION.exec(version);
  if (match === null) throw new Error(`internal: Talos version ${version} passed validation`);
  return `v${match[1]}.${match[2]}` as TalosMinor;
}

/** The validated config in the shape every consumer reads (derived values filled in). */
function toStackConfig(parsed: ParsedConfig, stack: string): StackConfig {
  const { cluster, network, machine, onepassword, gitops, usbSsd } = parsed;
  const itemOf = (prefix: string): string => `${prefix} - ${cluster.name}`;
  return {
    stack,
    cluster,
    nodes: parsed.nodes.map((node) => effectiveNode(node, parsed)),
    talos: {
      ...parsed.talos,
      minor: talosMinorOf(parsed.talos.version),
      contract: parsed.talos.contract as TalosMinor,
      talosctls: parsed.talos.talosctls as Partial<Record<TalosMinor, string>>,
    },
    kubernetes: parsed.kubernetes,
    network: {
      nodeSubnet: network.nodeSubnet,
      podCidrs: network.podCidrs,
      serviceCidrs: network.serviceCidrs,
      loadBalancerCidrs: network.loadBalancerCidrs,
      ...(network.ipv6Gateway === undefined ? {} : { ipv6Gateway: network.ipv6Gateway }),
      dhcpRouteMetric: network.dhcpRouteMetric,
    },
    machine: {
      encryptSystemDisk: machine.encryptSystemDisk,
      udevRules: machine.udevRules,
      shutdownGracePeriod: machine.shutdownGracePeriod,
      shutdownGracePeriodCriticalPods: machine.shutdownGracePeriodCriticalPods,
      kubePrismPort: machine.kubePrismPort,
    },
    schematic: parsed.schematic,
    lldpd: parsed.lldpd,
    usbSsd: { ...usbSsd, mountPath: `/var/mnt/${usbSsd.name}` },
    onepassword: {
      vault: onepassword.vault,
      talosSecretsItem: onepassword.talosSecretsItem ?? itemOf("Talos Secrets"),
      talosSecretsField: onepassword.talosSecretsField,
      connectCredentialsItem: onepassword.connectCredentialsItem ?? itemOf("1Password Connect Credentials"),
      connectTokenItem: onepassword.connectTokenItem ?? itemOf("1Password Connect Token"),
      connectTokenField: onepassword.connectTokenField,
      auth: onepassword.auth,
      ...(onepassword.auth === "account" && onepassword.account !== undefined ? { account: onepassword.account } : {}),
    },
    cilium: parsed.cilium,
    externalSecrets: parsed.externalSecrets,
    connect: parsed.connect,
    flux: parsed.flux,
    charts: parsed.charts,
    gitops: {
      url: gitops.url,
      branch: gitops.branch,
      path: gitops.path,
      auth: gitops.auth,
      ...(gitops.auth === "none" || gitops.credentialsItem === undefined
        ? {}
        : { credentialsItem: gitops.credentialsItem }),
    },
    stopAfter: parsed.stopAfter,
    timeouts: parsed.timeouts,
    operations: parsed.operations,
  };
}

/**
 * Validates the raw stack config (keys without the `homeops:` prefix) and returns the typed config
 * plus soft warnings. Throws `ConfigError` listing every problem found. `history` is what the
 * stack's earlier updates left (their outputs): nodes dropped from `homeops:nodes` are judged
 * against `history.deployed` (config/removal.ts; without it nothing counts as removed), and a target
 * no upgrade path reaches from what the cluster runs (`history.previous`,
 * config/previousDeployment.ts) is refused.
 */
export function parseStackConfig(
  raw: RawConfig,
  stack: string,
  history: StackHistory = {},
): { config: StackConfig; warnings: string[] } {
  if (!isPlainObject(raw)) {
    throw new ConfigError([
      `${CONFIG_NAMESPACE} config = ${showValue(raw)}: must be a mapping of ${CONFIG_NAMESPACE}:<key> to value`,
    ]);
  }
  const report = new Report();
  if (typeof stack !== "string" || stack.trim() === "") {
    report.invalid("stack", stack, "the Pulumi stack name must be a non-empty string, e.g. home-ops");
  }
  const checked = withoutPlainTextSecrets(raw, report);
  const parsed = RAW_CONFIG_SCHEMA.safeParse(checked);
  if (!parsed.success) reportIssues(report, RAW_CONFIG_SCHEMA, checked, parsed.error.issues);
  reportDroppedMapKeys(report, RAW_CONFIG_SCHEMA, checked);
  checkCrossFieldRules(looseParse(RAW_CONFIG_SCHEMA, checked) ?? {}, checked, report, history);
  if (report.problems.length > 0 || !parsed.success) throw new ConfigError(report.problems);
  return { config: toStackConfig(parsed.data, stack), warnings: report.warnings };
}
