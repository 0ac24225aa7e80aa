/**
 * The network math every layer shares: address and CIDR parsing, containment and overlap (through
 * ipaddr.js), and the per-node pod CIDR sizes that Talos' controller manager and Cilium's cluster
 * pool must agree on. It lives in config/, the lowest layer, because validation needs it too;
 * talos/ and k8s/ import it from here.
 */
import * as ipaddr from "ipaddr.js";

export type IpFamily = 4 | 6;

export interface Cidr {
  /** The CIDR as written. */
  readonly text: string;
  readonly family: IpFamily;
  readonly network: ipaddr.IPv4 | ipaddr.IPv6;
  readonly prefixLength: number;
}

const PREFIX_LENGTH = /^(0|[1-9][0-9]{0,2})$/;

/** Strict dotted quad: four decimal octets 0–255, no leading zeros (they read as octal elsewhere). */
export function isIPv4(text: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(text);
}

/** RFC 4291 text form (`::` compression, embedded dotted quad); no zone IDs such as `%eth0`. */
export function isIPv6(text: string): boolean {
  return !text.includes("%") && ipaddr.IPv6.isValid(text);
}

/** One spelling per IPv6 address (`fd47:0::11` and `fd47::11` are the same address). */
export function normalizedIPv6(text: string): string {
  return ipaddr.IPv6.parse(text).toNormalizedString();
}

function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (isIPv4(text)) return ipaddr.IPv4.parse(text);
  if (isIPv6(text)) return ipaddr.IPv6.parse(text);
  return undefined;
}

function familyOf(address: ipaddr.IPv4 | ipaddr.IPv6): IpFamily {
  return address.kind() === "ipv4" ? 4 : 6;
}

/** `<network address>/<prefix length>`, or why the text is not one (with the fix). */
export function parseCidr(text: string): { readonly cidr: Cidr } | { readonly problem: string } {
  const fix = "write <network address>/<prefix length>, e.g. 10.244.0.0/16 or fd00:10:244::/56";
  const slash = text.lastIndexOf("/");
  if (slash < 0) return { problem: `is not a CIDR (no "/<prefix length>"); ${fix}` };
  const addressText = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const address = parseAddress(addressText);
  if (address === undefined) return { problem: `"${addressText}" is not a valid IPv4 or IPv6 address; ${fix}` };
  const family = familyOf(address);
  const bits = family === 4 ? 32 : 128;
  if (!PREFIX_LENGTH.test(prefixText) || Number(prefixText) > bits) {
    return { problem: `prefix length "${prefixText}" must be an integer from 0 to ${bits} for IPv${family}` };
  }
  const prefixLength = Number(prefixText);
  const network =
    family === 4
      ? ipaddr.IPv4.networkAddressFromCIDR(`${addressText}/${prefixLength}`)
      : ipaddr.IPv6.networkAddressFromCIDR(`${addressText}/${prefixLength}`);
  if (network.toNormalizedString() !== address.toNormalizedString()) {
    return {
      problem:
        `has host bits set (the address is not the first address of the /${prefixLength} network); ` +
        `use ${network.toString()}/${prefixLength}, or a longer prefix if a smaller range was meant`,
    };
  }
  return { cidr: { text, family, network, prefixLength } };
}

/**
 * Family and prefix length of a CIDR, for builders working on validated config (host bits are the
 * validation's business, not theirs); throws on anything that is not `<address>/<prefix length>`.
 */
export function cidrFamilyAndPrefix(text: string): { readonly family: IpFamily; readonly prefixLength: number } {
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    parsed = ipaddr.parseCIDR(text);
  } catch {
    throw new Error(`${JSON.stringify(text)} is not a CIDR (expected <address>/<prefix length>)`);
  }
  return { family: familyOf(parsed[0]), prefixLength: parsed[1] };
}

/** A CIDR the config layer already validated; throws (a bug) on anything else. */
export function validCidr(text: string): Cidr {
  const parsed = parseCidr(text);
  if ("problem" in parsed) throw new Error(`internal: ${JSON.stringify(text)} ${parsed.problem}`);
  return parsed.cidr;
}

/** Whether `address` (IPv4 or IPv6 text) lies inside `cidr`; false across families. */
export function cidrContains(cidr: Cidr, address: string): boolean {
  const parsed = parseAddress(address);
  if (parsed === undefined || familyOf(parsed) !== cidr.family) return false;
  return parsed.match(cidr.network, cidr.prefixLength);
}

/** Whether two ranges share an address (the shorter prefix contains the other's network). */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const [shorter, longer] = a.prefixLength <= b.prefixLength ? [a, b] : [b, a];
  return longer.network.match(shorter.network, shorter.prefixLength);
}

/**
 * Cilium's cluster-pool allocator refuses an IPv6 node mask more than 16 bits longer than the pool
 * prefix ("the node CIDR size is too big"), so a /64 pool gives /80 per node; never longer than
 * /120 (Cilium's own default per-node size). kube-controller-manager's node-cidr-mask-size-ipv6
 * must use the same size, or the Node objects' podCIDRs disagree with Cilium's.
 */
export const CILIUM_IPV6_MAX_MASK_DIFF = 16;
export function ipv6NodeMaskSize(poolPrefixLength: number): number {
  return Math.min(poolPrefixLength + CILIUM_IPV6_MAX_MASK_DIFF, 120);
}
