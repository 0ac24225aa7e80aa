/**
 * What tools outside the program learn from the schema in config/schema.ts:
 * - the JSON Schema of a whole `Pulumi.<stack>.yaml` (schema/stack-config.schema.json, written by
 *   `npm run gen:schema`), which editors use through the file's `yaml-language-server` comment;
 * - the project's config declarations in Pulumi.yaml (type, description), which Pulumi checks
 *   before the program runs.
 * Draft-07, because yaml-language-server (the editors' YAML support) validates draft-07 fully and
 * later drafts only in part.
 */
import * as z from "zod";
import { CONFIG_NAMESPACE, RAW_CONFIG_SCHEMA, SECRET_CONFIG_KEYS } from "./schema";

/** Where the generated JSON Schema lives, relative to the repository root. */
export const STACK_FILE_SCHEMA_PATH = "schema/stack-config.schema.json";

const secureValue = z
  .strictObject({ secure: z.string().describe("Ciphertext written by `pulumi config set --secret`.") })
  .describe("A secret, encrypted by Pulumi: set it with `pulumi config set --secret`.");

const SECRET_DESCRIPTIONS: Readonly<Record<(typeof SECRET_CONFIG_KEYS)[number], string>> = {
  onepasswordServiceAccountToken:
    "1Password service-account token (for onepassword.auth: service-account); only as a secret.",
};

const namespaced = (key: string): string => `${CONFIG_NAMESPACE}:${key}`;

/** The `config:` map: every `homeops:<key>`, the secret ones as secure values, other namespaces free. */
const CONFIG_MAP = z
  .object({
    ...Object.fromEntries(Object.entries(RAW_CONFIG_SCHEMA.shape).map(([key, schema]) => [namespaced(key), schema])),
    ...Object.fromEntries(
      SECRET_CONFIG_KEYS.map((key) => [namespaced(key), secureValue.optional().describe(SECRET_DESCRIPTIONS[key])]),
    ),
  })
  .describe(`Stack configuration: ${CONFIG_NAMESPACE}:<key> settings of this program, <namespace>:<key> of others.`);

/** A whole stack file: Pulumi's own top-level keys and the config map. */
export const STACK_FILE_SCHEMA = z
  .strictObject({
    secretsprovider: z.string().optional().describe("The stack's secrets provider (Pulumi writes it)."),
    encryptedkey: z.string().optional().describe("Encrypted data key of a cloud secrets provider (Pulumi writes it)."),
    encryptionsalt: z.string().optional().describe("Salt of the passphrase secrets provider (Pulumi writes it)."),
    environment: z
      .union([z.array(z.string()), z.record(z.string(), z.unknown())])
      .optional()
      .describe("Pulumi ESC environments to import, or an inline environment definition."),
    config: CONFIG_MAP.optional(),
  })
  .meta({
    title: `Pulumi.<stack>.yaml of the ${CONFIG_NAMESPACE} project`,
    description: "Generated from config/schema.ts by `npm run gen:schema`; do not edit.",
  });

/** The JSON Schema (draft-07) of a whole stack file, as committed in schema/. */
export function stackFileJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(STACK_FILE_SCHEMA, {
    target: "draft-7",
    io: "input",
    override: ({ zodSchema, jsonSchema }) => {
      if (zodSchema !== CONFIG_MAP) return;
      // Unknown homeops: keys are typos; keys of other namespaces (kubernetes:context, ...) are not ours.
      jsonSchema.patternProperties = { [`^(?!${CONFIG_NAMESPACE}:)[^:]+:.+$`]: {} };
      jsonSchema.additionalProperties = false;
    },
  }) as Record<string, unknown>;
}

/** One entry of Pulumi.yaml's `config:` block (Pulumi's project config declaration). */
export interface ProjectConfigDeclaration {
  readonly type: "string" | "integer" | "boolean" | "array" | "object";
  readonly items?: { readonly type: "string" | "object" };
  readonly description?: string;
  readonly default?: unknown;
}

type AnySchema = z.core.$ZodType;

function descriptionOf(schema: AnySchema): string | undefined {
  return z.globalRegistry.get(schema)?.description;
}

function declarationOf(schema: AnySchema): ProjectConfigDeclaration {
  const def = schema._zod.def;
  switch (def.type) {
    case "default":
    case "prefault": {
      const { innerType, defaultValue } = def as z.core.$ZodDefaultDef;
      return { ...declarationOf(innerType), default: defaultValue };
    }
    case "optional":
      return declarationOf((def as z.core.$ZodOptionalDef).innerType);
    case "object":
    case "record":
      return { type: "object" };
    case "array": {
      const item = declarationOf((def as z.core.$ZodArrayDef).element).type;
      return { type: "array", items: { type: item === "object" ? "object" : "string" } };
    }
    case "int":
    case "number":
      return { type: "integer" };
    case "boolean":
      return { type: "boolean" };
    default:
      return { type: "string" };
  }
}

/**
 * Pulumi.yaml's `config:` declarations, one per key: its type and description, and its default
 * where the program has one (a key declared without a default is one Pulumi requires of every
 * stack). Secret keys are left out: declared without a default Pulumi would require them (they
 * are optional: `onepassword.auth: account` needs none), and a default would be a plaintext value
 * that Pulumi's own secret check rejects.
 */
export function projectConfigDeclarations(): Record<string, ProjectConfigDeclaration> {
  return Object.fromEntries(
    Object.entries(RAW_CONFIG_SCHEMA.shape).map(([key, schema]) => {
      const declaration = declarationOf(schema);
      const description = descriptionOf(schema);
      const { default: byDefault, ...typed } = declaration;
      return [
        namespaced(key),
        {
          ...typed,
          ...(description === undefined ? {} : { description }),
          ...(byDefault === undefined ? {} : { default: byDefault }),
        },
      ];
    }),
  );
}
