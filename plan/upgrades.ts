/**
 * The upgrade path as steps: per Talos hop, one step per node (control planes first, every node
 * after the one before it, so control planes go strictly one at a time; the script also holds the
 * rolling lock); per Kubernetes hop, one upgrade-k8s step. The ids derive from the versions, so a
 * re-run after a failure recomputes the same path from the same previous outputs (written only by
 * a successful update) and the steps that completed are unchanged in the state. Once the nodes run
 * the target, the last completed path keeps being declared with the same inputs, so a second `up`
 * changes nothing; a new path replaces it (the old steps have no delete script).
 */
import { StackConfig } from "../config/types";
import { PreviousDeployment, CompletedPath, RunningVersions } from "../config/previousDeployment";
import { Hop, KubernetesHop, planUpgradePath, TalosHop, describeHop } from "../config/upgradePath";
import { talosctlSetting, upgradeStart } from "../config/upgradeRules";
import { installerRepository, schematicId } from "../talos/schematic";
import { talosctl } from "../talos/talosctl";
import { commandStep } from "./command";
import { CommandStep, stepIds } from "./types";

export const NO_PATH: CompletedPath = { nodes: [], hops: [] };

export const upgradeStepIds = {
  talos: (version: string, hostname: string) => `talos-upgrade-${version}-${hostname}`,
  kubernetes: (to: string) => `kubernetes-upgrade-${to}`,
};

/** What the plan says about versions: what runs (per the outputs), the target, the path declared. */
export interface UpgradeSummary {
  readonly running?: RunningVersions;
  readonly target: { readonly talos: string; readonly schematic: string; readonly kubernetes: string };
  /** The path this update declares: newly planned, or the last completed one kept. */
  readonly path: CompletedPath;
  /** true: the nodes do not run the target yet and this path moves them. */
  readonly planned: boolean;
}

/** The stack's target versions. */
export function targetOf(cfg: StackConfig): UpgradeSummary["target"] {
  return { talos: cfg.talos.version, schematic: schematicId(cfg), kubernetes: cfg.kubernetes.version };
}

/**
 * The path this update declares, from the previous deployment. Config validation has refused
 * every case without a path (config/upgradeRules.ts); meeting one here is a bug.
 */
export function upgradeSummary(cfg: StackConfig, previous: PreviousDeployment | undefined): UpgradeSummary {
  const target = targetOf(cfg);
  const hostnames = cfg.nodes.map((n) => n.hostname);
  const kept: CompletedPath = previous
    ? { nodes: previous.lastPath.nodes.filter((h) => hostnames.includes(h)), hops: previous.lastPath.hops }
    : NO_PATH;
  const base = { ...(previous?.running ? { running: previous.running } : {}), target };
  if (previous === undefined) return { ...base, path: NO_PATH, planned: false };
  const pins = {
    cilium: cfg.cilium.version,
    externalSecrets: cfg.externalSecrets.version,
    connect: cfg.connect.version,
    flux: cfg.flux.version,
    fluxOperator: cfg.flux.operatorVersion,
  };
  const start = upgradeStart({ ...target, hostnames, pins }, previous);
  if (start.kind === "nothing runs") return { ...base, path: kept.nodes.length ? kept : NO_PATH, planned: false };
  if (start.kind === "unplannable") throw new Error(`internal: validation let through: ${start.message}`);
  const result = planUpgradePath(start.query);
  if (!result.ok) throw new Error(`internal: validation let through: ${result.refusal.message}`);
  if (result.hops.length === 0) return { ...base, path: kept.nodes.length ? kept : NO_PATH, planned: false };
  return { ...base, path: { nodes: start.nodes, hops: result.hops }, planned: true };
}

/** The talosctl run-time setting a hop runs with: the stack's own for its minor. */
function settingOf(hop: Hop): string {
  return talosctlSetting(hop.kind === "talos" ? hop.minor : hop.talosMinor);
}

