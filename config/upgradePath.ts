/**
 * One planned path from the versions a cluster runs to the stack's: Talos hops the installer
 * allows, Kubernetes one minor at a time, interleaved so that every (Talos, Kubernetes) pair on
 * the way is one the Talos minor runs and every Kubernetes version on the way fits the versions
 * beside it (compatibility.json). Pure: the versions in, the hops (or why none reaches the target)
 * out. It lives in config/ because config validation refuses a target no path reaches, before
 * anything runs (and config/ imports nothing above it); the plan turns the hops into steps.
 *
 * Rules, with their sources:
 * - a Talos hop goes to a later minor whose installer upgrades from the version the nodes run
 *   (upgrades.json talos.<minor>.upgradeableFrom: compatibility/talos1NN MinimumHostUpgradeVersion),
 *   to that minor's catalogue patch, or to the stack's talos.version on its own minor; a schematic
 *   change is an upgrade too, to the same version when nothing else moves;
 * - a Kubernetes hop goes one minor up (siderolabs/go-kubernetes kubernetes/upgrade/path.go
 *   IsSupported: X->X and X->X+1 only), to that minor's catalogue patch, or to the stack's
 *   kubernetes.version on its own minor;
 * - every pair on the way is in upgrades.json talos.<minor>.kubernetes (the enforced range);
 * - never down: a target below what runs is refused.
 * Deterministic: the fewest hops; among paths as short, a Talos hop before a Kubernetes hop and a
 * newer Talos minor before an older one, at the first place two paths differ.
 */
import * as semver from "semver";
import catalogueJson from "../upgrades.json";
import { COMPATIBILITY, ComponentVersions, incompatibilities } from "./compatibility";
import { SUPPORTED_TALOS_MINORS, TalosMinor } from "./types";

export interface VersionCatalogue {
  readonly talos: Readonly<
    Record<
      string,
      {
        readonly version: string;
        readonly upgradeableFrom: string;
        readonly kubernetes: { readonly min: string; readonly max: string };
        readonly source: string;
      }
    >
  >;
  readonly kubernetes: Readonly<Record<string, { readonly version: string; readonly source: string }>>;
}

export const CATALOGUE: VersionCatalogue = catalogueJson as VersionCatalogue;

/** A Talos upgrade of every running node, one at a time, with the talosctl of `minor`. */
export interface TalosHop {
  readonly kind: "talos";
  /** The version the nodes run before the hop (vX.Y.Z). */
  readonly from: string;
  readonly to: string;
  /** The minor of `to`: its installer, its talosctl. */
  readonly minor: TalosMinor;
  /** The Image Factory schematic the nodes run before the hop, and the one the hop installs. */
  readonly fromSchematic: string;
  readonly schematic: string;
  /** The Kubernetes version the cluster runs during the hop (vX.Y.Z). */
  readonly kubernetes: string;
}

/** `talosctl upgrade-k8s --from --to`, run once for the cluster with the talosctl of `talosMinor`. */
export interface KubernetesHop {
  readonly kind: "kubernetes";
  readonly from: string;
  readonly to: string;
  /** The Talos minor the nodes run during the hop (its talosctl runs upgrade-k8s). */
  readonly talosMinor: TalosMinor;
  readonly talos: string;
}

export type Hop = TalosHop | KubernetesHop;

/** What a cluster runs, or what the stack wants it to run. */
export interface VersionSet {
  /** vX.Y.Z */
  readonly talos: string;
  readonly schematic: string;
  /** vX.Y.Z */
  readonly kubernetes: string;
}

export interface PathQuery {
  readonly running: VersionSet;
  readonly target: VersionSet;
  /**
   * Kubernetes runs (an earlier update completed the cluster phase), so it moves through
   * upgrade-k8s one minor at a time. Otherwise no control plane serves it yet: the nodes simply
   * get the target version in their config, and only the Talos hops are planned.
   */
  readonly kubernetesRuns: boolean;
  /**
   * Versions each Kubernetes version of the path must fit (compatibility.json): the stack's own
   * pins, and the ones the cluster runs until the later phases update them.
   */
  readonly companions: readonly {
    readonly label: string;
    readonly versions: Partial<ComponentVersions>;
    /** Also judge the target Kubernetes version (the stack's own pins are judged by config/rules.ts). */
    readonly judgesTarget: boolean;
  }[];
}

export interface PathRefusal {
  /** The stack key the refusal is reported at. */
  readonly key: "talos.version" | "kubernetes.version";
  readonly value: string;
  readonly message: string;
}

