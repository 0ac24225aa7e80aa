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
