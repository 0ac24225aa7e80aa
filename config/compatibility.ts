/**
 * Versions that fit together: the pairs of `compatibility.json` (repository root, next to
 * renovate.json, each row with its source) judged against the stack's pinned versions. Pure: the
 * Kubernetes version is a parameter like every other, so an upgrade path can be checked one
 * Kubernetes version at a time with the same function.
 */
import * as semver from "semver";
import table from "../compatibility.json";

export type ComponentId = "kubernetes" | "cilium" | "externalSecrets" | "connect" | "flux" | "fluxOperator";

/** The stack's versions as written in the stack file (a leading `v` is allowed). */
export type ComponentVersions = Readonly<Record<ComponentId, string>>;

export interface Component {
  /** The stack key that pins it, e.g. `homeops:flux.operatorVersion`. */
  readonly key: string;
  readonly name: string;
  /** The name its Renovate manager gives it (renovate.json). */
  readonly renovateDepName: string;
}

/** One fact: these versions of the pair's subject run with these versions of the other side. */
export type CompatibilityRow = Readonly<Partial<Record<ComponentId, string>>> & { readonly source: string };

export interface CompatibilityPair {
  readonly id: string;
  readonly subject: ComponentId;
  readonly other: ComponentId;
  /** How the subject relates to the other, for messages: "carries", "runs on", "serves". */
  readonly relation: string;
  /**
   * `refuse` (the default): the pair cannot run together (the operator, Helm or the software itself
   * refuses it). `warn`: outside what the project supports, but it runs (an advisory floor).
   */
  readonly severity?: "refuse" | "warn";
  /** What goes wrong with a pair no row allows, in one sentence (the problem message). */
  readonly effect: string;
  /** The longer reasoning behind the rows (documentation only). */
  readonly why: string;
  readonly rows: readonly CompatibilityRow[];
  /**
   * Versions outside every row that are known not to fit (below a stated floor, a Flux release no
   * operator carries), per side. A version neither here nor in a row is unknown to the table.
   */
  readonly known?: Readonly<Partial<Record<ComponentId, string>>>;
}

export interface CompatibilityTable {
  readonly components: Readonly<Record<ComponentId, Component>>;
  readonly pairs: readonly CompatibilityPair[];
}

export const COMPATIBILITY: CompatibilityTable = table as CompatibilityTable;

export interface Problem {
  readonly pair: string;
  /** `incompatible`: no row allows the two versions; `unknown`: no row of the pair covers this version. */
  readonly kind: "incompatible" | "unknown";
  /** From the pair: a refusal stops the program before anything runs; a warning is reported. */
  readonly severity: "refuse" | "warn";
  /** The key the problem is reported at (the pair's subject, or the version the table lacks). */
  readonly key: string;
  readonly value: string;
  readonly message: string;
}

/** "v1.31.1" → "1.31.1"; undefined when it is no semver version. */
function bare(version: string): string | undefined {
  return semver.valid(version.trim().replace(/^v(?=\d)/, "")) ?? undefined;
}

function inRange(version: string, range: string | undefined): boolean {
  return range !== undefined && semver.satisfies(version, range);
}

/** "1.17.0" + "1.18.0" → "1.17.x"; "1.29.0" + "1.33.0" → "1.29.x to 1.32.x"; undefined otherwise. */
function wholeMinors(low: string, below: string): string | undefined {
  const [from, to] = [semver.parse(low), semver.parse(below)];
  if (from === null || to === null || from.patch !== 0 || to.patch !== 0 || from.major !== to.major) return undefined;
  if (to.minor <= from.minor) return undefined;
  const last = `${to.major}.${to.minor - 1}.x`;
  return to.minor - from.minor === 1 ? last : `${from.major}.${from.minor}.x to ${last}`;
}