export type PathResult =
  | { readonly ok: true; readonly hops: readonly Hop[]; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly refusal: PathRefusal };

const bare = (version: string): string => version.replace(/^v/, "");
const withV = (version: string): string => (version.startsWith("v") ? version : `v${version}`);
const minorOf = (version: string): string => {
  const v = semver.parse(bare(version));
  return v === null ? "" : `${v.major}.${v.minor}`;
};
const talosMinorOf = (version: string): string => `v${minorOf(version)}`;
const minorNumber = (minor: string): number => Number(minor.replace(/^v?\d+\./, ""));
const newer = (a: string, b: string): boolean => semver.gt(bare(a), bare(b));
const isTalosMinor = (minor: string): minor is TalosMinor =>
  (SUPPORTED_TALOS_MINORS as readonly string[]).includes(minor);

/** Which constraints a search applies (the diagnosis relaxes them one by one). */
interface Constraints {
  readonly catalogue: boolean;
  readonly compatibility: boolean;
  readonly ranges: boolean;
}
const STRICT: Constraints = { catalogue: true, compatibility: true, ranges: true };

interface State {
  readonly talos: string;
  readonly schematic: string;
  readonly kubernetes: string;
}

interface Move {
  readonly hop: Hop;
  readonly next: State;
  /** Why the move breaks a constraint (only under relaxed constraints; undefined when it breaks none). */
  readonly breaks?: string;
}

/** The Kubernetes minors a Talos minor runs on the way (upgrades.json), as numbers. */
function kubernetesRange(cat: VersionCatalogue, talosMinor: string): { min: number; max: number } | undefined {
  const entry = cat.talos[talosMinor];
  return entry === undefined
    ? undefined
    : { min: minorNumber(entry.kubernetes.min), max: minorNumber(entry.kubernetes.max) };
}

function pairProblem(cat: VersionCatalogue, talos: string, kubernetes: string): string | undefined {
  const range = kubernetesRange(cat, talosMinorOf(talos));
  const k = minorNumber(minorOf(kubernetes));
  if (range !== undefined && k >= range.min && k <= range.max) return undefined;
  const runs = range === undefined ? "no Kubernetes this program knows" : `Kubernetes 1.${range.min} to 1.${range.max}`;
  return `Talos ${talos} with Kubernetes ${kubernetes} is not a pair Talos ${talosMinorOf(talos)} runs (${runs}; upgrades.json)`;
}

const KUBERNETES_PAIRS = new Set(
  COMPATIBILITY.pairs.filter((p) => p.subject === "kubernetes" || p.other === "kubernetes").map((p) => p.id),
);

/**
 * The compatibility refusals and warnings of one Kubernetes version on the way against each
 * companion set. Only what the Kubernetes version decides counts: a pair with Kubernetes, and a
 * companion version the table does not know is the companion's business (the stack's own pins are
 * judged by config/rules.ts checkVersionCompatibility, which also judges the target version).
 */
function companionProblems(q: PathQuery, kubernetes: string): { refusals: string[]; warnings: string[] } {
  const refusals: string[] = [];
  const warnings: string[] = [];
  for (const companion of q.companions) {
    if (kubernetes === q.target.kubernetes && !companion.judgesTarget) continue;
    for (const p of incompatibilities({ ...companion.versions, kubernetes })) {
      if (!KUBERNETES_PAIRS.has(p.pair)) continue;
      if (p.kind === "unknown" && p.key !== COMPATIBILITY.components.kubernetes.key) continue;
      const text = `Kubernetes ${kubernetes} with ${companion.label}: ${p.message}`;
      (p.severity === "warn" ? warnings : refusals).push(text);
    }
  }
  return { refusals, warnings };
}

function talosMoves(q: PathQuery, s: State, c: Constraints, cat: VersionCatalogue): Move[] {
  const current = talosMinorOf(s.talos);
  const targetMinor = talosMinorOf(q.target.talos);
  const moves: Move[] = [];
  for (const minor of [...SUPPORTED_TALOS_MINORS].reverse()) {
    if (minorNumber(minor) < minorNumber(current) || minorNumber(minor) > minorNumber(targetMinor)) continue;
    const entry = cat.talos[minor];
    if (entry === undefined) continue;
    const to = minor === targetMinor ? q.target.talos : entry.version;
    const schematicOnly = to === s.talos;
    if (newer(s.talos, to)) continue;
    if (schematicOnly && (to !== q.target.talos || s.schematic === q.target.schematic)) continue;
    if (semver.lt(bare(s.talos), bare(entry.upgradeableFrom))) continue;
    const breaks = c.ranges ? undefined : pairProblem(cat, to, s.kubernetes);
    if (c.ranges && pairProblem(cat, to, s.kubernetes) !== undefined) continue;
    moves.push({
      hop: {
        kind: "talos",
        from: s.talos,
        to,
        minor,
        fromSchematic: s.schematic,
        schematic: q.target.schematic,
        kubernetes: s.kubernetes,
      },
      next: { talos: to, schematic: q.target.schematic, kubernetes: s.kubernetes },
      breaks,
    });
  }
  return moves;
}

