/**
 * Problems as users read them: `homeops:<key path> = <value as JSON>: <what is allowed>`, or
 * `... is required but missing: <fix>`, or an unknown key with its closest known one. Turns zod's
 * issues into such lines, and gives the cross-field rules the same vocabulary (`Report`).
 */
import { closest, distance } from "fastest-levenshtein";
import type * as z from "zod";
import { CONFIG_NAMESPACE } from "./schema";

const MAX_SHOWN_VALUE_LENGTH = 120;

export function showValue(value: unknown): string {
  if (value === undefined) return "undefined";
  let json: string;
  try {
    json = JSON.stringify(value) ?? String(value);
  } catch {
    json = String(value);
  }
  return json.length > MAX_SHOWN_VALUE_LENGTH ? `${json.slice(0, MAX_SHOWN_VALUE_LENGTH)}…` : json;
}

/** The known key a typo most likely meant (case-insensitive, at most two edits away). */
export function closestKnownKey(key: string, allowedKeys: readonly string[]): string | undefined {
  if (allowedKeys.length === 0) return undefined;
  const lowerCase = allowedKeys.map((candidate) => candidate.toLowerCase());
  const best = closest(key.toLowerCase(), lowerCase);
  return distance(key.toLowerCase(), best) <= 2 ? allowedKeys[lowerCase.indexOf(best)] : undefined;
}

/** Collects problems (the config is rejected) and warnings (it is accepted) in the one format. */
export class Report {
  readonly problems: string[] = [];
  readonly warnings: string[] = [];
  private readonly pathsWithProblems = new Set<string>();

  invalid(path: string, value: unknown, explanation: string): void {
    this.pathsWithProblems.add(path);
    this.problems.push(`${path} = ${showValue(value)}: ${explanation}`);
  }

  /** Says nothing if the key already has a problem: then it is there, just not usable. */
  missing(path: string, fix: string): void {
    if (this.pathsWithProblems.has(path)) return;
    this.pathsWithProblems.add(path);
    this.problems.push(`${path} is required but missing: ${fix}`);
  }

  /** The value of an unknown key is not echoed: it may be a misplaced secret. */
  unknownKey(path: string, key: string, allowedKeys: readonly string[]): void {
    const suggestion = closestKnownKey(key, allowedKeys);
    this.problems.push(
      `${path} is not a known key${suggestion === undefined ? "" : ` (did you mean "${suggestion}"?)`}; ` +
        `allowed keys here: ${allowedKeys.join(", ")}`,
    );
  }

  /** A secret setting written in plain text: the value is not echoed. */
  plainTextSecret(path: string, fix: string): void {
    this.problems.push(`${path} is a secret but is stored in plain text: ${fix}`);
  }

  warn(path: string, value: unknown, explanation: string): void {
    this.warnings.push(`${path} = ${showValue(value)}: ${explanation}`);
  }
}

export type PathSegment = string | number;

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * `["nodes", 1, "address"]` → `homeops:nodes[1].address`; keys of maps (`sysctls["vm.swappiness"]`)
 * and keys that are no plain name (`cluster[" "]`) in brackets, quoted.
 */
export function keyPath(path: readonly PathSegment[], isMapKey: (index: number) => boolean = () => false): string {
  return path.reduce<string>((text, segment, index) => {
    const plain = typeof segment === "string" && PLAIN_KEY.test(segment) && !isMapKey(index);
    if (index === 0) return `${CONFIG_NAMESPACE}:${plain ? segment : JSON.stringify(segment)}`;
    if (typeof segment === "number") return `${text}[${segment}]`;
    return plain ? `${text}.${segment}` : `${text}[${JSON.stringify(segment)}]`;
  }, "");
}

// ---------------------------------------------------------------------------------------------
// Walking the schema (zod's own definitions) along a key path

type AnySchema = z.core.$ZodType;

/** The schema under defaults, optionals and descriptions. */
function unwrapped(schema: AnySchema): AnySchema {
  const def = schema._zod.def;
  switch (def.type) {
    case "optional":
    case "default":
    case "prefault":
    case "nullable":
    case "readonly":
      return unwrapped((def as z.core.$ZodOptionalDef).innerType);
    default:
      return schema;
  }
}

/** The schema a segment leads to, and whether that segment is a key of a map (record). */
function step(schema: AnySchema, segment: PathSegment): { next?: AnySchema; mapKey: boolean } {
  const def = unwrapped(schema)._zod.def;
  if (def.type === "array") return { next: (def as z.core.$ZodArrayDef).element, mapKey: false };
  if (def.type === "record") return { next: (def as z.core.$ZodRecordDef).valueType, mapKey: true };
  if (def.type === "object") {
    const { shape } = def as z.core.$ZodObjectDef;
    // Own keys only: a stack file may well say `constructor`.
    return { next: Object.hasOwn(shape, segment) ? shape[String(segment)] : undefined, mapKey: false };
  }
  return { mapKey: false };
}

function walk(root: AnySchema, path: readonly PathSegment[]): { schema?: AnySchema; mapKeys: Set<number> } {
  const mapKeys = new Set<number>();
  let schema: AnySchema | undefined = root;
  path.forEach((segment, index) => {
    if (schema === undefined) return;
    const { next, mapKey } = step(schema, segment);
    if (mapKey) mapKeys.add(index);
    schema = next;
  });
  return { schema, mapKeys };
}

