/**
 * The upgrade from what the cluster runs (the stack's previous outputs) to the stack's versions:
 * the query the path search answers (config/upgradePath.ts), and the validation rule that refuses
 * a target no path reaches, or a path whose talosctl is not configured, before anything runs.
 */
import * as semver from "semver";
import { ComponentVersions } from "./compatibility";
import { keyPath, Report } from "./problems";
import type { ConfigView } from "./rules";
import { KUBERNETES_RANGE_OF_TALOS } from "./talosRules";
import { PreviousDeployment } from "./previousDeployment";
import { Hop, PathQuery, planUpgradePath, talosctlMinorsOf, describeHop } from "./upgradePath";
import { SUPPORTED_TALOS_MINORS, TalosMinor } from "./types";

/** The stack's side of an upgrade. */
export interface UpgradeTarget {
  /** vX.Y.Z */
  readonly talos: string;
  readonly kubernetes: string;
  /** The stack's schematic ID; undefined where it is not computed (validation): no schematic hop then. */
  readonly schematic?: string;
  /** The nodes of the stack, by hostname. */
  readonly hostnames: readonly string[];
  /** The stack's pins of the components beside Kubernetes. */
  readonly pins: Partial<ComponentVersions>;
}

/** What an upgrade starts from: nothing, or one version set on the nodes the stack still lists. */
export type UpgradeStart =
  | { readonly kind: "nothing runs" }
  | { readonly kind: "runs"; readonly query: PathQuery; readonly nodes: readonly string[] }
  | { readonly kind: "unplannable"; readonly message: string };

const COMPONENT_LABEL = "the versions the cluster runs until the cni, secrets and gitops phases update them";

/**
 * The path query from the previous deployment: the nodes the stack still lists that ran before
 * (nodes new to the stack are installed at the target; nodes gone from it are not upgraded).
 */
export function upgradeStart(target: UpgradeTarget, previous: PreviousDeployment): UpgradeStart {
  const running = previous.running;
  if (running === undefined) return { kind: "nothing runs" };
  const nodes = target.hostnames.filter((h) => running.talos[h] !== undefined);
  if (nodes.length === 0) return { kind: "nothing runs" };
  const versions = [...new Set(nodes.map((h) => `${running.talos[h].version} ${running.talos[h].schematic}`))];
  if (versions.length > 1) {
    return {
      kind: "unplannable",
      message:
        `the stack's outputs record different Talos versions or schematics per node (` +
        nodes.map((h) => `${h}: ${running.talos[h].version} ${running.talos[h].schematic.slice(0, 12)}…`).join(", ") +
        "); this program plans a path from one version the nodes share and never guesses: bring them to one version by hand first",
    };
  }
  const first = running.talos[nodes[0]];
  const companions = [
    { label: "the stack's pins", versions: target.pins, judgesTarget: false },
    ...(Object.keys(previous.deployed).length > 0
      ? [{ label: COMPONENT_LABEL, versions: previous.deployed, judgesTarget: true }]
      : []),
  ];
  return {
    kind: "runs",
    nodes,
    query: {
      running: { talos: first.version, schematic: first.schematic, kubernetes: running.kubernetes },
      target: { talos: target.talos, kubernetes: target.kubernetes, schematic: target.schematic ?? first.schematic },
      kubernetesRuns: previous.phasesCompleted.includes("cluster"),
      companions,
    },
  };
}

/** The talosctl run-time setting of a minor: v1.12 -> TALOSCTL_V1_12. */
export function talosctlSetting(minor: TalosMinor): string {
  return `TALOSCTL_${minor.toUpperCase().replace(/\./g, "_")}`;
}

const minorOf = (version: string | undefined): TalosMinor | undefined => {
  const v = semver.parse((version ?? "").replace(/^v/, ""));
  const minor = v === null ? undefined : `v${v.major}.${v.minor}`;
  return (SUPPORTED_TALOS_MINORS as readonly (string | undefined)[]).includes(minor)
    ? (minor as TalosMinor)
    : undefined;
};

/** The target pair is one the strict range refuses: config/talosRules.ts reports it, the path is not judged. */
function targetPairRefused(talos: string, kubernetes: string): boolean {
  const minor = minorOf(talos);
  const k = semver.parse(kubernetes.replace(/^v/, ""));
  if (minor === undefined || k === null) return true;
  const { min, max } = KUBERNETES_RANGE_OF_TALOS[minor];
  return !semver.satisfies(`${k.major}.${k.minor}.0`, `>=${min}.0 <=${max}.0`);
}

/** Every minor a path needs a talosctl of that the stack does not name. */
function missingTalosctls(
  hops: readonly Hop[],
  target: TalosMinor,
  talosctls: Readonly<Record<string, string | undefined>>,
): { minor: TalosMinor; hops: string[] }[] {
  return talosctlMinorsOf(hops)
    .filter((m) => m !== target && talosctls[m] === undefined)
    .map((minor) => ({
      minor,
      hops: hops.filter((h) => (h.kind === "talos" ? h.minor : h.talosMinor) === minor).map(describeHop),
    }));
}

/** The rule config/rules.ts calls: the path exists, and every talosctl it runs is named. */
export function checkUpgradePath(view: ConfigView, previous: PreviousDeployment | undefined, report: Report): void {
  const talos = view.talos?.version;
  const kubernetes = view.kubernetes?.version;
  const targetMinor = minorOf(talos);
  const talosctls = (view.talos?.talosctls ?? {}) as Readonly<Record<string, string | undefined>>;
  if (targetMinor !== undefined && talosctls[targetMinor] !== undefined) {
    report.invalid(
      keyPath(["talos", "talosctls", targetMinor], (i) => i === 2),
      talosctls[targetMinor],
      `names the talosctl of ${targetMinor}, the minor of talos.version: set homeops:talos.talosctl instead`,
    );
  }
  if (previous === undefined || talos === undefined || kubernetes === undefined || targetMinor === undefined) return;
  if (targetPairRefused(talos, kubernetes)) return;
  const hostnames = (view.nodes ?? []).flatMap((n) => (n?.hostname === undefined ? [] : [n.hostname]));
  const pins = {
    cilium: view.cilium?.version,
    externalSecrets: view.externalSecrets?.version,
    connect: view.connect?.version,
    flux: view.flux?.version,
    fluxOperator: view.flux?.operatorVersion,
  };
  const start = upgradeStart({ talos, kubernetes, hostnames, pins }, previous);
  if (start.kind === "nothing runs") return;
  if (start.kind === "unplannable") {
    report.invalid(keyPath(["talos", "version"]), talos, start.message);
    return;
  }
  const result = planUpgradePath(start.query);
  if (!result.ok) {
    report.invalid(keyPath(result.refusal.key.split(".")), result.refusal.value, result.refusal.message);
    return;
  }
  for (const warning of result.warnings) report.warn(keyPath(["kubernetes", "version"]), kubernetes, warning);
  for (const { minor, hops } of missingTalosctls(result.hops, targetMinor, talosctls)) {
    report.invalid(
      keyPath(["talos", "talosctls"]),
      talosctls,
      `the upgrade path runs talosctl ${minor} (${hops.join("; ")}), and none is named for it: set ` +
        `homeops:talos.talosctls["${minor}"] to a talosctl ${minor}.x (pulumi config set --path 'homeops:talos.talosctls["${minor}"]' <executable>)`,
    );
  }
}