function kubernetesMoves(q: PathQuery, s: State, c: Constraints, cat: VersionCatalogue): Move[] {
  if (!q.kubernetesRuns || s.kubernetes === q.target.kubernetes) return [];
  const currentMinor = minorNumber(minorOf(s.kubernetes));
  const targetMinor = minorNumber(minorOf(q.target.kubernetes));
  const nextMinor = currentMinor === targetMinor ? currentMinor : currentMinor + 1;
  let to: string;
  let breaks: string | undefined;
  if (nextMinor === targetMinor) to = q.target.kubernetes;
  else {
    const entry = cat.kubernetes[`1.${nextMinor}`];
    if (entry === undefined && c.catalogue) return [];
    to = entry?.version ?? `v1.${nextMinor}.0`;
    if (entry === undefined)
      breaks = `no known Kubernetes 1.${nextMinor} patch to pass through (upgrades.json lists none)`;
  }
  if (!newer(to, s.kubernetes)) return [];
  const pair = pairProblem(cat, s.talos, to);
  if (pair !== undefined) {
    if (c.ranges) return [];
    breaks = breaks ?? pair;
  }
  const fit = companionProblems(q, to);
  if (fit.refusals.length > 0) {
    if (c.compatibility) return [];
    breaks = breaks ?? fit.refusals[0];
  }
  const talosMinor = talosMinorOf(s.talos);
  if (!isTalosMinor(talosMinor)) return [];
  return [
    {
      hop: { kind: "kubernetes", from: s.kubernetes, to, talosMinor, talos: s.talos },
      next: { ...s, kubernetes: to },
      breaks,
    },
  ];
}

/** Every move from a state, in tie-break order: Talos hops (newer minor first), then Kubernetes. */
function movesFrom(q: PathQuery, s: State, c: Constraints, cat: VersionCatalogue): Move[] {
  return [...talosMoves(q, s, c, cat), ...kubernetesMoves(q, s, c, cat)];
}

function atTarget(q: PathQuery, s: State): boolean {
  return (
    s.talos === q.target.talos &&
    s.schematic === q.target.schematic &&
    (!q.kubernetesRuns || s.kubernetes === q.target.kubernetes)
  );
}

/**
 * The fewest-hops path under the given constraints (the first in tie-break order), or undefined.
 * Every move raises a version or installs the target schematic, so the states form a finite DAG:
 * the distance to the target is computed once per state, then the path follows the first move
 * that keeps it shortest.
 */
function search(q: PathQuery, c: Constraints, cat: VersionCatalogue): Move[] | undefined {
  const distance = new Map<string, number>();
  const key = (s: State) => `${s.talos}|${s.schematic}|${s.kubernetes}`;
  const dist = (s: State): number => {
    const k = key(s);
    const known = distance.get(k);
    if (known !== undefined) return known;
    const d = atTarget(q, s) ? 0 : Math.min(Infinity, ...movesFrom(q, s, c, cat).map((m) => 1 + dist(m.next)));
    distance.set(k, d);
    return d;
  };
  let state: State = { ...q.running };
  if (!Number.isFinite(dist(state))) return undefined;
  const path: Move[] = [];
  while (!atTarget(q, state)) {
    const here = dist(state);
    const move = movesFrom(q, state, c, cat).find((m) => dist(m.next) === here - 1);
    if (move === undefined) throw new Error("internal: upgrade path search lost its way");
    path.push(move);
    state = move.next;
  }
  return path;
}

export function describeHop(hop: Hop): string {
  return hop.kind === "talos"
    ? hop.from === hop.to
      ? `Talos ${hop.to} with schematic ${hop.schematic.slice(0, 12)}… (was ${hop.fromSchematic.slice(0, 12)}…)`
      : `Talos ${hop.from} → ${hop.to}`
    : `Kubernetes ${hop.from} → ${hop.to}`;
}

