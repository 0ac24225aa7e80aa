/**
 * Cross-field rules: small pure functions over the loose view of the parsed config (every value
 * that passed its own checks; `undefined` where a value is missing or bad, already reported). A
 * rule only judges values that are individually good, so one mistake is reported once.
 */
import { incompatibilities } from "./compatibility";
import { checkSchematicKernelArg } from "./fields";
import { Cidr, cidrContains, cidrsOverlap, normalizedIPv6, validCidr } from "./network";
import { keyPath, Loose, PathSegment, Report, showValue } from "./problems";
import type { ParsedConfig, ParsedNode } from "./schema";
import type { RawConfig } from "./types";
import { checkTalosRules } from "./talosRules";
import type { PreviousDeployment } from "./previousDeployment";
import { checkNodeRemoval, DeployedNodes, leavingOfView, NO_DEPLOYED_NODES } from "./removal";
import { checkUpgradePath } from "./upgradeRules";

export type ConfigView = Loose<ParsedConfig>;

/**
 * What validation knows of the stack's earlier updates (their outputs; none on a new stack): the
 * nodes they configured and removed (config/removal.ts) and what the cluster runs
 * (config/previousDeployment.ts, for the upgrade path).
 */
export interface StackHistory {
  readonly deployed?: DeployedNodes;
  readonly previous?: PreviousDeployment;
}

interface NamedCidr {
  /** Key path of the list item, e.g. `homeops:network.podCidrs[1]`. */
  readonly path: string;
  readonly cidr: Cidr;
}

interface NodeEntry extends Loose<ParsedNode> {
  /** `homeops:nodes[<index>]` */
  readonly path: string;
}

/** The good items of a list, each with its key path. */
function goodItems<T>(items: readonly (T | undefined)[] | undefined, path: readonly PathSegment[]) {
  return (items ?? []).flatMap((value, index) =>
    value === undefined ? [] : [{ path: keyPath([...path, index]), value }],
  );
}

function cidrsOf(view: ConfigView, key: "podCidrs" | "serviceCidrs" | "loadBalancerCidrs"): NamedCidr[] {
  return goodItems(view.network?.[key], ["network", key]).map(({ path, value }) => ({ path, cidr: validCidr(value) }));
}

function nodeSubnetOf(view: ConfigView): NamedCidr | undefined {
  const text = view.network?.nodeSubnet;
  return text === undefined ? undefined : { path: keyPath(["network", "nodeSubnet"]), cidr: validCidr(text) };
}

/** The nodes as read (an empty or unreadable list was already reported: no rule applies). */
function nodesOf(view: ConfigView): NodeEntry[] | undefined {
  const nodes = view.nodes;
  if (nodes === undefined || nodes.length === 0) return undefined;
  return nodes.map((node, index) => ({ ...node, path: keyPath(["nodes", index]) }));
}

/** Unique hostnames and addresses, addresses inside the node subnet and outside the cluster ranges. */
function checkNodeIdentities(view: ConfigView, nodes: readonly NodeEntry[], report: Report): void {
  const subnet = nodeSubnetOf(view);
  const clusterRanges = [
    ...cidrsOf(view, "podCidrs"),
    ...cidrsOf(view, "serviceCidrs"),
    ...cidrsOf(view, "loadBalancerCidrs"),
  ];
  const firstPathOf = new Map<string, string>();
  const noteUnique = (identity: string, path: string, value: string, why: string): void => {
    const earlier = firstPathOf.get(identity);
    if (earlier === undefined) firstPathOf.set(identity, path);
    else report.invalid(path, value, `duplicates ${earlier}; ${why}`);
  };
  for (const node of nodes) {
    if (node.hostname !== undefined) {
      noteUnique(`hostname:${node.hostname}`, `${node.path}.hostname`, node.hostname, "hostnames must be unique");
    }
    if (node.address !== undefined) {
      const path = `${node.path}.address`;
      noteUnique(`address:${node.address}`, path, node.address, "each node needs its own address");
      if (subnet !== undefined && !cidrContains(subnet.cidr, node.address)) {
        report.invalid(
          path,
          node.address,
          `is outside network.nodeSubnet ${subnet.cidr.text}; the program reaches nodes on that subnet`,
        );
      }
    }
    if (node.ipv6 !== undefined) {
      const path = `${node.path}.ipv6`;
      noteUnique(`ipv6:${normalizedIPv6(node.ipv6)}`, path, node.ipv6, "each node needs its own address");
      for (const range of clusterRanges.filter((r) => cidrContains(r.cidr, node.ipv6 ?? ""))) {
        report.invalid(
          path,
          node.ipv6,
          `lies inside ${range.path} (${range.cidr.text}); node addresses must be outside pod, service and load-balancer CIDRs`,
        );
      }
    }
  }
}

