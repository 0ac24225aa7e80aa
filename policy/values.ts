/**
 * How resource properties look to the rules: plain JSON, where a value the program marked secret
 * is a `Secret` (never inspected) and a value unknown during a preview is one of Pulumi's
 * sentinel strings (never judged). Rules only ever read known, non-secret values.
 */
import { createRequire } from "module";
import { Secret } from "@pulumi/policy";

export type Props = Readonly<Record<string, unknown>>;

/**
 * Pulumi's wire sentinels for values not known during a preview (one per kind), as in
 * @pulumi/policy proxy.ts and sdk/nodejs/runtime/rpc.ts.
 */
const UNKNOWN_SENTINELS: ReadonlySet<string> = new Set([
  "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
  "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
  "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
  "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
  "030794c1-ac77-496b-92df-f27374a8bd58",
  "e48ece36-62e2-4504-bad9-02848725956a",
  "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
]);

/** The sentinel of an unknown string, for tests and previews. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export function isUnknown(value: unknown): boolean {
  return typeof value === "string" && UNKNOWN_SENTINELS.has(value);
}

export function isSecret(value: unknown): value is Secret {
  return value instanceof Secret;
}

/** A known string that was not marked secret, else undefined. */
export function plainString(value: unknown): string | undefined {
  return typeof value === "string" && !isUnknown(value) ? value : undefined;
}

/** A known, non-secret object (a map input such as `environment`), else an empty one. */
export function plainObject(value: unknown): Props {
  return value !== null && typeof value === "object" && !isSecret(value) && !Array.isArray(value)
    ? (value as Props)
    : {};
}

/** Every known, non-secret string in a value with its property path; secrets and unknowns are skipped. */
export function plainStrings(value: unknown, path = ""): { path: string; text: string }[] {
  if (isSecret(value)) return [];
  const text = plainString(value);
  if (text !== undefined) return [{ path, text }];
  if (Array.isArray(value)) return value.flatMap((v, i) => plainStrings(v, `${path}[${i}]`));
  if (value !== null && typeof value === "object")
    return Object.entries(value as Props).flatMap(([k, v]) => plainStrings(v, path ? `${path}.${k}` : k));
  return [];
}

const IS_PROXY = "__isSpecialProxy";
const PROXY_TARGET = "__getSpecialProxyTarget";

/**
 * The plain object behind @pulumi/policy's property proxies. Reading through the proxies throws
 * on the first unknown value (the whole policy then becomes advisory) and unwraps secrets; the
 * raw object keeps both visible, so a rule can skip exactly the values it cannot judge.
 */
export function rawProps(props: unknown): Props {
  let value = props as Record<string, unknown>;
  while (value !== null && typeof value === "object" && value[IS_PROXY] === true) {
    value = value[PROXY_TARGET] as Record<string, unknown>;
  }
  return value ?? {};
}

type Deserialize = (properties: unknown, proxySecrets: boolean) => unknown;

/**
 * @pulumi/policy (1.21.0, pinned) unwraps secrets to plain values before validation, so a policy
 * cannot tell `pulumi.secret(x)` from `x`. Its remediation path keeps them as `Secret` objects
 * (the `proxySecrets` flag); this turns that on for validation too. Reading through the proxies
 * still unwraps (secretsPreservingProxy), `rawProps` sees the `Secret`s. Fails loudly if the
 * module no longer has that shape.
 */
export function keepSecretsMarked(): void {
  // The module object itself (an `import *` may be a read-only copy under some loaders).
  const mod = createRequire(__filename)("@pulumi/policy/deserialize") as { deserializeProperties?: Deserialize };
  const original = mod.deserializeProperties;
  if (typeof original !== "function") {
    throw new Error("@pulumi/policy/deserialize has no deserializeProperties: the pack needs @pulumi/policy 1.21.x");
  }
  if ((original as { keepsSecrets?: boolean }).keepsSecrets) return;
  const marked: Deserialize & { keepsSecrets?: boolean } = (properties) => original(properties, true);
  marked.keepsSecrets = true;
  mod.deserializeProperties = marked;
}
