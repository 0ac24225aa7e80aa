/**
 * The one config module: turns the raw stack config (keys without the `homeops:` namespace) into
 * the typed, validated `StackConfig`. Pure: no I/O, no Pulumi, so the program, the offline renderer
 * and the tests share it. Every problem is collected and reported together in one `ConfigError`;
 * each message starts with the key path (`homeops:nodes[1].address`), shows the bad value as JSON and
 * says what is allowed.
 */
import * as semver from "semver";
import {
  ConfigError,
  DiskSelector,
  NodeConfig,
  NodeRole,
  PHASES,
  Phase,
  RawConfig,
  StackConfig,
  SUPPORTED_TALOS_MINORS,
  TalosMinor,
} from "./types";

export { ConfigError, PHASES, SUPPORTED_TALOS_MINORS } from "./types";
export type { RawConfig, StackConfig } from "./types";

/** The Pulumi project namespace of every key (`homeops:cluster`, ...). */
export const CONFIG_NAMESPACE = "homeops";

/**
 * Secret stack settings (`pulumi config set --secret homeops:<key>`), read by the program as Pulumi
 * secrets, never part of `StackConfig`. The loaders drop them; given in plain text they are an error.
 */
export const SECRET_CONFIG_KEYS = ["onepasswordServiceAccountToken"] as const;

// ---------------------------------------------------------------------------------------------
// Problem collection

/** A failed check explains what is wrong and how to fix it; `undefined` means the value is fine. */
type Check<T> = (value: T) => string | undefined;

const MAX_SHOWN_VALUE_LENGTH = 120;

function showValue(value: unknown): string {
  if (value === undefined) return "undefined";
  let json: string;
  try {
    json = JSON.stringify(value) ?? String(value);
  } catch {
    json = String(value);
  }
  return json.length > MAX_SHOWN_VALUE_LENGTH ? `${json.slice(0, MAX_SHOWN_VALUE_LENGTH)}…` : json;
}

function editDistance(a: string, b: string): number {
  const previousRow = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = previousRow[0];
    previousRow[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = previousRow[j];
      const substitution = diagonal + (a[i - 1] === b[j - 1] ? 0 : 1);
      previousRow[j] = Math.min(above + 1, previousRow[j - 1] + 1, substitution);
      diagonal = above;
    }
  }
  return previousRow[b.length];
}

function closestKnownKey(key: string, allowedKeys: readonly string[]): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const candidate of allowedKeys) {
    const distance =
      candidate.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance <= 2 && (best === undefined || distance < best.distance)) best = { key: candidate, distance };
  }
  return best?.key;
}

class ProblemLog {
  readonly problems: string[] = [];
  readonly warnings: string[] = [];

  invalid(path: string, value: unknown, explanation: string): void {
    this.problems.push(`${path} = ${showValue(value)}: ${explanation}`);
  }

  missing(path: string, fix: string): void {
    this.problems.push(`${path} is required but missing: ${fix}`);
  }

  /** The value of an unknown key is not echoed: it may be a misplaced secret. */
  unknownKey(path: string, key: string, allowedKeys: readonly string[]): void {
    const suggestion = closestKnownKey(key, allowedKeys);
    this.problems.push(
      `${path} is not a known key${suggestion === undefined ? "" : ` (did you mean "${suggestion}"?)`}; ` +
        `allowed keys here: ${allowedKeys.join(", ")}`,
    );
  }

  warn(path: string, value: unknown, explanation: string): void {
    this.warnings.push(`${path} = ${showValue(value)}: ${explanation}`);
  }
}

function isPlainObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// Typed readers over one mapping of the raw config

type Requirement = { readonly required: string } | { readonly optional: true };

/**
 * One mapping of the raw config (a top-level key or a nested object). Reading a field checks its
 * type and its `Check`, logs what is wrong and returns `undefined` for a missing or bad value, so
 * later cross-field checks only ever see good values (no cascades of follow-up errors).
 */
class Section {
  private constructor(
    private readonly log: ProblemLog,
    readonly path: string,
    private readonly fields: Readonly<Record<string, unknown>>,
    /** The mapping itself is missing or malformed (already reported): stay quiet about its keys. */
    readonly unusable: boolean,
  ) {}

  static open(
    log: ProblemLog,
    path: string,
    value: unknown,
    allowedKeys: readonly string[],
    requirement: Requirement,
  ): Section {
    if (value === undefined) {
      if ("required" in requirement) {
        log.missing(path, requirement.required);
        return new Section(log, path, {}, true);
      }
      return new Section(log, path, {}, false);
    }
    if (!isPlainObject(value)) {
      log.invalid(path, value, `must be a mapping with the keys ${allowedKeys.join(", ")}`);
      return new Section(log, path, {}, true);
    }
    for (const key of Object.keys(value)) {
      if (!allowedKeys.includes(key)) log.unknownKey(`${path}.${key}`, key, allowedKeys);
    }
    return new Section(log, path, value, false);
  }

  keyPath(key: string): string {
    return `${this.path}.${key}`;
  }

  has(key: string): boolean {
    return this.fields[key] !== undefined;
  }

  value(key: string): unknown {
    return this.fields[key];
  }

  /** A nested mapping. */
  section(key: string, allowedKeys: readonly string[], requirement: Requirement): Section {
    if (this.unusable) return new Section(this.log, this.keyPath(key), {}, true);
    return Section.open(this.log, this.keyPath(key), this.value(key), allowedKeys, requirement);
  }

  private reportMissing(key: string, requirement: Requirement): void {
    if ("required" in requirement && !this.unusable) this.log.missing(this.keyPath(key), requirement.required);
  }

  string(key: string, requirement: Requirement, check?: Check<string>): string | undefined {
    const value = this.value(key);
    if (value === undefined) {
      this.reportMissing(key, requirement);
      return undefined;
    }
    if (typeof value !== "string") {
      this.log.invalid(
        this.keyPath(key),
        value,
        typeof value === "number" || typeof value === "boolean"
          ? "must be a string; quote it in YAML (unquoted, 1.10 reads as the number 1.1)"
          : "must be a string",
      );
      return undefined;
    }
    return this.checked(key, value, check);
  }