function knownKeysAt(root: AnySchema, path: readonly PathSegment[]): string[] {
  const { schema } = walk(root, path);
  if (schema === undefined) return [];
  const def = unwrapped(schema)._zod.def;
  return def.type === "object" ? Object.keys((def as z.core.$ZodObjectDef).shape) : [];
}

/** Formats a path of the raw config with map keys in brackets, as the schema says which are. */
export function schemaKeyPath(root: AnySchema, path: readonly PathSegment[]): string {
  const { mapKeys } = walk(root, path);
  return keyPath(path, (index) => mapKeys.has(index));
}

function valueAt(value: unknown, path: readonly PathSegment[]): unknown {
  return path.reduce<unknown>(
    (node, segment) =>
      typeof node === "object" && node !== null ? (node as Record<PathSegment, unknown>)[segment] : undefined,
    value,
  );
}

/**
 * Reports zod's issues, one problem per key path: the first issue of a path says what to fix
 * first, and a second rule on the same value would mostly repeat it. The value shown is the one
 * in the raw config (zod's own copy of a mapping lacks its unknown keys).
 */
export function reportIssues(report: Report, root: AnySchema, raw: unknown, issues: readonly z.core.$ZodIssue[]): void {
  const reported = new Set<string>();
  for (const issue of issues) {
    const path = issue.path.map((segment) => (typeof segment === "symbol" ? String(segment) : segment));
    if (issue.code === "unrecognized_keys") {
      const allowed = knownKeysAt(root, path);
      for (const key of issue.keys) report.unknownKey(schemaKeyPath(root, [...path, key]), key, allowed);
      continue;
    }
    const where = schemaKeyPath(root, path);
    if (reported.has(where)) continue;
    reported.add(where);
    const value = valueAt(raw, path);
    // A bad map key: the key's own rule explains it.
    const explanation = issue.code === "invalid_key" ? (issue.issues[0]?.message ?? issue.message) : issue.message;
    if (value === undefined) report.missing(where, explanation);
    else report.invalid(where, value, explanation);
  }
}

/**
 * zod's maps (records) drop an own `__proto__` key without an issue (its guard against prototype
 * pollution), but YAML does give such a key: report it with the map's own key rule.
 */
export function reportDroppedMapKeys(report: Report, root: AnySchema, raw: unknown): void {
  const visit = (value: unknown, path: readonly PathSegment[]): void => {
    if (typeof value !== "object" || value === null) return;
    for (const [key, item] of Object.entries(value)) visit(item, [...path, Array.isArray(value) ? Number(key) : key]);
    if (Array.isArray(value) || !Object.prototype.hasOwnProperty.call(value, "__proto__")) return;
    const { schema } = walk(root, path);
    const def = schema === undefined ? undefined : unwrapped(schema)._zod.def;
    if (def?.type !== "record") return;
    const keyCheck = (def as z.core.$ZodRecordDef).keyType as unknown as z.ZodType;
    const explanation = keyCheck.safeParse("__proto__").error?.issues[0]?.message ?? "is not a valid key here";
    report.invalid(
      schemaKeyPath(root, [...path, "__proto__"]),
      (value as Record<string, unknown>)["__proto__"],
      explanation,
    );
  };
  visit(raw, []);
}

// ---------------------------------------------------------------------------------------------
// The loose view: every value that is good on its own, for the cross-field rules

/** A parsed value in which any part that failed its own checks is `undefined`. */
export type Loose<T> = T extends readonly (infer Item)[]
  ? ReadonlyArray<Loose<Item> | undefined>
  : T extends object
    ? { readonly [K in keyof T]?: Loose<T[K]> }
    : T;

function isPlainObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Parses `value` part by part: mappings key by key and lists item by item (defaults applied), so
 * one bad value leaves its siblings usable. Cross-field rules then only ever see good values, and
 * a bad value never causes a cascade of follow-up problems.
 */
export function looseParse<S extends z.ZodType>(schema: S, value: unknown): Loose<z.output<S>> | undefined {
  return looseValue(schema, value) as Loose<z.output<S>> | undefined;
}

function looseValue(schema: AnySchema, value: unknown): unknown {
  const def = schema._zod.def;
  switch (def.type) {
    case "default":
      return value === undefined
        ? (def as z.core.$ZodDefaultDef).defaultValue
        : looseValue((def as z.core.$ZodDefaultDef).innerType, value);
    case "prefault": {
      const prefault = def as z.core.$ZodPrefaultDef;
      return looseValue(prefault.innerType, value === undefined ? prefault.defaultValue : value);
    }
    case "optional":
      return value === undefined ? undefined : looseValue((def as z.core.$ZodOptionalDef).innerType, value);
    case "object":
      if (!isPlainObject(value)) return undefined;
      return Object.fromEntries(
        Object.entries((def as z.core.$ZodObjectDef).shape).map(([key, field]) => [key, looseValue(field, value[key])]),
      );
    case "array":
      return Array.isArray(value)
        ? value.map((item) => looseValue((def as z.core.$ZodArrayDef).element, item))
        : undefined;
    default: {
      const result = (schema as z.ZodType).safeParse(value);
      return result.success ? result.data : undefined;
    }
  }
}
