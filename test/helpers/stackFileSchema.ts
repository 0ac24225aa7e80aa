/**
 * The generated stack-file JSON Schema and Pulumi.yaml's config declarations, as the tests check
 * them: with ajv (draft-07, the draft the schema is generated for) and with a mirror of the
 * Pulumi CLI's own check of declared config types.
 */
import * as fs from "fs";
import * as path from "path";
import Ajv, { type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { parse as parseYaml } from "yaml";
import { CONFIG_NAMESPACE } from "../../config/schema";
import { STACK_FILE_SCHEMA_PATH, type ProjectConfigDeclaration } from "../../config/stackFile";
import type { RawConfig } from "../../config/types";

export const REPO_ROOT = path.resolve(__dirname, "../..");

let validator: ValidateFunction | undefined;

/** ajv's errors of a stack file (parsed YAML) against the committed schema; empty = valid. */
export function stackFileSchemaErrors(stackFile: unknown): string[] {
  if (validator === undefined) {
    const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
    addFormats(ajv);
    validator = ajv.compile(JSON.parse(fs.readFileSync(path.join(REPO_ROOT, STACK_FILE_SCHEMA_PATH), "utf8")));
  }
  if (validator(stackFile)) return [];
  return (validator.errors ?? []).map(
    (e) => `${e.instancePath || "/"}: ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`,
  );
}

/** The stack file a raw config comes from (keys back in the project namespace). */
export function stackFileOf(raw: RawConfig): { config: Record<string, unknown> } {
  return {
    config: Object.fromEntries(Object.entries(raw).map(([key, value]) => [`${CONFIG_NAMESPACE}:${key}`, value])),
  };
}

export function readYaml(relativePath: string): unknown {
  return parseYaml(fs.readFileSync(path.join(REPO_ROOT, relativePath), "utf8"));
}

/**
 * Why the Pulumi CLI would refuse a stack's config before the program runs, given the project's
 * declarations: a declared key without a default that the stack lacks, or a value not of the
 * declared type. Mirrors `mergeConfig` and `ValidateConfigValue` of pulumi/sdk v3.248.0
 * (go/common/workspace/config.go, project.go); stack values of YAML scalars reach it as strings.
 */
export function pulumiConfigRefusal(
  declarations: Readonly<Record<string, ProjectConfigDeclaration>>,
  config: Readonly<Record<string, unknown>>,
): string | undefined {
  const matches = (type: string, items: { type: string } | undefined, value: unknown): boolean => {
    switch (type) {
      case "string":
        return typeof value !== "object" || value === null;
      case "integer":
        return /^-?[0-9]+$/.test(String(value));
      case "boolean":
        return ["true", "false"].includes(String(value));
      case "object":
        return typeof value === "object" && value !== null && !Array.isArray(value);
      default:
        return (
          Array.isArray(value) && items !== undefined && value.every((item) => matches(items.type, undefined, item))
        );
    }
  };
  for (const [key, declaration] of Object.entries(declarations)) {
    const value = config[key];
    if (value === undefined) {
      if (declaration.default === undefined) return `Stack is missing configuration value '${key}'`;
    } else if (!matches(declaration.type, declaration.items, value)) {
      return `configuration key '${key}' must be of type '${declaration.type}'`;
    }
  }
  return undefined;
}