/** At least one control plane, exactly one bootstrap node (a control plane), and the soft advice. */
function checkNodeRoles(view: ConfigView, nodes: readonly NodeEntry[], report: Report): void {
  const nodesPath = keyPath(["nodes"]);
  const hostnames = nodes.map((node) => node.hostname ?? null);
  for (const node of nodes.filter((n) => n.bootstrap === true && n.role === "worker")) {
    report.invalid(
      `${node.path}.bootstrap`,
      true,
      "a worker cannot bootstrap etcd; set bootstrap: true on a control-plane node instead",
    );
  }
  const allRolesRead = nodes.every((node) => node.role !== undefined);
  const controlPlanes = nodes.filter((node) => node.role === "controlplane");
  const bootstrapNodes = nodes.filter((node) => node.bootstrap === true);
  if (allRolesRead && controlPlanes.length === 0) {
    report.invalid(
      nodesPath,
      hostnames,
      "needs at least one node with role controlplane (etcd and the API server run there)",
    );
  }
  if (nodes.every((node) => node.bootstrap !== undefined) && bootstrapNodes.length === 0) {
    const only = controlPlanes.length === 1 ? controlPlanes[0] : undefined;
    report.invalid(
      nodesPath,
      hostnames,
      "no node has bootstrap: true; the operator must name the one control-plane node that bootstraps etcd" +
        (only === undefined
          ? ""
          : ` — set bootstrap: true on ${only.path} (${only.hostname ?? "the only control plane"})`),
    );
  }
  for (const extra of bootstrapNodes.slice(1)) {
    const first = bootstrapNodes[0];
    report.invalid(
      `${extra.path}.bootstrap`,
      true,
      `only one node may bootstrap etcd, and ${first.path} (${first.hostname ?? "?"}) already does; remove bootstrap from this node`,
    );
  }
  if (allRolesRead && controlPlanes.length > 0 && controlPlanes.length % 2 === 0) {
    report.warn(
      nodesPath,
      controlPlanes.map((node) => node.hostname ?? null),
      `${controlPlanes.length} control-plane nodes: an even etcd member count tolerates no more failures than ${controlPlanes.length - 1}; prefer an odd count`,
    );
  }
  if (nodes.length === 1) {
    report.warn(nodesPath, hostnames, "a single node: no redundancy, the cluster is down whenever it is");
  }
  if (allRolesRead && view.cluster?.allowSchedulingOnControlPlanes === false && controlPlanes.length === nodes.length) {
    report.warn(
      keyPath(["cluster", "allowSchedulingOnControlPlanes"]),
      false,
      "there are no worker nodes, so ordinary workloads (Flux, External Secrets, Connect) cannot be scheduled",
    );
  }
}

/** A node's own kernel arg that every node has goes into the schematic too: the same rule applies. */
function checkCommonKernelArgs(view: ConfigView, nodes: readonly NodeEntry[], report: Report): void {
  const machineArgs = view.machine?.extraKernelArgs ?? [];
  const [first, ...rest] = nodes;
  const everyNodeHas = (arg: string): boolean =>
    machineArgs.includes(arg) || rest.every((node) => node.extraKernelArgs?.includes(arg) === true);
  for (const { path, value } of goodItems(first.extraKernelArgs, ["nodes", 0, "extraKernelArgs"])) {
    const problem = machineArgs.includes(value) || !everyNodeHas(value) ? undefined : checkSchematicKernelArg(value);
    if (problem !== undefined) report.invalid(path, value, problem);
  }
}

/** The VIP is a free address of the node subnet; the endpoint points at it (or, with a warning, at a node). */
function checkVipAndEndpoint(view: ConfigView, nodes: readonly NodeEntry[] | undefined, report: Report): void {
  const { vip, endpoint } = view.cluster ?? {};
  if (vip === undefined) return;
  const vipPath = keyPath(["cluster", "vip"]);
  const nodeAddresses = new Set((nodes ?? []).flatMap((node) => (node.address === undefined ? [] : [node.address])));
  const subnet = nodeSubnetOf(view);
  if (subnet !== undefined && !cidrContains(subnet.cidr, vip)) {
    report.invalid(
      vipPath,
      vip,
      `must lie inside network.nodeSubnet ${subnet.cidr.text}: Talos places the VIP on the node NIC`,
    );
  }
  if (nodeAddresses.has(vip)) {
    report.invalid(
      vipPath,
      vip,
      "equals a node address; the VIP must be a free address of the node subnet, owned by no node",
    );
  }
  if (endpoint === undefined) return;
  const endpointHost = endpoint.slice("https://".length, endpoint.lastIndexOf(":"));
  if (endpointHost === vip) return;
  const endpointPath = keyPath(["cluster", "endpoint"]);
  if (nodeAddresses.has(endpointHost)) {
    report.warn(
      endpointPath,
      endpoint,
      `points at a single node, not the VIP ${vip}; the API is unreachable whenever that node is down (use https://${vip}:6443)`,
    );
  } else {
    report.invalid(
      endpointPath,
      endpoint,
      `must point at the VIP ${vip} (e.g. https://${vip}:6443) or at a node address`,
    );
  }
}

