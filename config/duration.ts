/**
 * Durations of the renewal window (`homeops:operations.renewBefore`): a Go duration with a day
 * unit added (`30d`, `720h`, `45d12h`, `0s`), since a window is counted in days and Go has no
 * unit longer than the hour. Pure.
 */
import type { Explain } from "./fields";

const UNIT_MS: Readonly<Record<string, number>> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };
const DURATION = /^(?:[0-9]+(?:\.[0-9]+)?[dhms])+$/;
const PART = /([0-9]+(?:\.[0-9]+)?)([dhms])/g;

/** Lifetime of every client certificate the stack mints (talos pkg/machinery/constants). */
export const CLIENT_CERTIFICATE_LIFETIME_DAYS = 365;
/**
 * The longest window: a certificate renewed at the window's start lives 365 days, so it must
 * begin outside the window with room to spare, or every `up` would renew it again.
 */
export const MAX_RENEW_BEFORE_DAYS = 335;
export const DEFAULT_RENEW_BEFORE = "30d";

/** Milliseconds of a duration such as `30d` or `720h`, or undefined when it is not one. */
export function durationMs(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) total += Number(amount) * UNIT_MS[unit];
  return total;
}

export const checkRenewBefore: Explain<string> = (value) => {
  const ms = durationMs(value);
  const rule =
    `must be a duration between 0s and ${MAX_RENEW_BEFORE_DAYS}d, e.g. 30d, 720h or 45d12h ` +
    `(units d, h, m, s): the client certificates live ${CLIENT_CERTIFICATE_LIFETIME_DAYS} days, ` +
    "so a longer window would renew them on every up";
  if (ms === undefined) return rule;
  return ms > MAX_RENEW_BEFORE_DAYS * UNIT_MS.d ? rule : undefined;
};
