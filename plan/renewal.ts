/**
 * Renewal of the client certificates the stack mints (the operator's talosconfig and the admin
 * kubeconfig live 365 days: talos pkg/machinery/constants TalosAPIDefaultCertificateValidityDuration,
 * KubernetesAdminCertDefaultLifetime). Re-running the minting step is the renewal: `talosctl gen
 * config --output-types talosconfig` signs a new client certificate from the bundle, and every
 * `talosctl kubeconfig` download regenerates the admin client certificate, valid a year (talos
 * website/content/v1.12/talos-guides/howto/cert-management.md). Each has a renewal count, recorded in the stack outputs
 * (`credentialRenewals`) and, once above 0, an input of the step that mints it: the count goes up
 * by one, re-running the step, exactly when the expiry the previous outputs record is inside the
 * window `homeops:operations.renewBefore` (or past). The new certificate's expiry is a year out,
 * so the next evaluation finds it outside the window and keeps the count: a second `up` runs
 * nothing. The current time decides, but never becomes an input. A failed update writes no
 * outputs, so its re-run computes the same count and a step that already re-minted stays done.
 * Pure; the time is passed in (`renewalTime`: HOMEOPS_NOW in tests, else the clock).
 */
export const CREDENTIALS = ["talosconfig", "kubeconfig"] as const;
export type Credential = (typeof CREDENTIALS)[number];

/** Renewal count per credential: 0 until the first renewal (no input then, as before renewal existed). */
export type Renewals = Readonly<Record<Credential, number>>;
export const NO_RENEWALS: Renewals = { talosconfig: 0, kubeconfig: 0 };

/** What the previous outputs say of one credential. */
export interface IssuedCredential {
  /** ISO expiry (outputs `talosconfigExpiry`/`kubeconfigExpiry`); undefined or "unknown": none known. */
  readonly expiry?: string;
  readonly renewals: number;
}
export type IssuedCredentials = Readonly<Record<Credential, IssuedCredential>>;

/** From the previous outputs `talosconfigExpiry`, `kubeconfigExpiry` and `credentialRenewals`. */
export function issuedCredentials(outputs: Readonly<Record<string, unknown>>): IssuedCredentials {
  const counts = (outputs.credentialRenewals ?? {}) as Record<string, unknown>;
  const one = (c: Credential): IssuedCredential => {
    const expiry = outputs[`${c}Expiry`];
    const n = counts[c];
    return {
      ...(typeof expiry === "string" ? { expiry } : {}),
      renewals: typeof n === "number" && Number.isInteger(n) && n >= 0 ? n : 0,
    };
  };
  return { talosconfig: one("talosconfig"), kubeconfig: one("kubeconfig") };
}

/** The counts for this update, and which credentials it renews. */
export function renewalsDue(
  issued: IssuedCredentials,
  now: Date,
  renewBeforeMs: number,
): { renewals: Renewals; due: Credential[] } {
  const due = CREDENTIALS.filter((c) => {
    const at = Date.parse(issued[c].expiry ?? "");
    return !Number.isNaN(at) && now.getTime() >= at - renewBeforeMs;
  });
  const count = (c: Credential) => issued[c].renewals + (due.includes(c) ? 1 : 0);
  return { renewals: { talosconfig: count("talosconfig"), kubeconfig: count("kubeconfig") }, due };
}

/** The time renewal is judged at: HOMEOPS_NOW (an ISO date, for tests and rehearsals) or the clock. */
export function renewalTime(env: Readonly<Record<string, string | undefined>> = process.env): Date {
  const given = env.HOMEOPS_NOW;
  if (given === undefined || given === "") return new Date();
  const at = Date.parse(given);
  if (Number.isNaN(at))
    throw new Error(`HOMEOPS_NOW=${given} is not an ISO date (e.g. 2027-11-20 or 2027-11-20T12:00:00Z)`);
  return new Date(at);
}

/** The input a minting step gets: none before the first renewal, so existing steps see no change. */
export function renewalEnv(renewals: number): Record<string, string> {
  return renewals > 0 ? { RENEWAL: String(renewals) } : {};
}