function preconditions(q: PathQuery, cat: VersionCatalogue): PathRefusal | undefined {
  const runningMinor = talosMinorOf(q.running.talos);
  if (!isTalosMinor(runningMinor) || cat.talos[runningMinor] === undefined) {
    return {
      key: "talos.version",
      value: q.target.talos,
      message:
        `the cluster runs Talos ${q.running.talos} (the stack's outputs), a minor this program carries no contract ` +
        `for (${SUPPORTED_TALOS_MINORS.join(", ")}): upgrade it by hand to one of them first`,
    };
  }
  if (newer(q.running.talos, q.target.talos)) {
    return {
      key: "talos.version",
      value: q.target.talos,
      message:
        `is older than the Talos ${q.running.talos} the cluster runs (the stack's outputs): this program never ` +
        `downgrades Talos; set ${q.running.talos} or newer`,
    };
  }
  if (q.kubernetesRuns && newer(q.running.kubernetes, q.target.kubernetes)) {
    return {
      key: "kubernetes.version",
      value: q.target.kubernetes,
      message:
        `is below the Kubernetes ${q.running.kubernetes} the cluster runs (the stack's outputs): upgrade-k8s moves ` +
        `one minor up at a time and never down (go-kubernetes upgrade/path.go); set ${q.running.kubernetes} or newer`,
    };
  }
  return undefined;
}

function refusalFor(q: PathQuery, cat: VersionCatalogue): PathRefusal {
  const ends = `from Talos ${q.running.talos} + Kubernetes ${q.running.kubernetes} to ${q.target.talos} + ${q.target.kubernetes}`;
  const relaxations: { constraints: Constraints; fix: string }[] = [
    {
      constraints: { catalogue: false, compatibility: true, ranges: true },
      fix: "add a patch of that minor, with its source, to upgrades.json",
    },
    {
      constraints: { catalogue: false, compatibility: false, ranges: true },
      fix: "upgrade what blocks it first (its own pulumi up), or pick versions that fit every step",
    },
    {
      constraints: { catalogue: false, compatibility: false, ranges: false },
      fix: "reach the target in smaller steps (one pulumi up each)",
    },
  ];
  for (const { constraints, fix } of relaxations) {
    const path = search(q, constraints, cat);
    const blocking = path?.find((m) => m.breaks !== undefined);
    if (path === undefined || blocking === undefined) continue;
    const step = path.indexOf(blocking) + 1;
    return {
      key: blocking.hop.kind === "kubernetes" ? "kubernetes.version" : "talos.version",
      value: blocking.hop.kind === "kubernetes" ? q.target.kubernetes : q.target.talos,
      message:
        `no upgrade path ${ends}: the shortest one would pass through ${describeHop(blocking.hop)} ` +
        `(hop ${step} of ${path.length}), but ${blocking.breaks}; ${fix}`,
    };
  }
  return {
    key: "talos.version",
    value: q.target.talos,
    message:
      `no upgrade path ${ends}: no sequence of Talos hops the installers allow ` +
      `(upgrades.json upgradeableFrom) reaches it`,
  };
}

/** The hops from what runs to the target (none when they are equal), or why no path reaches it. */
export function planUpgradePath(q: PathQuery, cat: VersionCatalogue = CATALOGUE): PathResult {
  const running = { ...q.running, talos: withV(q.running.talos), kubernetes: withV(q.running.kubernetes) };
  const target = { ...q.target, talos: withV(q.target.talos), kubernetes: withV(q.target.kubernetes) };
  const query: PathQuery = { ...q, running, target };
  const refused = preconditions(query, cat);
  if (refused !== undefined) return { ok: false, refusal: refused };
  const path = search(query, STRICT, cat);
  if (path === undefined) return { ok: false, refusal: refusalFor(query, cat) };
  const warnings = path.flatMap((m) =>
    m.hop.kind === "kubernetes" ? companionProblems(query, m.hop.to).warnings : [],
  );
  return { ok: true, hops: path.map((m) => m.hop), warnings: [...new Set(warnings)] };
}

/** The Talos minors whose talosctl the hops run with (a Talos hop: its own; upgrade-k8s: the running one). */
export function talosctlMinorsOf(hops: readonly Hop[]): TalosMinor[] {
  const minors = new Set<TalosMinor>(hops.map((h) => (h.kind === "talos" ? h.minor : h.talosMinor)));
  return SUPPORTED_TALOS_MINORS.filter((m) => minors.has(m));
}
