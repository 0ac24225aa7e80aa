/**
 * Turning the two sources of stack config into `RawConfig` (keys without the project namespace):
 * a `Pulumi.<stack>.yaml` text (offline rendering, tests) and the Pulumi runtime's config map (the
 * program). Secure values never enter `RawConfig`. Pure: callers read files and pass the text.
 */
import { parse as parseYaml } from "yaml";
import { SECRET_CONFIG_KEYS } from "./schema";
import { ConfigError, RawConfig } from "./types";

const DEFAULT_PROJECT = "homeops";

/** Old Pulumi versions wrote `project:config:key`; the runtime normalises it to `project:key`. */
function withoutLegacyConfigSegment(key: string): string {
  const colon = key.indexOf(":");
  return colon > 0 && key.startsWith("config:", colon + 1)
    ? key.slice(0, colon + 1) + key.slice(colon + 1 + "config:".length)
    : key;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A Pulumi encrypted value as written in a stack file: `{ secure: <ciphertext> }`. */
function isSecureValue(value: unknown): boolean {
  return isPlainObject(value) && Object.keys(value).length === 1 && typeof value.secure === "string";
}

/** The `config:` map of a stack file's text; `{}` when the file has none. */
function stackFileConfigMap(yamlText: string): Record<string, unknown> {
  let document: unknown;
  try {
    document = parseYaml(yamlText);
  } catch (error) {
    throw new ConfigError([`stack file is not valid YAML: ${(error as Error).message}`]);
  }
  if (document === null || document === undefined) return {};
  if (!isPlainObject(document)) {
    throw new ConfigError(["stack file must be a YAML mapping with a `config:` key"]);
  }
  const config = document.config;
  if (config === undefined || config === null) return {};
  if (!isPlainObject(config)) {
    throw new ConfigError(["stack file `config:` must be a mapping of <project>:<key> to value"]);
  }
  return config;
}

/** Keys of `project`'s namespace in a config map, with the prefix stripped. */
function namespacedEntries(configMap: Readonly<Record<string, unknown>>, project: string): Array<[string, unknown]> {
  const prefix = `${project}:`;
  return Object.entries(configMap)
    .map(([key, value]): [string, unknown] => [withoutLegacyConfigSegment(key), value])
    .filter(([key]) => key.startsWith(prefix))
    .map(([key, value]) => [key.slice(prefix.length), value]);
}

/**
 * Removes secure values (also nested ones) from a stack-file value; `paths` collects where they
 * were, as dotted key paths (`onepassword.token`, `nodes[0].secret`).
 */
function withoutSecureValues(value: unknown, path: string, paths: string[]): unknown {
  if (isSecureValue(value)) {
    paths.push(path);
    return undefined;
  }
  if (Array.isArray(value)) {
    return value
      .map((item, index) => withoutSecureValues(item, `${path}[${index}]`, paths))
      .filter((item) => item !== undefined);
  }
  if (isPlainObject(value)) {
    const kept: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const keptItem = withoutSecureValues(item, `${path}.${key}`, paths);
      if (keptItem !== undefined) kept[key] = keptItem;
    }
    return kept;
  }
  return value;
}

/**
 * Parses a `Pulumi.<stack>.yaml` text into `RawConfig`: keys of `project`'s namespace with the
 * prefix stripped; other namespaces ignored; secure values dropped (see `secureKeysOf`).
 */
export function rawConfigFromStackFile(yamlText: string, project = DEFAULT_PROJECT): RawConfig {
  const raw: Record<string, unknown> = {};
  for (const [key, value] of namespacedEntries(stackFileConfigMap(yamlText), project)) {
    const kept = withoutSecureValues(value, key, []);
    if (kept !== undefined) raw[key] = kept;
  }
  return raw;
}

/**
 * Where `rawConfigFromStackFile` dropped secure values: key paths without the namespace, e.g.
 * `onepasswordServiceAccountToken` or `gitops.token` for a nested one.
 */
export function secureKeysOf(yamlText: string, project = DEFAULT_PROJECT): string[] {
  const paths: string[] = [];
  for (const [key, value] of namespacedEntries(stackFileConfigMap(yamlText), project)) {
    withoutSecureValues(value, key, paths);
  }
  return paths;
}

/** `Pulumi.home-ops.yaml` (or a path ending in it) → `home-ops`. */
export function stackNameFromFile(path: string): string {
  const fileName = path.split(/[\\/]/).pop() ?? "";
  const match = /^Pulumi\.([A-Za-z0-9._-]+)\.ya?ml$/.exec(fileName);
  if (match === null) {
    throw new Error(
      `${JSON.stringify(path)} is not a stack file: expected a name like Pulumi.<stack>.yaml, e.g. Pulumi.home-ops.yaml`,
    );
  }
  return match[1];
}

/** Values the Pulumi runtime hands over as JSON text: objects, arrays, numbers, booleans. */
function decodedRuntimeValue(text: string): unknown {
  const trimmed = text.trim();
  const looksLikeJson =
    trimmed.startsWith("{") ||
    trimmed.startsWith("[") ||
    trimmed === "true" ||
    trimmed === "false" ||
    /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/.test(trimmed);
  if (!looksLikeJson) return text;
  try {
    return JSON.parse(trimmed) as unknown;
  } catch {
    return text;
  }
}

/**
 * Builds `RawConfig` from the Pulumi runtime's config map (`pulumi.runtime.allConfig()`:
 * `"homeops:nodes"` → JSON text, plain strings as-is). `allConfig()` holds secret values in
 * plaintext: the known secret settings (`SECRET_CONFIG_KEYS`) are always dropped; pass any other
 * secret keys (full `project:key` names, as in the runtime's `PULUMI_CONFIG_SECRET_KEYS`) to keep
 * them out too.
 */
export function rawConfigFromPulumiConfig(
  all: Readonly<Record<string, string>>,
  project = DEFAULT_PROJECT,
  secretKeys: Iterable<string> = [],
): RawConfig {
  const secret = new Set([
    ...[...secretKeys].map((key) => withoutLegacyConfigSegment(key)),
    // Known secret settings are dropped even when the caller passes no secret keys.
    ...SECRET_CONFIG_KEYS.map((key) => `${project}:${key}`),
  ]);
  const raw: Record<string, unknown> = {};
  const prefix = `${project}:`;
  for (const [fullKey, text] of Object.entries(all)) {
    const key = withoutLegacyConfigSegment(fullKey);
    if (!key.startsWith(prefix) || secret.has(key)) continue;
    raw[key.slice(prefix.length)] = decodedRuntimeValue(text);
  }
  return raw;
}