function talosHopSteps(cfg: StackConfig, hop: TalosHop, nodes: readonly string[], after: string[]): CommandStep[] {
  const image = `${installerRepository(hop.minor)}/${hop.schematic}:${hop.to}`;
  const ordered = [
    ...cfg.nodes.filter((n) => n.role === "controlplane"),
    ...cfg.nodes.filter((n) => n.role !== "controlplane"),
  ].filter((n) => nodes.includes(n.hostname));
  const steps: CommandStep[] = [];
  let previous = after;
  for (const node of ordered) {
    const id = upgradeStepIds.talos(hop.to, node.hostname);
    steps.push(
      commandStep(cfg, {
        id,
        phase: "talos",
        node: node.hostname,
        description:
          `${describeHop(hop)} on ${node.hostname} (${node.address}, ${node.role}): ${image}, one node at a time ` +
          `under the rolling lock with etcd whole before and after (talosctl ${hop.minor})`,
        dependsOn: [stepIds.secrets, stepIds.schematic, ...previous.filter((d) => d !== stepIds.secrets)],
        script: "talos-upgrade",
        env: {
          // the shared talosconfig generation (talos/scripts/common.ts) reads them
          CLUSTER_NAME: cfg.cluster.name,
          CLUSTER_ENDPOINT: cfg.cluster.endpoint,
          NODE_HOSTNAME: node.hostname,
          NODE_ADDRESS: node.address,
          NODE_ROLE: node.role,
          FROM_VERSION: hop.from,
          FROM_SCHEMATIC: hop.fromSchematic,
          TO_VERSION: hop.to,
          SCHEMATIC: hop.schematic,
          INSTALL_IMAGE: image,
          TALOS_MINOR: hop.minor,
          TALOSCTL_SETTING: settingOf(hop),
        },
        stdinFrom: "talos-secrets",
        argv:
          hop.minor === "v1.10" || hop.minor === "v1.11" || hop.minor === "v1.12"
            ? talosctl.upgradeLegacy("${NODE_ADDRESS}")
            : talosctl.upgradeLifecycle("${NODE_ADDRESS}"),
      }),
    );
    previous = [id];
  }
  return steps;
}

function kubernetesHopStep(cfg: StackConfig, hop: KubernetesHop, after: string[]): CommandStep {
  const cp = cfg.nodes.find((n) => n.bootstrap) ?? cfg.nodes.find((n) => n.role === "controlplane")!;
  const bare = (v: string) => v.replace(/^v/, "");
  return commandStep(cfg, {
    id: upgradeStepIds.kubernetes(hop.to),
    phase: "talos",
    description:
      `${describeHop(hop)}: talosctl upgrade-k8s through ${cp.hostname} (${cp.address}) with talosctl ` +
      `${hop.talosMinor}, under the rolling lock; then every kubelet and API server on ${hop.to}, Nodes Ready, etcd whole`,
    dependsOn: [stepIds.secrets, ...after.filter((d) => d !== stepIds.secrets)],
    script: "kubernetes-upgrade",
    env: {
      CLUSTER_NAME: cfg.cluster.name,
      CLUSTER_ENDPOINT: cfg.cluster.endpoint,
      FROM_VERSION: bare(hop.from),
      TO_VERSION: bare(hop.to),
      CONTROL_PLANE_ADDRESS: cp.address,
      NODE_HOSTNAME: cp.hostname,
      NODE_ADDRESS: cp.address,
      EXPECTED_NODES: cfg.nodes.map((n) => n.hostname).join(" "),
      TALOS_MINOR: hop.talosMinor,
      TALOSCTL_SETTING: settingOf(hop),
    },
    stdinFrom: "talos-secrets",
    argv: talosctl.upgradeKubernetes("${CONTROL_PLANE_ADDRESS}"),
  });
}

/** The steps of a path, in order: each depends on the one before (the first on the secrets). */
export function upgradeSteps(cfg: StackConfig, path: CompletedPath): CommandStep[] {
  const steps: CommandStep[] = [];
  for (const hop of path.hops) {
    const after = steps.length ? [steps[steps.length - 1].id] : [stepIds.secrets];
    if (hop.kind === "talos") steps.push(...talosHopSteps(cfg, hop, path.nodes, after));
    else steps.push(kubernetesHopStep(cfg, hop, after));
  }
  return steps;
}

/** The `running` output of a successful update: every node on the target. */
export function runningOutput(cfg: StackConfig): RunningVersions {
  const schematic = schematicId(cfg);
  return {
    talos: Object.fromEntries(cfg.nodes.map((n) => [n.hostname, { version: cfg.talos.version, schematic }])),
    kubernetes: cfg.kubernetes.version,
  };
}

/** One line per hop, for the preview's log and the docs. */
export function describePath(summary: UpgradeSummary): string[] {
  return summary.path.hops.map((h, i) => `${i + 1}. ${describeHop(h)}`);
}