/** A node-semver range as people read it: ">=0.43.0 <=0.58.1" → "0.43.0 to 0.58.1". */
export function describeRange(range: string): string {
  const alternatives = new semver.Range(range).set.map((comparators) => {
    const by = (op: string) => comparators.find((c) => c.operator === op)?.semver.version;
    const [atLeast, atMost, below, exactly] = [by(">="), by("<="), by("<"), by("")];
    if (exactly !== undefined && comparators.length === 1) return exactly;
    if (atLeast !== undefined && atMost !== undefined) return `${atLeast} to ${atMost}`;
    if (atLeast !== undefined && below !== undefined)
      return wholeMinors(atLeast, below) ?? `${atLeast} to below ${below}`;
    if (atLeast !== undefined && comparators.length === 1) return `${atLeast} or newer`;
    return comparators.map((c) => c.value).join(" ");
  });
  return alternatives.join(", ");
}

function unique(texts: readonly string[]): string[] {
  return [...new Set(texts)];
}

/** The problems of one pair; nothing when a version is missing or is no version (reported elsewhere). */
function pairProblems(pair: CompatibilityPair, versions: Partial<ComponentVersions>, table: CompatibilityTable) {
  const { subject, other } = pair;
  const s = { ...table.components[subject], raw: versions[subject], version: bare(versions[subject] ?? "") };
  const o = { ...table.components[other], raw: versions[other], version: bare(versions[other] ?? "") };
  if (s.raw === undefined || o.raw === undefined || s.version === undefined || o.version === undefined) return [];
  const [sv, ov] = [s.version, o.version];
  const problems: Problem[] = [];
  const unknown = (side: typeof s, id: ComponentId): void => {
    const covered = unique(pair.rows.flatMap((row) => (row[id] === undefined ? [] : [describeRange(row[id])])));
    problems.push({
      pair: pair.id,
      kind: "unknown",
      severity: pair.severity ?? "refuse",
      key: side.key,
      value: side.raw ?? "",
      message:
        `${side.name} ${side.version} is not in the compatibility table for ${table.components[subject].name} ↔ ` +
        `${table.components[other].name} (compatibility.json "${pair.id}" covers ${covered.join("; ")}): ` +
        `add a row with its source before using this version`,
    });
  };
  const known = (version: string, id: ComponentId): boolean =>
    inRange(version, pair.known?.[id]) || pair.rows.some((row) => inRange(version, row[id]));
  const subjectKnown = known(sv, subject);
  const otherKnown = known(ov, other);
  if (!subjectKnown) unknown(s, subject);
  if (!otherKnown) unknown(o, other);
  if (!subjectKnown || !otherKnown) return problems;
  if (pair.rows.some((row) => inRange(sv, row[subject]) && inRange(ov, row[other]))) return [];
  const subjectFits = pair.rows.filter((row) => inRange(ov, row[other]));
  const otherFits = pair.rows.filter((row) => inRange(sv, row[subject]));
  const sources = unique([...otherFits, ...subjectFits].map((row) => row.source));
  const ranges = (rows: readonly CompatibilityRow[], id: ComponentId) =>
    unique(rows.map((row) => describeRange(row[id] ?? "*"))).join("; ");
  const fits = [
    subjectFits.length === 0
      ? `no ${s.name} in the table ${pair.relation} ${o.name} ${o.version}`
      : `${s.key} ${ranges(subjectFits, subject)} (${pair.relation} ${o.name} ${o.version})`,
    otherFits.length === 0
      ? `no ${o.name} in the table fits ${s.name} ${s.version}`
      : `${o.key} ${ranges(otherFits, other)} (with ${s.name} ${s.version})`,
  ];
  problems.push({
    pair: pair.id,
    kind: "incompatible",
    severity: pair.severity ?? "refuse",
    key: s.key,
    value: s.raw,
    message:
      `${s.name} ${s.version} does not fit ${o.key} = ${JSON.stringify(o.raw)}: ${pair.effect} ` +
      `A version that fits: ${fits.join("; or ")}. Source: ${sources.join("; ")} (compatibility.json "${pair.id}")`,
  });
  return problems;
}

/**
 * Every pair of the table whose pinned versions no row allows, and every version a pair's rows do
 * not cover. The Kubernetes version is one of the inputs: evaluate it per step of an upgrade path.
 */
export function incompatibilities(
  versions: Partial<ComponentVersions>,
  compatibility: CompatibilityTable = COMPATIBILITY,
): Problem[] {
  return compatibility.pairs.flatMap((pair) => pairProblems(pair, versions, compatibility));
}
