/**
 * What the stack's last successful update left behind, parsed from its own outputs (the JSON of
 * `pulumi stack output --json`, or what components/previousDeployment.ts reads through a
 * StackReference to the stack itself). Pure, so the program, the offline render, the docs and the
 * tests read the outputs the same way.
 *
 * The outputs are written only by an update that succeeded: the Node.js SDK registers the stack's
 * outputs in one RegisterResourceOutputs call once every value resolved (@pulumi/pulumi runtime/
 * stack.ts), and `phasesCompleted` resolves only when every phase's gate passed; a failed update
 * leaves the previous outputs in place (the engine's SameStep keeps the old outputs: pulumi
 * v3.248.0 pkg/resource/deploy/step.go). So a re-run after a failure reads the versions the path
 * started from, recomputes the same path, and its completed steps do not run again.
 */
import { ComponentVersions } from "./compatibility";
import { Hop } from "./upgradePath";
import { SUPPORTED_TALOS_MINORS, TalosMinor } from "./types";

/** The names of the outputs this module reads (and components/stack.ts writes). */
export const OUTPUTS = {
  running: "running",
  upgradePath: "upgradePath",
} as const;

export interface RunningNode {
  /** vX.Y.Z */
  readonly version: string;
  /** Image Factory schematic ID. */
  readonly schematic: string;
}

export interface RunningVersions {
  /** Per hostname: the Talos version and schematic the node runs. */
  readonly talos: Readonly<Record<string, RunningNode>>;
  /** The Kubernetes version the nodes' configs carry (vX.Y.Z). */
  readonly kubernetes: string;
}

/** An upgrade path as the outputs record it: its hops and the nodes its Talos hops upgraded. */
export interface CompletedPath {
  readonly nodes: readonly string[];
  readonly hops: readonly Hop[];
}

export interface PreviousDeployment {
  readonly phasesDeclared: readonly string[];
  readonly phasesCompleted: readonly string[];
  /** What the nodes run; absent on a new stack (nodes are installed straight at the target). */
  readonly running?: RunningVersions;
  /** The last completed path: declared again while what runs is the target (none: empty hops). */
  readonly lastPath: CompletedPath;
  /** The versions the later phases last deployed (only those whose phase completed). */
  readonly deployed: Partial<ComponentVersions>;
}

/** A new stack: nothing declared, nothing runs. */
export const NEW_STACK: PreviousDeployment = {
  phasesDeclared: [],
  phasesCompleted: [],
  lastPath: { nodes: [], hops: [] },
  deployed: {},
};

/** Stack outputs that are there but cannot be read: never guessed around. */
export class PreviousOutputsUnreadable extends Error {
  constructor(output: string, why: string) {
    super(
      `the stack's previous output '${output}' ${why}: the program plans upgrades from it and will not guess what ` +
        "the cluster runs (export it with `pulumi stack output --json` to see it)",
    );
    this.name = "PreviousOutputsUnreadable";
  }
}

type Json = Readonly<Record<string, unknown>>;

const TALOS_VERSION = /^v\d+\.\d+\.\d+$/;
const KUBERNETES_VERSION = /^v?\d+\.\d+\.\d+$/;
const SCHEMATIC = /^[0-9a-f]{64}$/;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((p): p is string => typeof p === "string") : []);
const withV = (v: string) => (v.startsWith("v") ? v : `v${v}`);
const isTalosMinor = (m: unknown): m is TalosMinor =>
  typeof m === "string" && (SUPPORTED_TALOS_MINORS as readonly string[]).includes(m);

function runningNode(value: unknown, where: string): RunningNode {
  if (!isObject(value) || typeof value.version !== "string" || !TALOS_VERSION.test(value.version))
    throw new PreviousOutputsUnreadable(OUTPUTS.running, `has no Talos version vX.Y.Z at ${where}`);
  if (typeof value.schematic !== "string" || !SCHEMATIC.test(value.schematic))
    throw new PreviousOutputsUnreadable(OUTPUTS.running, `has no schematic ID at ${where}`);
  return { version: value.version, schematic: value.schematic };
}

/** `running` as this program writes it. */
function parseRunning(value: unknown): RunningVersions {
  if (!isObject(value) || !isObject(value.talos))
    throw new PreviousOutputsUnreadable(
      OUTPUTS.running,
      "is not { talos: { <host>: { version, schematic } }, kubernetes }",
    );
  const talos = Object.fromEntries(
    Object.entries(value.talos).map(([host, node]) => [host, runningNode(node, `talos.${host}`)]),
  );
  if (typeof value.kubernetes !== "string" || !KUBERNETES_VERSION.test(value.kubernetes))
    throw new PreviousOutputsUnreadable(OUTPUTS.running, "has no Kubernetes version vX.Y.Z");
  return { talos, kubernetes: withV(value.kubernetes) };
}

/**
 * Outputs of a program from before `running` existed: every node listed in `nodes` ran
 * `talosVersion` with `schematicId` (one installer image for all), Kubernetes `kubernetesVersion`.
 */