  stringOr(key: string, defaultValue: string, check?: Check<string>): string | undefined {
    return this.has(key) ? this.string(key, { optional: true }, check) : defaultValue;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], defaultValue: T, explanation?: string): T | undefined {
    const value = this.value(key);
    if (value === undefined) return defaultValue;
    if (typeof value === "string" && (allowed as readonly string[]).includes(value)) return value as T;
    this.log.invalid(
      this.keyPath(key),
      value,
      explanation ?? `must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`,
    );
    return undefined;
  }

  booleanOr(key: string, defaultValue: boolean): boolean | undefined {
    const value = this.value(key);
    if (value === undefined) return defaultValue;
    if (typeof value === "boolean") return value;
    this.log.invalid(this.keyPath(key), value, "must be a boolean (true or false, unquoted)");
    return undefined;
  }

  integerOr(key: string, defaultValue: number, minimum: number, maximum: number, unit = ""): number | undefined {
    const value = this.value(key);
    if (value === undefined) return defaultValue;
    if (typeof value === "number" && Number.isInteger(value) && value >= minimum && value <= maximum) return value;
    const range = maximum === Number.MAX_SAFE_INTEGER ? `>= ${minimum}` : `between ${minimum} and ${maximum}`;
    this.log.invalid(this.keyPath(key), value, `must be an integer ${range}${unit}`);
    return undefined;
  }

  /** A list of strings; bad items are reported one by one and left out of the result. */
  stringList(key: string, requirement: Requirement, itemCheck?: Check<string>): string[] | undefined {
    return this.stringEntries(key, requirement, itemCheck)?.map((entry) => entry.value);
  }

  /** Like `stringList`, keeping each good item's own key path (`...extensions[2]`). */
  stringEntries(
    key: string,
    requirement: Requirement,
    itemCheck?: Check<string>,
  ): Array<{ readonly path: string; readonly value: string }> | undefined {
    const value = this.value(key);
    if (value === undefined) {
      this.reportMissing(key, requirement);
      return undefined;
    }
    if (!Array.isArray(value)) {
      this.log.invalid(this.keyPath(key), value, "must be a list of strings");
      return undefined;
    }
    const entries: Array<{ path: string; value: string }> = [];
    value.forEach((item: unknown, index) => {
      const itemPath = `${this.keyPath(key)}[${index}]`;
      if (typeof item !== "string") {
        this.log.invalid(itemPath, item, "must be a string");
        return;
      }
      const problem = itemCheck?.(item);
      if (problem === undefined) entries.push({ path: itemPath, value: item });
      else this.log.invalid(itemPath, item, problem);
    });
    return entries;
  }

  /** The whole mapping as given (for messages about the mapping itself). */
  rawValue(): Readonly<Record<string, unknown>> {
    return this.fields;
  }

  problemLog(): ProblemLog {
    return this.log;
  }

  private checked(key: string, value: string, check?: Check<string>): string | undefined {
    const problem = check?.(value);
    if (problem === undefined) return value;
    this.log.invalid(this.keyPath(key), value, problem);
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Addresses and CIDRs (BigInt arithmetic, both families)

type IpFamily = 4 | 6;

interface ParsedCidr {
  readonly text: string;
  readonly family: IpFamily;
  readonly network: bigint;
  readonly prefixLength: number;
}

const IPV4_OCTET = /^(0|[1-9][0-9]{0,2})$/;
const IPV6_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** Strict dotted quad: four decimal octets 0–255, no leading zeros (they read as octal elsewhere). */
export function parseIPv4(text: string): bigint | undefined {
  const octets = text.split(".");
  if (octets.length !== 4) return undefined;
  let result = 0n;
  for (const octet of octets) {
    if (!IPV4_OCTET.test(octet) || Number(octet) > 255) return undefined;
    result = (result << 8n) | BigInt(octet);
  }
  return result;
}

/** RFC 4291 text form, with `::` compression and an optional trailing dotted quad; no zone IDs. */
export function parseIPv6(text: string): bigint | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string): string[] => (part === "" ? [] : part.split(":"));
  const head = groupsOf(halves[0]);
  const tail = halves.length === 2 ? groupsOf(halves[1]) : [];
  const lastPart = halves.length === 2 ? tail : head;
  const words: number[][] = [[], []];
  const partsInOrder: Array<[string[], number]> = [
    [head, 0],
    [tail, 1],
  ];
  for (const [groups, side] of partsInOrder) {
    for (let i = 0; i < groups.length; i++) {
      const group = groups[i];
      const isLastGroup = groups === lastPart && i === groups.length - 1;
      if (isLastGroup && group.includes(".")) {
        const embedded = parseIPv4(group);
        if (embedded === undefined) return undefined;
        words[side].push(Number(embedded >> 16n), Number(embedded & 0xffffn));
      } else if (IPV6_GROUP.test(group)) {
        words[side].push(parseInt(group, 16));
      } else {
        return undefined;
      }
    }
  }
  const explicitWords = words[0].length + words[1].length;
  if (halves.length === 2 ? explicitWords > 7 : explicitWords !== 8) return undefined;
  const allWords = [...words[0], ...Array<number>(8 - explicitWords).fill(0), ...words[1]];
  return allWords.reduce((acc, word) => (acc << 16n) | BigInt(word), 0n);
}

function familyBits(family: IpFamily): number {
  return family === 4 ? 32 : 128;
}

function parseAddress(text: string): { family: IpFamily; value: bigint } | undefined {
  const v4 = parseIPv4(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = parseIPv6(text);
  if (v6 !== undefined) return { family: 6, value: v6 };
  return undefined;
}

function formatIPv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join(".");
}

function formatIPv6(value: bigint): string {
  const words = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((shift) => Number((value >> shift) & 0xffffn));
  // Compress the longest run (length >= 2) of zero words, as RFC 5952 recommends.
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

function hostMask(family: IpFamily, prefixLength: number): bigint {
  return (1n << BigInt(familyBits(family) - prefixLength)) - 1n;
}

type CidrParse = { readonly cidr: ParsedCidr } | { readonly problem: string };

export function parseCidr(text: string): CidrParse {
  const slash = text.indexOf("/");
  const fix = "write <network address>/<prefix length>, e.g. 10.244.0.0/16 or fd00:10:244::/56";
  if (slash < 0) return { problem: `is not a CIDR (no "/<prefix length>"); ${fix}` };
  const addressText = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const address = parseAddress(addressText);
  if (address === undefined) return { problem: `"${addressText}" is not a valid IPv4 or IPv6 address; ${fix}` };
  const bits = familyBits(address.family);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > bits) {
    return { problem: `prefix length "${prefixText}" must be an integer from 0 to ${bits} for IPv${address.family}` };
  }
  const prefixLength = Number(prefixText);
  const mask = hostMask(address.family, prefixLength);
  if ((address.value & mask) !== 0n) {
    const network = address.value & ~mask;
    const networkText = address.family === 4 ? formatIPv4(network) : formatIPv6(network);
    return {
      problem:
        `has host bits set (the address is not the first address of the /${prefixLength} network); ` +
        `use ${networkText}/${prefixLength}, or a longer prefix if a smaller range was meant`,
    };
  }
  return { cidr: { text, family: address.family, network: address.value, prefixLength } };
}

function cidrContains(cidr: ParsedCidr, family: IpFamily, address: bigint): boolean {
  return family === cidr.family && (address & ~hostMask(family, cidr.prefixLength)) === cidr.network;
}

function cidrsOverlap(a: ParsedCidr, b: ParsedCidr): boolean {
  if (a.family !== b.family) return false;
  const shorter = a.prefixLength <= b.prefixLength ? a : b;
  const longer = shorter === a ? b : a;
  return cidrContains(shorter, longer.family, longer.network);
}

// ---------------------------------------------------------------------------------------------
// Value checks

