/**
 * Contract check: validate a rendered Talos document against the published Talos JSON Schema of a
 * given minor (../shared/contracts/talos, see NOTES.md §0 for the ajv setup).
 */
import * as fs from "fs";
import * as path from "path";
import Ajv2020 from "ajv/dist/2020";
import type { ErrorObject, ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import type { TalosMinor } from "../../config/types";

// The repository is checked out with `shared/` as a sibling of `main/`.
const CONTRACTS_DIR = path.resolve(__dirname, "../../../shared/contracts/talos");

const SCHEMA_FILE_BY_MINOR: Readonly<Record<TalosMinor, string>> = {
  "v1.10": "config.v1.10.schema.json",
  "v1.11": "config.schema.json",
  "v1.12": "config.v1.12.schema.json",
  "v1.13": "config.v1.13.schema.json",
  "v1.14": "config.v1.14.schema.json",
};

interface TalosValidators {
  /** The root schema: a oneOf over every document kind. */
  readonly root: ValidateFunction;
  /** The v1alpha1 machine config (a patch has no apiVersion/kind). */
  readonly v1alpha1: ValidateFunction;
  /** One validator per multi-document kind, only used to give readable errors. */
  readonly byKind: ReadonlyMap<string, ValidateFunction>;
}

const validatorsByMinor = new Map<TalosMinor, TalosValidators>();

interface JsonSchemaDef {
  readonly properties?: {
    readonly kind?: { readonly enum?: readonly string[] };
  };
}

function loadValidators(minor: TalosMinor): TalosValidators {
  const cached = validatorsByMinor.get(minor);
  if (cached) return cached;

  const schema = JSON.parse(fs.readFileSync(path.join(CONTRACTS_DIR, SCHEMA_FILE_BY_MINOR[minor]), "utf8")) as {
    $id: string;
    $defs: Record<string, JsonSchemaDef>;
  };
  // strict:false because the schema carries editor keywords (markdownDescription, ...).
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(schema);

  const byDef = (def: string): ValidateFunction => {
    const fn = ajv.getSchema(`${schema.$id}#/$defs/${def}`);
    if (!fn) throw new Error(`schema ${schema.$id} has no $defs/${def}`);
    return fn;
  };
  const byKind = new Map<string, ValidateFunction>();
  for (const [def, body] of Object.entries(schema.$defs)) {
    for (const kind of body.properties?.kind?.enum ?? []) byKind.set(kind, byDef(def));
  }
  const root = ajv.getSchema(schema.$id);
  if (!root) throw new Error(`schema ${schema.$id} did not compile`);

  const validators = { root, v1alpha1: byDef("v1alpha1.Config"), byKind };
  validatorsByMinor.set(minor, validators);
  return validators;
}

function formatErrors(errors: readonly ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const where = e.instancePath === "" ? "/" : e.instancePath;
    const extra =
      e.keyword === "additionalProperties"
        ? ` '${String((e.params as { additionalProperty: string }).additionalProperty)}'`
        : e.keyword === "enum"
          ? ` ${JSON.stringify((e.params as { allowedValues: unknown }).allowedValues)}`
          : "";
    return `${where}: ${e.message ?? e.keyword}${extra}`;
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Errors of one Talos document against the schema of `minor` (empty = valid). A document without
 * `kind` is a v1alpha1 machine-config patch; any other document is checked against the root schema
 * (reported with its kind's own errors, which are readable where the root oneOf's are not).
 */
export function validateTalosDocument(minor: TalosMinor, doc: unknown): string[] {
  const validators = loadValidators(minor);
  if (!isRecord(doc) || doc.kind === undefined) {
    return validators.v1alpha1(doc) ? [] : formatErrors(validators.v1alpha1.errors);
  }
  const kind = doc.kind; // read before ajv's type-guard narrows `doc`
  if (validators.root(doc)) return [];
  const kindValidator = typeof kind === "string" ? validators.byKind.get(kind) : undefined;
  if (!kindValidator) return [`/kind: ${JSON.stringify(kind)} is not a document kind of Talos ${minor}`];
  kindValidator(doc);
  const kindErrors = formatErrors(kindValidator.errors);
  return kindErrors.length > 0 ? kindErrors : formatErrors(validators.root.errors);
}

/** The minors older than `minor`, newest first: their schemas describe fields a newer schema dropped. */
function olderMinors(minor: TalosMinor): TalosMinor[] {
  const minors = Object.keys(SCHEMA_FILE_BY_MINOR) as TalosMinor[];
  return minors.slice(0, minors.indexOf(minor)).reverse();
}

function removeAt(doc: Record<string, unknown>, pathSegments: readonly string[]): unknown {
  const [head, ...rest] = pathSegments;
  if (rest.length === 0) {
    const removed = doc[head];
    delete doc[head];
    return removed;
  }
  const child = doc[head];
  return isRecord(child) ? removeAt(child, rest) : undefined;
}

function nest(pathSegments: readonly string[], value: unknown): Record<string, unknown> {
  return pathSegments.reduceRight<Record<string, unknown>>((inner, key) => ({ [key]: inner }), value as never);
}

/**
 * A v1alpha1 patch against what Talos `minor` accepts, honestly split in two (contracts/NOTES.md
 * §7.1): Talos decodes every legacy v1alpha1 field through v1.14.1 (the yaml tags of
 * v1alpha1_types.go only gained three fields since v1.11.5), while the v1.11+ schemas drop the
 * deprecated ones. So each field the minor's schema calls unknown (`legacyFields`) is validated
 * against the newest older schema that still describes it, and everything else
 * against the minor's own schema.
 */
export function validateV1Alpha1Patch(
  minor: TalosMinor,
  patch: unknown,
): { readonly errors: string[]; readonly legacyFields: string[] } {
  if (!isRecord(patch)) return { errors: ["/: a v1alpha1 patch must be a mapping"], legacyFields: [] };
  const legacyFields: string[] = [];
  const errors = validateSplit([minor, ...olderMinors(minor)], patch, legacyFields);
  return { errors, legacyFields };
}

/**
 * Validates against `minors[0]`; each field it calls unknown is cut out and validated the same way
 * against the older schemas (one subtree may mix fields only v1.11 describes with fields only
 * v1.12 added, e.g. `machine.install`).
 */
function validateSplit(
  minors: readonly TalosMinor[],
  patch: Record<string, unknown>,
  legacyFields: string[],
): string[] {
  const [newest, ...older] = minors;
  const validate = loadValidators(newest).v1alpha1;
  const rest = JSON.parse(JSON.stringify(patch)) as Record<string, unknown>;
  const cut: { field: string; subtree: Record<string, unknown> }[] = [];
  for (;;) {
    validate(rest);
    const unknown = (validate.errors ?? []).find((e) => e.keyword === "additionalProperties");
    if (!unknown) break;
    const segments = [
      ...unknown.instancePath.split("/").filter((s) => s !== ""),
      String((unknown.params as { additionalProperty: string }).additionalProperty),
    ];
    cut.push({ field: segments.join("."), subtree: nest(segments, removeAt(rest, segments)) });
  }
  const errors = validate(rest) ? [] : formatErrors(validate.errors);
  for (const { field, subtree } of cut) {
    if (older.length === 0) {
      errors.push(`.${field} is unknown to Talos ${newest} and to every older schema`);
      continue;
    }
    if (minors.length > 0) legacyFields.push(field);
    errors.push(...validateSplit(older, subtree, legacyFields));
  }
  return errors;
}

/** Every document kind the schema of `minor` defines. */
export function documentKindsOf(minor: TalosMinor): string[] {
  return [...loadValidators(minor).byKind.keys()];
}

/**
 * A patch document (one that merges onto a document gen config generated, configpatcher/strategic.go)
 * against the schema of `minor`: `$patch: delete` selectors name a kind (and fields) the schema
 * has; a partial document is checked without `required` beyond apiVersion/kind, because the
 * generated document it merges into carries the rest.
 */
export function validatePatchDocument(minor: TalosMinor, doc: TalosDocumentLike, generated: boolean): string[] {
  const validators = loadValidators(minor);
  const kindValidator = typeof doc.kind === "string" ? validators.byKind.get(doc.kind) : undefined;
  if (!kindValidator) return [`/kind: ${JSON.stringify(doc.kind)} is not a document kind of Talos ${minor}`];
  if (doc.$patch === "delete") {
    const extra = Object.keys(doc).filter((k) => !["apiVersion", "kind", "name", "$patch"].includes(k));
    return extra.length === 0 ? [] : [`/: a delete selector carries ${extra.join(", ")}`];
  }
  const rest: Record<string, unknown> = { ...doc };
  for (const [key, value] of Object.entries(doc)) {
    if (isRecord(value) && value.$patch === "delete") rest[key] = undefined;
  }
  const fieldDeletes = Object.keys(rest).filter((k) => rest[k] === undefined);
  for (const key of fieldDeletes) delete rest[key];
  const probe = { ...rest, ...Object.fromEntries(fieldDeletes.map((k) => [k, {}])) };
  kindValidator(generated ? probe : rest);
  const errors = (kindValidator.errors ?? []).filter(
    (e) =>
      !(generated && e.keyword === "required" && !["apiVersion", "kind"].includes(String(e.params.missingProperty))),
  );
  // A deleted field must exist in the kind (the probe puts an empty value there): a type error on it is fine.
  const relevant = errors.filter((e) => !fieldDeletes.some((k) => e.instancePath === `/${k}` && e.keyword === "type"));
  return formatErrors(relevant);
}

type TalosDocumentLike = { readonly [key: string]: unknown };