function legacyRunning(outputs: Json): RunningVersions | undefined {
  const { talosVersion, schematicId, kubernetesVersion, nodes } = outputs;
  if (talosVersion === undefined && nodes === undefined) return undefined;
  if (typeof talosVersion !== "string" || !TALOS_VERSION.test(talosVersion))
    throw new PreviousOutputsUnreadable("talosVersion", "is not a Talos version vX.Y.Z");
  if (typeof schematicId !== "string" || !SCHEMATIC.test(schematicId))
    throw new PreviousOutputsUnreadable("schematicId", "is not a schematic ID");
  if (typeof kubernetesVersion !== "string" || !KUBERNETES_VERSION.test(kubernetesVersion))
    throw new PreviousOutputsUnreadable("kubernetesVersion", "is not a Kubernetes version vX.Y.Z");
  if (!Array.isArray(nodes) || nodes.some((n) => !isObject(n) || typeof n.hostname !== "string"))
    throw new PreviousOutputsUnreadable("nodes", "is not a list of nodes with hostnames");
  const talos = Object.fromEntries(
    (nodes as Json[]).map((n) => [n.hostname as string, { version: talosVersion, schematic: schematicId }]),
  );
  return { talos, kubernetes: withV(kubernetesVersion) };
}

function parseHop(value: unknown, index: number): Hop {
  const bad = (why: string) => new PreviousOutputsUnreadable(OUTPUTS.upgradePath, `hop ${index + 1} ${why}`);
  if (!isObject(value)) throw bad("is not an object");
  const version = (key: string, pattern: RegExp): string => {
    const v = value[key];
    if (typeof v !== "string" || !pattern.test(v)) throw bad(`has no ${key}`);
    return v;
  };
  if (value.kind === "talos") {
    if (!isTalosMinor(value.minor)) throw bad("names no supported Talos minor");
    return {
      kind: "talos",
      from: version("from", TALOS_VERSION),
      to: version("to", TALOS_VERSION),
      minor: value.minor,
      fromSchematic: version("fromSchematic", SCHEMATIC),
      schematic: version("schematic", SCHEMATIC),
      kubernetes: version("kubernetes", KUBERNETES_VERSION),
    };
  }
  if (value.kind === "kubernetes") {
    if (!isTalosMinor(value.talosMinor)) throw bad("names no supported Talos minor");
    return {
      kind: "kubernetes",
      from: version("from", KUBERNETES_VERSION),
      to: version("to", KUBERNETES_VERSION),
      talosMinor: value.talosMinor,
      talos: version("talos", TALOS_VERSION),
    };
  }
  throw bad("is neither a talos nor a kubernetes hop");
}

function parseLastPath(value: unknown): CompletedPath {
  if (value === undefined || value === null) return { nodes: [], hops: [] };
  if (!isObject(value) || !Array.isArray(value.hops) || !Array.isArray(value.nodes))
    throw new PreviousOutputsUnreadable(OUTPUTS.upgradePath, "is not { nodes: [...], hops: [...] }");
  if (value.nodes.some((n) => typeof n !== "string"))
    throw new PreviousOutputsUnreadable(OUTPUTS.upgradePath, "lists a node that is not a hostname");
  return { nodes: value.nodes as string[], hops: value.hops.map(parseHop) };
}

/** The component versions each completed phase deployed (outputs named as components/stack.ts writes them). */
function deployedVersions(outputs: Json, completed: readonly string[]): Partial<ComponentVersions> {
  const text = (key: string) => (typeof outputs[key] === "string" ? (outputs[key] as string) : undefined);
  const deployed: Record<string, string | undefined> = {};
  if (completed.includes("cni")) deployed.cilium = text("ciliumVersion");
  if (completed.includes("secrets")) {
    deployed.externalSecrets = text("externalSecretsVersion");
    deployed.connect = text("connectVersion");
  }
  if (completed.includes("gitops")) {
    deployed.flux = text("fluxVersion");
    deployed.fluxOperator = text("fluxOperatorVersion");
  }
  return Object.fromEntries(Object.entries(deployed).filter(([, v]) => v !== undefined)) as Partial<ComponentVersions>;
}

/** The previous deployment from the stack's outputs (`{}` on a new stack). */
export function parsePreviousDeployment(outputs: unknown): PreviousDeployment {
  if (outputs === undefined || outputs === null) return NEW_STACK;
  if (!isObject(outputs)) throw new PreviousOutputsUnreadable("(all)", "are not an object");
  const phasesCompleted = strings(outputs.phasesCompleted);
  const running =
    outputs[OUTPUTS.running] === undefined ? legacyRunning(outputs) : parseRunning(outputs[OUTPUTS.running]);
  return {
    phasesDeclared: strings(outputs.phasesDeclared),
    phasesCompleted,
    ...(running === undefined ? {} : { running }),
    lastPath: parseLastPath(outputs[OUTPUTS.upgradePath]),
    deployed: deployedVersions(outputs, phasesCompleted),
  };
}