const RFC1123_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const LINUX_INTERFACE_NAME = /^[A-Za-z0-9._-]{1,15}$/;
const SYSCTL_KEY = /^[a-z][a-z0-9_]*(\.[A-Za-z0-9_-]+)+$/;
const GO_DURATION = /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/;
const BYTE_SIZE = /^[0-9]+(\.[0-9]+)?\s?(B|[kKMGTPE]B|[KMGTPE]iB)$/;
const VOLUME_NAME = /^[A-Za-z0-9-]{1,34}$/;
const OFFICIAL_EXTENSION = /^siderolabs\/[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const TALOS_VERSION = /^v([0-9]+)\.([0-9]+)\.([0-9]+)$/;
const KUBERNETES_VERSION = /^v1\.[0-9]+\.[0-9]+$/;
const PREFIXED_VERSION = /^v[0-9]+\.[0-9]+\.[0-9]+$/;
const GIT_URL_SCHEME = /^(https|ssh):\/\//;
const SCP_STYLE_GIT_URL = /^([A-Za-z0-9._-]+)@([A-Za-z0-9.-]+):(?!\/\/)(.+)$/;

const checkHostname: Check<string> = (value) =>
  RFC1123_LABEL.test(value)
    ? undefined
    : "must be an RFC 1123 label: 1–63 lowercase letters, digits or '-', starting and ending with a letter or digit (it is also the Kubernetes node name)";

const checkClusterName: Check<string> = (value) =>
  RFC1123_LABEL.test(value)
    ? undefined
    : "must be an RFC 1123 label (lowercase letters, digits, '-'), e.g. home-ops; it names the cluster, its certificates and its 1Password items";

const checkIPv4: Check<string> = (value) =>
  parseIPv4(value) !== undefined
    ? undefined
    : "is not a valid IPv4 address; write four decimal octets 0–255 without leading zeros, e.g. 172.29.51.11";

const checkIPv6: Check<string> = (value) =>
  parseIPv6(value) !== undefined
    ? undefined
    : "is not a valid IPv6 address (zone IDs such as %eth0 are not allowed); e.g. fd47:25e1:2f96:51::11";

const checkIPv4Cidr: Check<string> = (value) => {
  const parsed = parseCidr(value);
  if ("problem" in parsed) return parsed.problem;
  return parsed.cidr.family === 4
    ? undefined
    : "must be an IPv4 CIDR (the nodes are reached over IPv4), e.g. 172.29.51.0/24";
};

const checkCidr: Check<string> = (value) => {
  const parsed = parseCidr(value);
  return "problem" in parsed ? parsed.problem : undefined;
};

const checkNonEmpty: Check<string> = (value) => (value.trim() === "" ? "must not be empty" : undefined);

const checkInterfaceName: Check<string> = (value) =>
  LINUX_INTERFACE_NAME.test(value)
    ? undefined
    : "must be a Linux interface name: 1–15 characters of letters, digits, '.', '_' or '-', e.g. enp3s0f0";

const checkKernelArg: Check<string> = (value) =>
  value !== "" && !/\s/.test(value)
    ? undefined
    : "must be one kernel argument without whitespace, e.g. talos.logging.kernel=udp://172.29.51.1:514/";

const checkDuration: Check<string> = (value) =>
  GO_DURATION.test(value) ? undefined : "must be a Go duration such as 30s, 1m30s or 500ms";

const checkTalosVersion: Check<string> = (value) => {
  const match = TALOS_VERSION.exec(value);
  const supported = SUPPORTED_TALOS_MINORS.join(", ");
  if (match === null) return `must be a Talos release "vX.Y.Z", e.g. v1.10.5 (supported minors: ${supported})`;
  const minor = `v${match[1]}.${match[2]}`;
  if (!(SUPPORTED_TALOS_MINORS as readonly string[]).includes(minor)) {
    return (
      `Talos minor ${minor} is not supported: this program carries machine-config schema and talosctl ` +
      `contracts only for ${supported}; pick a release of one of those minors`
    );
  }
  return undefined;
};

const checkKubernetesVersion: Check<string> = (value) =>
  KUBERNETES_VERSION.test(value) && semver.valid(value.slice(1)) !== null
    ? undefined
    : 'must be a Kubernetes release "v1.X.Y", e.g. v1.31.1';

const checkPrefixedVersion: Check<string> = (value) =>
  PREFIXED_VERSION.test(value) && semver.valid(value.slice(1)) !== null
    ? undefined
    : 'must be a release "vX.Y.Z" with the leading v, e.g. v2.8.1';

/** Helm chart versions: plain semver without a leading `v`. */
function checkChartVersion(example: string): Check<string> {
  return (value) => {
    if (/^v/i.test(value)) return `drop the leading "v": chart versions are plain semver, e.g. ${example}`;
    return /^[0-9]/.test(value) && semver.valid(value) === value
      ? undefined
      : `must be a semver version X.Y.Z, e.g. ${example}`;
  };
}

const checkExtensionName: Check<string> = (value) => {
  if (value === "siderolabs/ext-lldpd") {
    return 'there is no extension "siderolabs/ext-lldpd" (the running service is called ext-lldpd, the extension is not); use "siderolabs/lldpd"';
  }
  return OFFICIAL_EXTENSION.test(value)
    ? undefined
    : 'must name an official Talos extension as "siderolabs/<name>" with <name> of lowercase letters, digits and "-", e.g. siderolabs/iscsi-tools';
};

const checkVolumeName: Check<string> = (value) =>
  VOLUME_NAME.test(value)
    ? undefined
    : "must be 1–34 characters of letters, digits or '-' (a Talos UserVolumeConfig name; mounted at /var/mnt/<name>), e.g. longhorn-ssd";

const checkByteSize: Check<string> = (value) =>
  BYTE_SIZE.test(value) && parseFloat(value) > 0
    ? undefined
    : "must be a positive size with a unit, e.g. 1TB, 500GB or 500GiB";

const checkCelDiskSelector: Check<string> = (value) => {
  if (value.trim() === "")
    return 'must be a non-empty CEL expression over the disk, e.g. disk.model == "Portable SSD T5"';
  return value.includes("disk.")
    ? undefined
    : 'must reference the disk (disk.model, disk.serial, disk.transport, ...), e.g. disk.model == "Portable SSD T5"';
};

const checkEndpointShape: Check<string> = (value) => {
  const match = /^https:\/\/([^\s/:[\]]+):([0-9]{1,5})$/.exec(value);
  if (match === null || Number(match[2]) < 1 || Number(match[2]) > 65535) {
    return 'must be "https://<host>:<port>" with no path, e.g. https://172.29.51.10:6443 (the VIP)';
  }
  return undefined;
};

const checkGitUrl: Check<string> = (value) => {
  const scp = SCP_STYLE_GIT_URL.exec(value);
  if (scp !== null) {
    return `scp-style git URLs are not accepted by Flux; write ssh://${scp[1]}@${scp[2]}/${scp[3]}`;
  }
  return GIT_URL_SCHEME.test(value)
    ? undefined
    : "must start with https:// or ssh://, e.g. https://github.com/geoffdavis/talos-gitops";
};

const checkGitBranch: Check<string> = (value) =>
  /^[A-Za-z0-9._/-]+$/.test(value) &&
  !value.includes("..") &&
  !value.startsWith("/") &&
  !value.endsWith("/") &&
  !value.endsWith(".lock")
    ? undefined
    : "must be a git branch name (letters, digits, '.', '_', '-', '/'; no '..', no leading or trailing '/'), e.g. main";

const checkRepositoryPath: Check<string> = (value) => {
  if (value.trim() === "") return "must not be empty; the directory Flux reconciles, e.g. clusters/home-ops";
  if (value.startsWith("/")) return "must be relative to the repository root, e.g. clusters/home-ops";
  if (value.split("/").includes("..")) return 'must not contain ".." (it must stay inside the repository)';
  return /\s/.test(value) ? "must not contain whitespace" : undefined;
};

// ---------------------------------------------------------------------------------------------
// Key sets

const TOP_LEVEL_KEYS = [
  "cluster",
  "nodes",
  "talos",
  "kubernetes",
  "network",
  "machine",
  "schematic",
  "lldpd",
  "usbSsd",
  "onepassword",
  "cilium",
  "externalSecrets",
  "connect",
  "flux",
  "gitops",
  "stopAfter",
  "timeouts",
  "operations",
] as const;
const CLUSTER_KEYS = ["name", "endpoint", "vip", "dnsDomain", "allowSchedulingOnControlPlanes"];
const NODE_KEYS = [
  "hostname",
  "address",
  "ipv6",
  "role",
  "bootstrap",
  "installDisk",
  "interface",
  "extraKernelArgs",
  "sysctls",
];
const TALOS_KEYS = ["version", "talosctl"];
const NETWORK_KEYS = [
  "interface",
  "nodeSubnet",
  "podCidrs",
  "serviceCidrs",
  "loadBalancerCidrs",
  "ipv6Gateway",
  "dhcpRouteMetric",
];
const MACHINE_KEYS = [
  "installDisk",
  "extraKernelArgs",
  "encryptSystemDisk",
  "sysctls",
  "udevRules",
  "shutdownGracePeriod",
  "shutdownGracePeriodCriticalPods",
  "kubePrismPort",
];
const DISK_SELECTOR_KEYS = ["model", "serial", "size", "type", "busPath"] as const;
const DISK_TYPES = ["ssd", "hdd", "nvme", "sd"] as const;
const USB_SSD_KEYS = ["name", "selector", "maxSize", "filesystem"];
const ONEPASSWORD_KEYS = [
  "vault",
  "talosSecretsItem",
  "talosSecretsField",
  "connectCredentialsItem",
  "connectTokenItem",
  "connectTokenField",
  "auth",
  "account",
];
const CILIUM_KEYS = ["version", "acceleration", "operatorReplicas", "ipv4MaskSize", "hubble"];
const GITOPS_KEYS = ["url", "branch", "path", "auth", "credentialsItem"];
const TIMEOUT_KEYS = ["nodeReady", "apiReady", "health", "storeReady", "fluxReady", "poll"] as const;
const DEFAULT_TIMEOUTS: StackConfig["timeouts"] = {
  nodeReady: 900,
  apiReady: 600,
  health: 600,
  storeReady: 300,
  fluxReady: 600,
  poll: 5,
};

// ---------------------------------------------------------------------------------------------
// Nested readers

function readDiskSelector(section: Section): DiskSelector | undefined {
  if (section.unusable) return undefined;
  const selector: { -readonly [K in keyof DiskSelector]: DiskSelector[K] } = {};
  let valid = true;
  for (const key of DISK_SELECTOR_KEYS) {
    if (!section.has(key)) continue;
    if (key === "type") {
      const diskType = section.oneOf("type", DISK_TYPES, "ssd");
      if (diskType === undefined) valid = false;
      else selector.type = diskType;
    } else {
      const text = section.string(key, { optional: true }, checkNonEmpty);
      if (text === undefined) valid = false;
      else selector[key] = text;
    }
  }
  const knownKeysGiven = DISK_SELECTOR_KEYS.filter((key) => section.has(key));
  if (knownKeysGiven.length === 0) {
    section
      .problemLog()
      .invalid(
        section.path,
        section.rawValue(),
        `must select the disk by at least one of ${DISK_SELECTOR_KEYS.join(", ")}, e.g. { model: "APPLE*" }`,
      );
    return undefined;
  }
  return valid ? selector : undefined;
}

function readSysctls(log: ProblemLog, path: string, value: unknown): Record<string, string> | undefined {
  if (value === undefined) return {};
  if (!isPlainObject(value)) {
    log.invalid(path, value, 'must be a mapping of sysctl name to value, e.g. { net.ipv4.ip_forward: "1" }');
    return undefined;
  }
  const sysctls: Record<string, string> = {};
  let valid = true;
  for (const [key, setting] of Object.entries(value)) {
    const keyPath = `${path}[${JSON.stringify(key)}]`;
    if (!SYSCTL_KEY.test(key)) {
      log.invalid(
        keyPath,
        setting,
        `key ${JSON.stringify(key)} must be a dotted sysctl name, e.g. net.ipv4.ip_forward`,
      );
      valid = false;
    } else if (typeof setting === "string") {
      sysctls[key] = setting;
    } else if (typeof setting === "number" && Number.isFinite(setting)) {
      sysctls[key] = String(setting);
    } else {
      log.invalid(keyPath, setting, 'must be a string (or a number), e.g. "1"');
      valid = false;
    }
  }
  return valid ? sysctls : undefined;
}

interface ReadNode {
  readonly path: string;
  readonly hostname?: string;
  readonly address?: string;
  readonly ipv6?: string;
  readonly role?: NodeRole;
  readonly bootstrap?: boolean;
  /** `null` = no override (use the cluster default); `undefined` = bad override (reported). */
  readonly installDisk?: DiskSelector | null;
  readonly interface?: string | null;
  readonly extraKernelArgs?: readonly string[];
  readonly sysctls?: Readonly<Record<string, string>>;
}

function readNodes(log: ProblemLog, value: unknown): ReadNode[] | undefined {
  const path = `${CONFIG_NAMESPACE}:nodes`;
  const example = "a list like [{ hostname: mini01, address: 172.29.51.11, role: controlplane, bootstrap: true }, ...]";
  if (value === undefined) {
    log.missing(path, `set ${example}`);
    return undefined;
  }
  if (!Array.isArray(value) || value.length === 0) {
    log.invalid(path, value, `must be a non-empty list of nodes: ${example}`);
    return undefined;
  }
  return value.map((item: unknown, index): ReadNode => {
    const node = Section.open(log, `${path}[${index}]`, item, NODE_KEYS, { required: "" });
    if (node.unusable) return { path: node.path };
    return {
      path: node.path,
      hostname: node.string("hostname", { required: "set the node's hostname, e.g. mini01" }, checkHostname),
      address: node.string("address", { required: "set the node's IPv4 address, e.g. 172.29.51.11" }, checkIPv4),
      ipv6: node.string("ipv6", { optional: true }, checkIPv6),
      role: node.oneOf("role", ["controlplane", "worker"] as const, "controlplane"),
      bootstrap: node.booleanOr("bootstrap", false),
      installDisk: node.has("installDisk")
        ? readDiskSelector(node.section("installDisk", DISK_SELECTOR_KEYS, { optional: true }))
        : null,
      interface: node.has("interface") ? node.string("interface", { optional: true }, checkInterfaceName) : null,
      extraKernelArgs: node.has("extraKernelArgs")
        ? node.stringList("extraKernelArgs", { optional: true }, checkKernelArg)
        : [],
      sysctls: readSysctls(log, node.keyPath("sysctls"), node.value("sysctls")),
    };
  });
}

interface NamedCidr {
  /** Key path of the list item, e.g. `homeops:network.podCidrs[1]`. */
  readonly path: string;
  readonly cidr: ParsedCidr;
}

function readCidrList(section: Section, key: string, requirement: Requirement): NamedCidr[] {
  const entries = section.stringEntries(key, requirement, checkCidr) ?? [];
  return entries.map((entry) => ({ path: entry.path, cidr: (parseCidr(entry.value) as { cidr: ParsedCidr }).cidr }));
}

// ---------------------------------------------------------------------------------------------
// parseStackConfig

function defined<T>(value: T | undefined | null): T {
  // Only reached after every problem was reported and none was found.
  if (value === undefined || value === null) throw new Error("internal: config value unexpectedly missing");
  return value;
}

/**
 * Validates the raw stack config (keys without the `homeops:` prefix) and returns the typed config
 * plus soft warnings. Throws `ConfigError` listing every problem found.
 */
export function parseStackConfig(raw: RawConfig, stack: string): { config: StackConfig; warnings: string[] } {
  const log = new ProblemLog();
  const ns = CONFIG_NAMESPACE;
  if (!isPlainObject(raw)) {
    throw new ConfigError([`${ns} config = ${showValue(raw)}: must be a mapping of ${ns}:<key> to value`]);
  }
  if (typeof stack !== "string" || stack.trim() === "") {
    log.invalid("stack", stack, "the Pulumi stack name must be a non-empty string, e.g. home-ops");
  }
  for (const key of Object.keys(raw)) {
    if ((SECRET_CONFIG_KEYS as readonly string[]).includes(key)) {
      // The value is not echoed: it is a secret written in plain text.
      log.problems.push(
        `${ns}:${key} is a secret but is stored in plain text: remove it and run \`pulumi config set --secret ${ns}:${key} <value>\``,
      );
    } else if (!(TOP_LEVEL_KEYS as readonly string[]).includes(key)) {
      log.unknownKey(`${ns}:${key}`, key, TOP_LEVEL_KEYS);
    }
  }
  const top = (key: string, allowedKeys: readonly string[], requirement: Requirement): Section =>
    Section.open(log, `${ns}:${key}`, raw[key], allowedKeys, requirement);

  // --- cluster
  const cluster = top("cluster", CLUSTER_KEYS, { required: "set name, endpoint and vip of the cluster" });
  const clusterName = cluster.string("name", { required: "set the cluster name, e.g. home-ops" }, checkClusterName);
  const endpoint = cluster.string(
    "endpoint",
    { required: "set the Kubernetes API endpoint on the VIP, e.g. https://172.29.51.10:6443" },
    checkEndpointShape,
  );
  const vip = cluster.string("vip", { required: "set the Talos shared VIP, e.g. 172.29.51.10" }, checkIPv4);
  const dnsDomain = cluster.stringOr("dnsDomain", "cluster.local", (value) =>
    DNS_NAME.test(value) ? undefined : "must be a lowercase DNS domain, e.g. cluster.local",
  );
  const allowSchedulingOnControlPlanes = cluster.booleanOr("allowSchedulingOnControlPlanes", true);

  // --- nodes
  const nodes = readNodes(log, raw.nodes);

  // --- talos, kubernetes
  const talos = top("talos", TALOS_KEYS, { required: "set talos.version, e.g. { version: v1.10.5 }" });
  const talosVersion = talos.string("version", { required: "set the Talos release, e.g. v1.10.5" }, checkTalosVersion);
  const talosctl = talos.stringOr("talosctl", "talosctl", checkNonEmpty);
  const kubernetes = top("kubernetes", ["version"], { required: "set kubernetes.version, e.g. { version: v1.31.1 }" });
  const kubernetesVersion = kubernetes.string(
    "version",
    { required: "set the Kubernetes release, e.g. v1.31.1" },
    checkKubernetesVersion,
  );

  // --- network
  const network = top("network", NETWORK_KEYS, { required: "set interface, nodeSubnet, podCidrs and serviceCidrs" });
  const defaultInterface = network.string(
    "interface",
    { required: "set the node NIC name, e.g. enp3s0f0" },
    checkInterfaceName,
  );
  const nodeSubnetText = network.string(
    "nodeSubnet",
    { required: "set the node subnet, e.g. 172.29.51.0/24" },
    checkIPv4Cidr,
  );
  const nodeSubnet =
    nodeSubnetText === undefined ? undefined : (parseCidr(nodeSubnetText) as { cidr: ParsedCidr }).cidr;
  const podCidrs = readCidrList(network, "podCidrs", { required: "set the pod CIDRs, e.g. [10.244.0.0/16]" });
  const serviceCidrs = readCidrList(network, "serviceCidrs", {
    required: "set the service CIDRs, e.g. [10.96.0.0/12]",
  });
  const loadBalancerCidrs = network.has("loadBalancerCidrs")
    ? readCidrList(network, "loadBalancerCidrs", { optional: true })
    : [];
  const ipv6Gateway = network.string("ipv6Gateway", { optional: true }, checkIPv6);
  const dhcpRouteMetric = network.integerOr("dhcpRouteMetric", 1024, 0, 4294967295);

  // --- machine
  const machine = top("machine", MACHINE_KEYS, { required: 'set machine.installDisk, e.g. { model: "APPLE*" }' });
  let defaultInstallDisk: DiskSelector | undefined;
  if (machine.has("installDisk")) {
    defaultInstallDisk = readDiskSelector(machine.section("installDisk", DISK_SELECTOR_KEYS, { optional: true }));
  } else if (!machine.unusable) {
    log.missing(machine.keyPath("installDisk"), 'set the install disk selector, e.g. { model: "APPLE*" }');
  }
  const defaultKernelArgs = machine.has("extraKernelArgs")
    ? machine.stringList("extraKernelArgs", { optional: true }, checkKernelArg)
    : [];
  const defaultSysctls = readSysctls(log, machine.keyPath("sysctls"), machine.value("sysctls"));
  const encryptSystemDisk = machine.booleanOr("encryptSystemDisk", true);
  const udevRules = machine.has("udevRules") ? machine.stringList("udevRules", { optional: true }, checkNonEmpty) : [];
  const shutdownGracePeriod = machine.stringOr("shutdownGracePeriod", "30s", checkDuration);
  const shutdownGracePeriodCriticalPods = machine.stringOr("shutdownGracePeriodCriticalPods", "10s", checkDuration);
  const kubePrismPort = machine.integerOr("kubePrismPort", 7445, 1, 65535);

  // --- schematic, lldpd, usbSsd
  const schematic = top("schematic", ["extensions"], {
    required: "set schematic.extensions, e.g. [siderolabs/iscsi-tools, siderolabs/lldpd]",
  });
  const extensionEntries = schematic.stringEntries(
    "extensions",
    { required: "list the official extensions, e.g. [siderolabs/iscsi-tools, siderolabs/lldpd]" },
    checkExtensionName,
  );
  const extensions = extensionEntries?.map((entry) => entry.value);
  const lldpd = top("lldpd", ["config"], { required: "set lldpd.config (lldpcli commands)" });
  const lldpdConfig = lldpd.string(
    "config",
    { required: "set the lldpcli commands, e.g. configure lldpd portidsubtype ifname" },
    (value) =>
      value.trim() === "" ? "must hold lldpcli commands, e.g. configure lldpd portidsubtype ifname" : undefined,
  );
  const usbSsd = top("usbSsd", USB_SSD_KEYS, { required: "set name, selector, maxSize and filesystem" });
  const usbSsdName = usbSsd.string("name", { required: "set the volume name, e.g. longhorn-ssd" }, checkVolumeName);
  const usbSsdSelector = usbSsd.string(
    "selector",
    { required: 'set a CEL disk selector, e.g. disk.model == "Portable SSD T5"' },
    checkCelDiskSelector,
  );
  const usbSsdMaxSize = usbSsd.string("maxSize", { required: "set the maximum size, e.g. 1TB" }, checkByteSize);
  let usbSsdFilesystem: "xfs" | "ext4" | undefined;
  if (usbSsd.has("filesystem")) usbSsdFilesystem = usbSsd.oneOf("filesystem", ["xfs", "ext4"] as const, "xfs");
  else if (!usbSsd.unusable) log.missing(usbSsd.keyPath("filesystem"), 'set "xfs" or "ext4"');

  // --- onepassword
  const onepassword = top("onepassword", ONEPASSWORD_KEYS, { optional: true });
  const nameForItems = clusterName ?? "<cluster name>";
  const vault = onepassword.stringOr("vault", "Automation", checkNonEmpty);
  const talosSecretsItem = onepassword.stringOr("talosSecretsItem", `Talos Secrets - ${nameForItems}`, checkNonEmpty);
  const talosSecretsField = onepassword.stringOr("talosSecretsField", "talsecret", checkNonEmpty);
  const connectCredentialsItem = onepassword.stringOr(
    "connectCredentialsItem",
    `1Password Connect Credentials - ${nameForItems}`,
    checkNonEmpty,
  );
  const connectTokenItem = onepassword.stringOr(
    "connectTokenItem",
    `1Password Connect Token - ${nameForItems}`,
    checkNonEmpty,
  );
  const connectTokenField = onepassword.stringOr("connectTokenField", "token", checkNonEmpty);
  const onepasswordAuth = onepassword.oneOf("auth", ["service-account", "account"] as const, "service-account");
  const onepasswordAccount = onepassword.string("account", { optional: true }, checkNonEmpty);
  if (onepasswordAuth === "account" && !onepassword.has("account")) {
    log.missing(
      onepassword.keyPath("account"),
      'auth "account" signs in to a 1Password account: set its sign-in address or ID, e.g. my.1password.com',
    );
  }
  if (onepasswordAuth === "service-account" && onepasswordAccount !== undefined) {
    log.warn(onepassword.keyPath("account"), onepasswordAccount, 'is ignored with auth "service-account"');
  }

  // --- cilium and the other charts
  const cilium = top("cilium", CILIUM_KEYS, { required: "set cilium.version, e.g. 1.17.6" });
  const ciliumVersion = cilium.string(
    "version",
    { required: "set the Cilium chart version, e.g. 1.17.6" },
    checkChartVersion("1.17.6"),
  );
  const acceleration = cilium.oneOf(
    "acceleration",
    ["disabled"] as const,
    "disabled",
    'must be "disabled": XDP load-balancer acceleration (native/best-effort) breaks on the Mac mini NIC and takes the node offline',
  );
  const operatorReplicas = cilium.integerOr("operatorReplicas", 1, 1, Number.MAX_SAFE_INTEGER);
  const ipv4MaskSize = cilium.integerOr("ipv4MaskSize", 24, 16, 30, " (the per-node pod CIDR prefix length)");
  const hubble = cilium.booleanOr("hubble", true);
  const externalSecrets = top("externalSecrets", ["version"], { required: "set externalSecrets.version, e.g. 0.17.0" });
  const externalSecretsVersion = externalSecrets.string(
    "version",
    { required: "set the External Secrets chart version, e.g. 0.17.0" },
    checkChartVersion("0.17.0"),
  );
  const connect = top("connect", ["version"], { required: "set connect.version, e.g. 1.8.1" });
  const connectVersion = connect.string(
    "version",
    { required: "set the 1Password Connect version, e.g. 1.8.1" },
    checkChartVersion("1.8.1"),
  );
  const flux = top("flux", ["version", "operatorVersion"], { required: "set flux.version and flux.operatorVersion" });
  const fluxVersion = flux.string("version", { required: "set the Flux release, e.g. v2.8.1" }, checkPrefixedVersion);
  const fluxOperatorVersion = flux.string(
    "operatorVersion",
    { required: "set the Flux operator chart version, e.g. 0.33.0" },
    checkChartVersion("0.33.0"),
  );

  // --- gitops
  const gitops = top("gitops", GITOPS_KEYS, { required: "set gitops.url and gitops.path" });
  const gitUrl = gitops.string(
    "url",
    { required: "set the repository Flux syncs, e.g. https://github.com/geoffdavis/talos-gitops" },
    checkGitUrl,
  );
  const gitBranch = gitops.stringOr("branch", "main", checkGitBranch);
  const gitPath = gitops.string(
    "path",
    { required: "set the directory Flux reconciles, e.g. clusters/home-ops" },
    checkRepositoryPath,
  );
  const gitAuth = gitops.oneOf("auth", ["none", "ssh", "token"] as const, "none");
  const credentialsItem = gitops.string("credentialsItem", { optional: true }, checkNonEmpty);
  if (gitAuth !== undefined && gitAuth !== "none" && !gitops.has("credentialsItem")) {
    log.missing(
      gitops.keyPath("credentialsItem"),
      `auth "${gitAuth}" needs the 1Password item holding the ${gitAuth === "ssh" ? "deploy key" : "token"}; set gitops.credentialsItem`,
    );
  }
  if (gitAuth === "none" && credentialsItem !== undefined) {
    log.warn(gitops.keyPath("credentialsItem"), credentialsItem, 'is ignored with auth "none"');
  }
  if (gitUrl !== undefined && gitAuth === "ssh" && !gitUrl.startsWith("ssh://")) {
    log.invalid(
      gitops.keyPath("auth"),
      gitAuth,
      `auth "ssh" needs an ssh:// url, but gitops.url is ${showValue(gitUrl)}`,
    );
  }
  if (gitUrl !== undefined && gitAuth === "token" && !gitUrl.startsWith("https://")) {
    log.invalid(
      gitops.keyPath("auth"),
      gitAuth,
      `auth "token" needs an https:// url, but gitops.url is ${showValue(gitUrl)}`,
    );
  }

  // --- stopAfter, timeouts, operations
  let stopAfter: Phase | undefined = "gitops";
  if (raw.stopAfter !== undefined) {
    const value = raw.stopAfter;
    if (typeof value === "string" && (PHASES as readonly string[]).includes(value)) stopAfter = value as Phase;
    else {
      log.invalid(`${ns}:stopAfter`, value, `must be one of the phases ${PHASES.join(", ")} (in run order)`);
      stopAfter = undefined;
    }
  }
  const timeoutSection = top("timeouts", TIMEOUT_KEYS, { optional: true });
  const timeouts: Partial<Record<(typeof TIMEOUT_KEYS)[number], number>> = {};
  for (const key of TIMEOUT_KEYS) {
    const seconds = timeoutSection.integerOr(key, DEFAULT_TIMEOUTS[key], 1, Number.MAX_SAFE_INTEGER, " (seconds)");
    if (seconds !== undefined) timeouts[key] = seconds;
  }
  const poll = timeouts.poll;
  if (poll !== undefined) {
    const notLonger = TIMEOUT_KEYS.filter((key) => {
      const seconds = timeouts[key];
      return key !== "poll" && seconds !== undefined && seconds <= poll;
    });
    if (notLonger.length > 0) {
      log.invalid(
        timeoutSection.keyPath("poll"),
        timeouts.poll,
        `the poll interval must be shorter than every timeout, but ${notLonger.map((k) => `${k} (${timeouts[k]})`).join(", ")} ${notLonger.length === 1 ? "is" : "are"} not longer`,
      );
    }
  }
  const operations = top("operations", ["resetOnDestroy"], { optional: true });
  const resetOnDestroy = operations.has("resetOnDestroy")
    ? operations.stringList("resetOnDestroy", { optional: true })
    : [];

  // --- cross-field checks
  const hostnames = new Set<string>();
  const effectiveNodes: NodeConfig[] = [];
  if (nodes !== undefined) {
    const firstPathOf = new Map<string, string>();
    const noteUnique = (kind: string, key: string, path: string, value: string, why: string): void => {
      const earlier = firstPathOf.get(`${kind}:${key}`);
      if (earlier === undefined) firstPathOf.set(`${kind}:${key}`, path);
      else log.invalid(path, value, `duplicates ${earlier}; ${why}`);
    };
    for (const node of nodes) {
      if (node.hostname !== undefined) {
        noteUnique("hostname", node.hostname, `${node.path}.hostname`, node.hostname, "hostnames must be unique");
        hostnames.add(node.hostname);
      }
      if (node.address !== undefined) {
        noteUnique("address", node.address, `${node.path}.address`, node.address, "each node needs its own address");
        if (nodeSubnet !== undefined && !cidrContains(nodeSubnet, 4, defined(parseIPv4(node.address)))) {
          log.invalid(
            `${node.path}.address`,
            node.address,
            `is outside network.nodeSubnet ${nodeSubnet.text}; the program reaches nodes on that subnet`,
          );
        }
      }
      if (node.ipv6 !== undefined) {
        const v6 = defined(parseIPv6(node.ipv6));
        noteUnique("ipv6", v6.toString(), `${node.path}.ipv6`, node.ipv6, "each node needs its own address");
        for (const range of [...podCidrs, ...serviceCidrs, ...loadBalancerCidrs]) {
          if (cidrContains(range.cidr, 6, v6)) {
            log.invalid(
              `${node.path}.ipv6`,
              node.ipv6,
              `lies inside ${range.path} (${range.cidr.text}); node addresses must be outside pod, service and load-balancer CIDRs`,
            );
          }
        }
      }
      if (node.bootstrap === true && node.role === "worker") {
        log.invalid(
          `${node.path}.bootstrap`,
          true,
          "a worker cannot bootstrap etcd; set bootstrap: true on a control-plane node instead",
        );
      }
    }
    const controlPlanes = nodes.filter((node) => node.role === "controlplane");
    const bootstrapNodes = nodes.filter((node) => node.bootstrap === true);
    const allRolesRead = nodes.every((node) => node.role !== undefined);
    if (allRolesRead && controlPlanes.length === 0) {
      log.invalid(
        `${ns}:nodes`,
        nodes.map((n) => n.hostname ?? null),
        "needs at least one node with role controlplane (etcd and the API server run there)",
      );
    }
    if (nodes.every((node) => node.bootstrap !== undefined) && bootstrapNodes.length === 0) {
      const only = controlPlanes.length === 1 ? controlPlanes[0] : undefined;
      log.invalid(
        `${ns}:nodes`,
        nodes.map((n) => n.hostname ?? null),
        "no node has bootstrap: true; the operator must name the one control-plane node that bootstraps etcd" +
          (only === undefined
            ? ""
            : ` — set bootstrap: true on ${only.path} (${only.hostname ?? "the only control plane"})`),
      );
    }
    for (const extra of bootstrapNodes.slice(1)) {
      log.invalid(
        `${extra.path}.bootstrap`,
        true,
        `only one node may bootstrap etcd, and ${bootstrapNodes[0].path} (${bootstrapNodes[0].hostname ?? "?"}) already does; remove bootstrap from this node`,
      );
    }
    if (allRolesRead && controlPlanes.length > 0 && controlPlanes.length % 2 === 0) {
      log.warn(
        `${ns}:nodes`,
        controlPlanes.map((n) => n.hostname ?? null),
        `${controlPlanes.length} control-plane nodes: an even etcd member count tolerates no more failures than ${controlPlanes.length - 1}; prefer an odd count`,
      );
    }
    if (nodes.length === 1) {
      log.warn(
        `${ns}:nodes`,
        nodes.map((n) => n.hostname ?? null),
        "a single node: no redundancy, the cluster is down whenever it is",
      );
    }
    if (allRolesRead && allowSchedulingOnControlPlanes === false && nodes.every((n) => n.role === "controlplane")) {
      log.warn(
        `${ns}:cluster.allowSchedulingOnControlPlanes`,
        false,
        "there are no worker nodes, so ordinary workloads (Flux, External Secrets, Connect) cannot be scheduled",
      );
    }

    // Effective per-node values: cluster defaults with the node's own overrides.
    for (const node of nodes) {
      const installDisk = node.installDisk === null ? defaultInstallDisk : node.installDisk;
      const nicName = node.interface === null ? defaultInterface : node.interface;
      if (
        node.hostname === undefined ||
        node.address === undefined ||
        node.role === undefined ||
        node.bootstrap === undefined ||
        installDisk === undefined ||
        nicName === undefined ||
        node.extraKernelArgs === undefined ||
        node.sysctls === undefined ||
        defaultKernelArgs === undefined ||
        defaultSysctls === undefined
      ) {
        continue;
      }
      effectiveNodes.push({
        hostname: node.hostname,
        address: node.address,
        ...(node.ipv6 === undefined ? {} : { ipv6: node.ipv6 }),
        role: node.role,
        bootstrap: node.bootstrap,
        installDisk,
        interface: nicName,
        extraKernelArgs: [...defaultKernelArgs, ...node.extraKernelArgs],
        sysctls: { ...defaultSysctls, ...node.sysctls },
      });
    }
  }

  const nodeAddresses = new Set((nodes ?? []).map((node) => node.address).filter((a): a is string => a !== undefined));
  if (vip !== undefined) {
    if (nodeSubnet !== undefined && !cidrContains(nodeSubnet, 4, defined(parseIPv4(vip)))) {
      log.invalid(
        cluster.keyPath("vip"),
        vip,
        `must lie inside network.nodeSubnet ${nodeSubnet.text}: Talos places the VIP on the node NIC`,
      );
    }
    if (nodeAddresses.has(vip)) {
      log.invalid(
        cluster.keyPath("vip"),
        vip,
        "equals a node address; the VIP must be a free address of the node subnet, owned by no node",
      );
    }
  }
  if (endpoint !== undefined && vip !== undefined) {
    const endpointHost = endpoint.slice("https://".length, endpoint.lastIndexOf(":"));
    if (endpointHost !== vip) {
      if (nodeAddresses.has(endpointHost)) {
        log.warn(
          cluster.keyPath("endpoint"),
          endpoint,
          `points at a single node, not the VIP ${vip}; the API is unreachable whenever that node is down (use https://${vip}:6443)`,
        );
      } else {
        log.invalid(
          cluster.keyPath("endpoint"),
          endpoint,
          `must point at the VIP ${vip} (e.g. https://${vip}:6443) or at a node address`,
        );
      }
    }
  }

  // CIDR families and overlaps (same family only).
  const podAndServiceLists = [
    { key: "podCidrs", ranges: podCidrs, example: "10.244.0.0/16" },
    { key: "serviceCidrs", ranges: serviceCidrs, example: "10.96.0.0/12" },
  ] as const;
  for (const { key, ranges, example } of podAndServiceLists) {
    const givenTexts = ranges.map((range) => range.cidr.text);
    const listIsAllGood =
      Array.isArray(network.value(key)) && (network.value(key) as unknown[]).length === ranges.length;
    if (listIsAllGood && !ranges.some((range) => range.cidr.family === 4)) {
      log.invalid(network.keyPath(key), givenTexts, `needs at least one IPv4 CIDR, e.g. ${example}`);
    }
    for (const family of [4, 6] as const) {
      if (ranges.filter((range) => range.cidr.family === family).length > 1) {
        log.invalid(
          network.keyPath(key),
          givenTexts,
          `has more than one IPv${family} CIDR; Kubernetes dual-stack allows at most one per family`,
        );
      }
    }
  }
  const namedRanges: NamedCidr[] = [
    ...(nodeSubnet === undefined ? [] : [{ path: network.keyPath("nodeSubnet"), cidr: nodeSubnet }]),
    ...podCidrs,
    ...serviceCidrs,
    ...loadBalancerCidrs,
  ];
  for (let later = 1; later < namedRanges.length; later++) {
    for (let earlier = 0; earlier < later; earlier++) {
      if (cidrsOverlap(namedRanges[earlier].cidr, namedRanges[later].cidr)) {
        log.invalid(
          namedRanges[later].path,
          namedRanges[later].cidr.text,
          `overlaps ${namedRanges[earlier].path} (${namedRanges[earlier].cidr.text}); node, pod, service and load-balancer ranges must be disjoint`,
        );
      }
    }
  }
  const ipv4PodCidr = podCidrs.map((range) => range.cidr).find((cidr) => cidr.family === 4);
  if (ipv4MaskSize !== undefined && ipv4PodCidr !== undefined && ipv4MaskSize <= ipv4PodCidr.prefixLength) {
    log.invalid(
      cilium.keyPath("ipv4MaskSize"),
      ipv4MaskSize,
      `must be larger than the IPv4 pod CIDR prefix /${ipv4PodCidr.prefixLength} (${ipv4PodCidr.text}) so each node gets a slice of it, e.g. 24`,
    );
  }

  // Schematic extensions: unique, and lldpd present for the lldpd config.
  if (extensionEntries !== undefined) {
    const firstPathOf = new Map<string, string>();
    for (const { path, value } of extensionEntries) {
      const earlier = firstPathOf.get(value);
      if (earlier === undefined) firstPathOf.set(value, path);
      else log.invalid(path, value, `duplicates ${earlier}; list each extension once`);
    }
    // A misspelt `siderolabs/ext-lldpd` already got its own hint above.
    const misspeltLldpd = (schematic.value("extensions") as unknown[]).includes("siderolabs/ext-lldpd");
    if (lldpdConfig !== undefined && !misspeltLldpd && !extensions?.includes("siderolabs/lldpd")) {
      log.invalid(
        schematic.keyPath("extensions"),
        schematic.value("extensions"),
        'lldpd.config is set but the schematic lacks the "siderolabs/lldpd" extension that runs it; add siderolabs/lldpd',
      );
    }
  }

  // Destructive operations only on configured nodes.
  if (resetOnDestroy !== undefined) {
    const seen = new Set<string>();
    resetOnDestroy.forEach((hostname, index) => {
      const path = `${operations.keyPath("resetOnDestroy")}[${index}]`;
      if (nodes !== undefined && !hostnames.has(hostname)) {
        log.invalid(path, hostname, `is not a configured node; allowed: ${[...hostnames].join(", ")}`);
      } else if (seen.has(hostname)) {
        log.invalid(path, hostname, "is listed twice");
      }
      seen.add(hostname);
    });
  }

  if (log.problems.length > 0) throw new ConfigError(log.problems);

  const talosMatch = defined(TALOS_VERSION.exec(defined(talosVersion)));
  const config: StackConfig = {
    stack,
    cluster: {
      name: defined(clusterName),
      endpoint: defined(endpoint),
      vip: defined(vip),
      dnsDomain: defined(dnsDomain),
      allowSchedulingOnControlPlanes: defined(allowSchedulingOnControlPlanes),
    },
    nodes: effectiveNodes,
    talos: {
      version: defined(talosVersion),
      minor: `v${talosMatch[1]}.${talosMatch[2]}` as TalosMinor,
      talosctl: defined(talosctl),
    },
    kubernetes: { version: defined(kubernetesVersion) },
    network: {
      nodeSubnet: defined(nodeSubnet).text,
      podCidrs: podCidrs.map((range) => range.cidr.text),
      serviceCidrs: serviceCidrs.map((range) => range.cidr.text),
      loadBalancerCidrs: loadBalancerCidrs.map((range) => range.cidr.text),
      ...(ipv6Gateway === undefined ? {} : { ipv6Gateway }),
      dhcpRouteMetric: defined(dhcpRouteMetric),
    },
    machine: {
      encryptSystemDisk: defined(encryptSystemDisk),
      udevRules: defined(udevRules),
      shutdownGracePeriod: defined(shutdownGracePeriod),
      shutdownGracePeriodCriticalPods: defined(shutdownGracePeriodCriticalPods),
      kubePrismPort: defined(kubePrismPort),
    },
    schematic: { extensions: defined(extensions) },
    lldpd: { config: defined(lldpdConfig) },
    usbSsd: {
      name: defined(usbSsdName),
      selector: defined(usbSsdSelector),
      maxSize: defined(usbSsdMaxSize),
      filesystem: defined(usbSsdFilesystem),
      mountPath: `/var/mnt/${defined(usbSsdName)}`,
    },
    onepassword: {
      vault: defined(vault),
      talosSecretsItem: defined(talosSecretsItem),
      talosSecretsField: defined(talosSecretsField),
      connectCredentialsItem: defined(connectCredentialsItem),
      connectTokenItem: defined(connectTokenItem),
      connectTokenField: defined(connectTokenField),
      auth: defined(onepasswordAuth),
      ...(onepasswordAuth === "account" ? { account: defined(onepasswordAccount) } : {}),
    },
    cilium: {
      version: defined(ciliumVersion),
      acceleration: defined(acceleration),
      operatorReplicas: defined(operatorReplicas),
      ipv4MaskSize: defined(ipv4MaskSize),
      hubble: defined(hubble),
    },
    externalSecrets: { version: defined(externalSecretsVersion) },
    connect: { version: defined(connectVersion) },
    flux: { version: defined(fluxVersion), operatorVersion: defined(fluxOperatorVersion) },
    gitops: {
      url: defined(gitUrl),
      branch: defined(gitBranch),
      path: defined(gitPath),
      auth: defined(gitAuth),
      ...(gitAuth === "none" ? {} : { credentialsItem: defined(credentialsItem) }),
    },
    stopAfter: defined(stopAfter),
    timeouts: {
      nodeReady: defined(timeouts.nodeReady),
      apiReady: defined(timeouts.apiReady),
      health: defined(timeouts.health),
      storeReady: defined(timeouts.storeReady),
      fluxReady: defined(timeouts.fluxReady),
      poll: defined(timeouts.poll),
    },
    operations: { resetOnDestroy: defined(resetOnDestroy) },
  };
  return { config, warnings: log.warnings };
}
