/**
 * Facts about credentials that are not themselves secret: client-certificate expiry dates of a
 * talosconfig or kubeconfig (stack outputs for the generated docs), and the talosctl preflight.
 */
import { X509Certificate } from "crypto";
import { parse } from "yaml";

function expiryOfBase64Pem(b64: unknown): string | undefined {
  if (typeof b64 !== "string" || b64 === "") return undefined;
  try {
    const cert = new X509Certificate(Buffer.from(b64, "base64"));
    return new Date(cert.validTo).toISOString();
  } catch {
    return undefined;
  }
}

/** Expiry (ISO 8601) of the talosconfig's client certificate for its current context. */
export function talosconfigCertExpiry(talosconfigYaml: string): string {
  const doc = parse(talosconfigYaml) as { context?: string; contexts?: Record<string, { crt?: string }> } | null;
  const ctx = doc?.contexts?.[doc.context ?? ""];
  return expiryOfBase64Pem(ctx?.crt) ?? "unknown";
}

/** Expiry (ISO 8601) of the kubeconfig's first user client certificate. */
export function kubeconfigCertExpiry(kubeconfigYaml: string): string {
  const doc = parse(kubeconfigYaml) as { users?: { user?: Record<string, unknown> }[] } | null;
  return expiryOfBase64Pem(doc?.users?.[0]?.user?.["client-certificate-data"]) ?? "unknown";
}

/**
 * The talosctl on PATH must match the stack's Talos minor: another minor renders configs with
 * other defaults and (v1.11+) rejects flags older ones accepted. Returns an error message or
 * undefined. `output` is `talosctl version --client --short`.
 */
export function talosctlMismatch(output: string, minor: string, talosctl: string): string | undefined {
  const m = /v(\d+)\.(\d+)\.\d+/.exec(output);
  if (!m)
    return `could not read the version of '${talosctl}' (got: ${output.trim().slice(0, 80) || "nothing"}); install talosctl ${minor}.x`;
  const found = `v${m[1]}.${m[2]}`;
  if (found !== minor) {
    return `'${talosctl}' is ${m[0]} but the stack runs Talos ${minor}: install talosctl ${minor}.x (or set homeops:talos.talosctl to its path)`;
  }
  return undefined;
}
