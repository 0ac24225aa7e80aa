/**
 * Secret material in a string, by its shape: what must never sit in a plain command input (the
 * policy pack), a generated document (the docs generator) or any other plain-text place. Pure, so
 * every layer may use it; findings name the kind of material, never the value.
 */
const PEM = /-----BEGIN [A-Z0-9 ]*-----/;
const BASE64_RUN = /[A-Za-z0-9+/]{40,}={0,2}/g;

function base64Pem(text: string): boolean {
  for (const m of text.matchAll(BASE64_RUN)) {
    if (PEM.test(Buffer.from(m[0], "base64").toString("latin1"))) return true;
  }
  return false;
}

/** Each kind of secret material and how to recognise it in a string. */
const MATERIAL: readonly { kind: string; found: (text: string) => boolean }[] = [
  { kind: "a PEM block", found: (t) => PEM.test(t) },
  { kind: "a base64-encoded PEM block", found: base64Pem },
  { kind: "kubeconfig client credentials", found: (t) => /client-(?:key|certificate)-data\s*:\s*\S/.test(t) },
  {
    kind: "a kubeconfig",
    found: (t) => /^\s*apiVersion\s*:\s*v1\s*$/m.test(t) && /^\s*(?:clusters|users)\s*:/m.test(t),
  },
  {
    kind: "a talosconfig",
    found: (t) => /^\s*contexts\s*:/m.test(t) && /^\s*(?:context|key|crt)\s*:\s*\S/m.test(t),
  },
  {
    kind: "Talos secrets-bundle keys",
    found: (t) => /\b(?:secretboxencryptionsecret|aescbcencryptionsecret|bootstraptoken|trustdinfo)\s*:/i.test(t),
  },
  { kind: "a 1Password service-account token", found: (t) => /\bops_[A-Za-z0-9_-]{20,}/.test(t) },
  {
    kind: "a plain OP_SERVICE_ACCOUNT_TOKEN assignment",
    found: (t) => /OP_SERVICE_ACCOUNT_TOKEN\s*[=:]\s*["']?[^\s"'$]{8,}/.test(t),
  },
  { kind: "1Password Connect credentials", found: (t) => /"encCredentials"\s*:/.test(t) },
  { kind: "a JWT", found: (t) => /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/.test(t) },
];

/** The kind of secret material in a string, or undefined. */
export function secretMaterialIn(text: string): string | undefined {
  return MATERIAL.find((m) => m.found(text))?.kind;
}