/** Pod and service ranges: one IPv4 at least, one per family at most; no two ranges overlap. */
function checkRanges(view: ConfigView, report: Report): void {
  const lists = [
    { key: "podCidrs", example: "10.244.0.0/16" },
    { key: "serviceCidrs", example: "10.96.0.0/12" },
  ] as const;
  for (const { key, example } of lists) {
    const given = view.network?.[key];
    if (given === undefined) continue;
    const ranges = cidrsOf(view, key);
    const texts = ranges.map((range) => range.cidr.text);
    const path = keyPath(["network", key]);
    if (ranges.length === given.length && !ranges.some((range) => range.cidr.family === 4)) {
      report.invalid(path, texts, `needs at least one IPv4 CIDR, e.g. ${example}`);
    }
    for (const family of [4, 6] as const) {
      if (ranges.filter((range) => range.cidr.family === family).length > 1) {
        report.invalid(
          path,
          texts,
          `has more than one IPv${family} CIDR; Kubernetes dual-stack allows at most one per family`,
        );
      }
    }
  }
  const subnet = nodeSubnetOf(view);
  const named = [
    ...(subnet === undefined ? [] : [subnet]),
    ...cidrsOf(view, "podCidrs"),
    ...cidrsOf(view, "serviceCidrs"),
    ...cidrsOf(view, "loadBalancerCidrs"),
  ];
  named.forEach((later, index) => {
    for (const earlier of named.slice(0, index).filter((e) => cidrsOverlap(e.cidr, later.cidr))) {
      report.invalid(
        later.path,
        later.cidr.text,
        `overlaps ${earlier.path} (${earlier.cidr.text}); node, pod, service and load-balancer ranges must be disjoint`,
      );
    }
  });
}

/** Cilium's per-node IPv4 slice must be smaller than the pod range it is cut from. */
function checkPodMaskSize(view: ConfigView, report: Report): void {
  const maskSize = view.cilium?.ipv4MaskSize;
  const pool = cidrsOf(view, "podCidrs").find((range) => range.cidr.family === 4)?.cidr;
  if (maskSize === undefined || pool === undefined || maskSize > pool.prefixLength) return;
  report.invalid(
    keyPath(["cilium", "ipv4MaskSize"]),
    maskSize,
    `must be larger than the IPv4 pod CIDR prefix /${pool.prefixLength} (${pool.text}) so each node gets a slice of it, e.g. 24`,
  );
}

/** Each extension once; the lldpd config needs the lldpd extension. */
function checkExtensions(view: ConfigView, raw: RawConfig, report: Report): void {
  const given = view.schematic?.extensions;
  if (given === undefined) return;
  const firstPathOf = new Map<string, string>();
  for (const { path, value } of goodItems(given, ["schematic", "extensions"])) {
    const earlier = firstPathOf.get(value);
    if (earlier === undefined) firstPathOf.set(value, path);
    else report.invalid(path, value, `duplicates ${earlier}; list each extension once`);
  }
  // A misspelt `siderolabs/ext-lldpd` already got its own hint (the value is bad, so only raw has it).
  const rawExtensions = (raw.schematic as { extensions?: unknown } | undefined)?.extensions;
  const misspeltLldpd = Array.isArray(rawExtensions) && rawExtensions.includes("siderolabs/ext-lldpd");
  if (view.lldpd?.config !== undefined && !misspeltLldpd && !given.includes("siderolabs/lldpd")) {
    report.invalid(
      keyPath(["schematic", "extensions"]),
      rawExtensions,
      'lldpd.config is set but the schematic lacks the "siderolabs/lldpd" extension that runs it; add siderolabs/lldpd',
    );
  }
}

function checkOnePassword(view: ConfigView, report: Report): void {
  const { auth, account } = view.onepassword ?? {};
  const accountPath = keyPath(["onepassword", "account"]);
  if (auth === "account" && account === undefined) {
    report.missing(
      accountPath,
      'auth "account" signs in to a 1Password account: set its sign-in address or ID, e.g. my.1password.com',
    );
  }
  if (auth === "service-account" && account !== undefined) {
    report.warn(accountPath, account, 'is ignored with auth "service-account"');
  }
}

function checkGitops(view: ConfigView, report: Report): void {
  const { url, auth, credentialsItem } = view.gitops ?? {};
  const itemPath = keyPath(["gitops", "credentialsItem"]);
  if (auth !== undefined && auth !== "none" && credentialsItem === undefined) {
    report.missing(
      itemPath,
      `auth "${auth}" needs the 1Password item holding the ${auth === "ssh" ? "deploy key" : "token"}; set gitops.credentialsItem`,
    );
  }
  if (auth === "none" && credentialsItem !== undefined) {
    report.warn(itemPath, credentialsItem, 'is ignored with auth "none"');
  }
  const scheme = auth === "ssh" ? "ssh://" : auth === "token" ? "https://" : undefined;
  if (url !== undefined && scheme !== undefined && !url.startsWith(scheme)) {
    report.invalid(
      keyPath(["gitops", "auth"]),
      auth,
      `auth "${auth}" needs an ${scheme} url, but gitops.url is ${showValue(url)}`,
    );
  }
}

function checkTimeouts(view: ConfigView, report: Report): void {
  const { poll, ...waits } = view.timeouts ?? {};
  if (poll === undefined) return;
  const notLonger = Object.entries(waits).filter(([, seconds]) => seconds !== undefined && seconds <= poll);
  if (notLonger.length === 0) return;
  report.invalid(
    keyPath(["timeouts", "poll"]),
    poll,
    `the poll interval must be shorter than every timeout, but ${notLonger.map(([key, seconds]) => `${key} (${seconds})`).join(", ")} ${notLonger.length === 1 ? "is" : "are"} not longer`,
  );
}

/**
 * Operations name configured nodes, each once. The reset list may also name a node this change
 * removes from homeops:nodes (its removal then resets it) and, with a warning, one an earlier
 * update removed (no effect left), so the change after a removal is not refused for it.
 */
function checkNodeLists(
  nodes: readonly NodeEntry[] | undefined,
  view: ConfigView,
  deployed: DeployedNodes,
  report: Report,
): void {
  const hostnames = new Set((nodes ?? []).flatMap((node) => (node.hostname === undefined ? [] : [node.hostname])));
  const leaving = leavingOfView(view, deployed).map((n) => n.hostname);
  for (const key of ["resetOnDestroy", "reapply"] as const) {
    const seen = new Set<string>();
    const allowed = key === "resetOnDestroy" ? [...hostnames, ...leaving] : [...hostnames];
    for (const { path, value: hostname } of goodItems(view.operations?.[key], ["operations", key])) {
      if (seen.has(hostname)) {
        report.invalid(path, hostname, "is listed twice");
      } else if (nodes !== undefined && !allowed.includes(hostname) && deployed.removed.includes(hostname)) {
        report.warn(
          path,
          hostname,
          "was removed from the cluster by an earlier update: the entry has no effect; remove it",
        );
      } else if (nodes !== undefined && !allowed.includes(hostname)) {
        report.invalid(path, hostname, `is not a configured node; allowed: ${allowed.join(", ")}`);
      }
      seen.add(hostname);
    }
  }
}

/**
 * Pinned versions that cannot run together, or that compatibility.json does not know yet
 * (config/compatibility.ts): refused before anything runs, naming both keys and a version that fits.
 */
function checkVersionCompatibility(view: ConfigView, report: Report): void {
  const versions = {
    kubernetes: view.kubernetes?.version,
    cilium: view.cilium?.version,
    externalSecrets: view.externalSecrets?.version,
    connect: view.connect?.version,
    flux: view.flux?.version,
    fluxOperator: view.flux?.operatorVersion,
  };
  for (const problem of incompatibilities(versions)) {
    if (problem.severity === "warn") report.warn(problem.key, problem.value, problem.message);
    else report.invalid(problem.key, problem.value, problem.message);
  }
}

/**
 * Every cross-field rule over the view (and, for one hint, the raw config), in the order of the
 * file. From the stack's history: `deployed` judges nodes leaving the stack, `previous` the upgrade
 * from what the cluster runs.
 */
export function checkCrossFieldRules(
  view: ConfigView,
  raw: RawConfig,
  report: Report,
  history: StackHistory = {},
): void {
  const { deployed = NO_DEPLOYED_NODES, previous } = history;
  const nodes = nodesOf(view);
  if (nodes !== undefined) {
    checkNodeIdentities(view, nodes, report);
    checkNodeRoles(view, nodes, report);
    checkCommonKernelArgs(view, nodes, report);
  }
  checkVipAndEndpoint(view, nodes, report);
  checkRanges(view, report);
  checkPodMaskSize(view, report);
  checkExtensions(view, raw, report);
  checkOnePassword(view, report);
  checkGitops(view, report);
  checkTimeouts(view, report);
  checkNodeLists(nodes, view, deployed, report);
  checkNodeRemoval(view, deployed, report);
  checkVersionCompatibility(view, report);
  checkTalosRules(view, report);
  checkUpgradePath(view, previous, report);
}
