/**
 * Building blocks of the stack-file schema (config/schema.ts): zod types whose every failure
 * message says what is allowed, and the value checks zod has no built-in for. A message is the
 * explanation only: config/problems.ts puts the key path and the value in front of it. A
 * required field's error function answers `undefined` input with the fix for the missing key.
 */
import * as semver from "semver";
import * as z from "zod";
import { isIPv4, isIPv6, parseCidr } from "./network";
import { SUPPORTED_TALOS_MINORS } from "./types";

/** An explanation of what is wrong and how to fix it, or `undefined` when the value is fine. */
export type Explain<T> = (value: T) => string | undefined;

/** Runs `explain` as a zod check: its answer becomes the issue message. */
export function rule<T>(explain: Explain<T>): (payload: z.core.ParsePayload<T>) => void {
  return (payload) => {
    const problem = explain(payload.value);
    if (problem !== undefined) payload.issues.push({ code: "custom", message: problem, input: payload.value });
  };
}

type IssueInput = { readonly input?: unknown };

/** Error function of a type check: `required` for a missing key, `wrongType` otherwise. */
function typeError(required: string | undefined, wrongType: string | ((input: unknown) => string)) {
  return (issue: IssueInput): string | undefined => {
    if (issue.input === undefined) return required;
    return typeof wrongType === "string" ? wrongType : wrongType(issue.input);
  };
}

/** A string. `required` is the fix shown when the key is missing. */
export function text(required?: string): z.ZodString {
  return z.string({
    error: typeError(required, (input) =>
      typeof input === "number" || typeof input === "boolean"
        ? "must be a string; quote it in YAML (unquoted, 1.10 reads as the number 1.1)"
        : "must be a string",
    ),
  });
}

export const NOT_EMPTY: Explain<string> = (value) => (value.trim() === "" ? "must not be empty" : undefined);

/** A string with at least one non-blank character. */
export function nonEmptyText(required?: string) {
  return text(required).check(rule(NOT_EMPTY)).meta({ minLength: 1 });
}

/** One of `values`; `explanation` replaces the generic "must be one of ...". */
export function oneOf<const T extends readonly [string, ...string[]]>(
  values: T,
  options: { readonly required?: string; readonly explanation?: string } = {},
) {
  const allowed = `must be one of ${values.map((v) => JSON.stringify(v)).join(", ")}`;
  return z.enum(values, { error: typeError(options.required, options.explanation ?? allowed) });
}

export function flag(): z.ZodBoolean {
  return z.boolean({ error: typeError(undefined, "must be a boolean (true or false, unquoted)") });
}

/** An integer in [minimum, maximum]; `unit` is appended to the message, e.g. " (seconds)". */
export function integer(minimum: number, maximum = Number.MAX_SAFE_INTEGER, unit = "") {
  const range = maximum === Number.MAX_SAFE_INTEGER ? `>= ${minimum}` : `between ${minimum} and ${maximum}`;
  const message = `must be an integer ${range}${unit}`;
  return z.int({ error: message }).min(minimum, { error: message }).max(maximum, { error: message });
}

/** A list (of strings unless `wrongType` says otherwise); `required` is the fix for a missing key. */
export function list<T extends z.ZodType>(item: T, required?: string, wrongType = "must be a list of strings") {
  return z.array(item, { error: typeError(required, wrongType) });
}

/** A mapping with exactly these keys (unknown keys are reported with a "did you mean"). */
export function section<S extends z.ZodRawShape>(shape: S, required?: string) {
  const keys = Object.keys(shape).join(", ");
  return z.strictObject(shape, { error: typeError(required, `must be a mapping with the keys ${keys}`) });
}

// ---------------------------------------------------------------------------------------------
// Value checks

export const RFC1123_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
export const LINUX_INTERFACE_NAME = /^[A-Za-z0-9._-]{1,15}$/;
export const SYSCTL_NAME = /^[a-z][a-z0-9_]*(\.[A-Za-z0-9_-]+)+$/;
export const GO_DURATION = /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/;
export const VOLUME_NAME = /^[A-Za-z0-9-]{1,34}$/;
const BYTE_SIZE = /^[0-9]+(\.[0-9]+)?\s?(B|[kKMGTPE]B|[KMGTPE]iB)$/;
const OFFICIAL_EXTENSION = /^siderolabs\/[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
export const TALOS_VERSION = /^v([0-9]+)\.([0-9]+)\.([0-9]+)$/;
const KUBERNETES_VERSION = /^v1\.[0-9]+\.[0-9]+$/;
const PREFIXED_VERSION = /^v[0-9]+\.[0-9]+\.[0-9]+$/;
const SCP_STYLE_GIT_URL = /^([A-Za-z0-9._-]+)@([A-Za-z0-9.-]+):(?!\/\/)(.+)$/;
const ENDPOINT = /^https:\/\/([^\s/:[\]]+):([0-9]{1,5})$/;

export const HOSTNAME_RULE =
  "must be an RFC 1123 label: 1–63 lowercase letters, digits or '-', starting and ending with a letter or digit (it is also the Kubernetes node name)";
export const INTERFACE_RULE =
  "must be a Linux interface name: 1–15 characters of letters, digits, '.', '_' or '-', e.g. enp3s0f0";
export const DURATION_RULE = "must be a Go duration such as 30s, 1m30s or 500ms";

export const checkIPv4: Explain<string> = (value) =>
  isIPv4(value)
    ? undefined
    : "is not a valid IPv4 address; write four decimal octets 0–255 without leading zeros, e.g. 172.29.51.11";

export const checkIPv6: Explain<string> = (value) =>
  isIPv6(value)
    ? undefined
    : "is not a valid IPv6 address (zone IDs such as %eth0 are not allowed); e.g. fd47:25e1:2f96:51::11";

export const checkCidr: Explain<string> = (value) => {
  const parsed = parseCidr(value);
  return "problem" in parsed ? parsed.problem : undefined;
};

export const checkIPv4Cidr: Explain<string> = (value) => {
  const parsed = parseCidr(value);
  if ("problem" in parsed) return parsed.problem;
  return parsed.cidr.family === 4
    ? undefined
    : "must be an IPv4 CIDR (the nodes are reached over IPv4), e.g. 172.29.51.0/24";
};

export const checkKernelArg: Explain<string> = (value) =>
  value !== "" && !/\s/.test(value)
    ? undefined
    : "must be one kernel argument without whitespace, e.g. talos.logging.kernel=udp://172.29.51.1:514/";

// Scalars Go's yaml.v3 writes unquoted: the only kernel args whose Image Factory schematic ID
// talos/schematic.ts computes offline (it refuses others). A ':' is plain unless it ends the value.
const PLAIN_SCALAR = /^[A-Za-z0-9](?:[A-Za-z0-9._/=,+-]|:(?=[^\s]))*$/;
const NON_STRING_WORD =
  /^(?:[-+]?[0-9][0-9._]*(?:[eE][-+]?[0-9]+)?|0[xXoObB][0-9a-fA-F_]+|y|yes|n|no|true|false|on|off|null)$/i;

/** A kernel arg every node has: it also goes into the Image Factory schematic. */
export const checkSchematicKernelArg: Explain<string> = (value) =>
  checkKernelArg(value) ??
  (PLAIN_SCALAR.test(value) && !NON_STRING_WORD.test(value)
    ? undefined
    : "every node has it, so it goes into the Image Factory schematic, whose ID is computed offline for plain words only: " +
      "use letters, digits and . _ / = , + - : (no ':' at the end), and not a number, boolean or null word");

/** Editors see the supported minors as a pattern; the check explains which part is wrong. */
export const SUPPORTED_TALOS_VERSION_PATTERN = `^v(${SUPPORTED_TALOS_MINORS.map((m) => m.slice(1).replace(".", "\\.")).join("|")})\\.[0-9]+$`;

export const checkTalosVersion: Explain<string> = (value) => {
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

/** Editors see the supported contracts as an enum; the check explains which part is wrong. */
export const SUPPORTED_TALOS_CONTRACTS: readonly string[] = SUPPORTED_TALOS_MINORS;

const TALOS_MINOR_TEXT = /^v?([0-9]+)\.([0-9]+)(\.[0-9]+)?$/;

/**
 * A config contract (`talosctl gen config --talos-version`) is a supported minor, `vX.Y`. Which one
 * is the operator's to state (the minor the cluster was created with); config/talosRules.ts checks
 * it against talos.version.
 */
export const checkTalosContract: Explain<string> = (value) => {
  const supported = SUPPORTED_TALOS_MINORS.join(", ");
  const match = TALOS_MINOR_TEXT.exec(value);
  if (match === null) {
    return `must be a Talos minor "vX.Y", the minor the cluster was created with, e.g. v1.10 (supported: ${supported})`;
  }
  const minor = `v${match[1]}.${match[2]}`;
  if (value !== minor) {
    return `write the minor only, as ${minor}: the config contract is a minor (talosctl gen config --talos-version ${minor})`;
  }
  if (!(SUPPORTED_TALOS_MINORS as readonly string[]).includes(minor)) {
    return `contract ${minor} is not supported: this program renders machine configs only for the contracts ${supported}`;
  }
  return undefined;
};

export const checkKubernetesVersion: Explain<string> = (value) =>
  KUBERNETES_VERSION.test(value) && semver.valid(value.slice(1)) !== null
    ? undefined
    : 'must be a Kubernetes release "v1.X.Y", e.g. v1.31.1';

export const checkPrefixedVersion: Explain<string> = (value) =>
  PREFIXED_VERSION.test(value) && semver.valid(value.slice(1)) !== null
    ? undefined
    : 'must be a release "vX.Y.Z" with the leading v, e.g. v2.8.1';

/** Helm chart versions: plain semver without a leading `v`. */
export function checkChartVersion(example: string): Explain<string> {
  return (value) => {
    if (/^v/i.test(value)) return `drop the leading "v": chart versions are plain semver, e.g. ${example}`;
    return /^[0-9]/.test(value) && semver.valid(value) === value
      ? undefined
      : `must be a semver version X.Y.Z, e.g. ${example}`;
  };
}

export const checkExtensionName: Explain<string> = (value) => {
  if (value === "siderolabs/ext-lldpd") {
    return 'there is no extension "siderolabs/ext-lldpd" (the running service is called ext-lldpd, the extension is not); use "siderolabs/lldpd"';
  }
  return OFFICIAL_EXTENSION.test(value)
    ? undefined
    : 'must name an official Talos extension as "siderolabs/<name>" with <name> of lowercase letters, digits and "-", e.g. siderolabs/iscsi-tools';
};

export const checkByteSize: Explain<string> = (value) =>
  BYTE_SIZE.test(value) && parseFloat(value) > 0
    ? undefined
    : "must be a positive size with a unit, e.g. 1TB, 500GB or 500GiB";

export const checkCelDiskSelector: Explain<string> = (value) => {
  if (value.trim() === "")
    return 'must be a non-empty CEL expression over the disk, e.g. disk.model == "Portable SSD T5"';
  return value.includes("disk.")
    ? undefined
    : 'must reference the disk (disk.model, disk.serial, disk.transport, ...), e.g. disk.model == "Portable SSD T5"';
};

export const checkEndpoint: Explain<string> = (value) => {
  const match = ENDPOINT.exec(value);
  return match === null || Number(match[2]) < 1 || Number(match[2]) > 65535
    ? 'must be "https://<host>:<port>" with no path, e.g. https://172.29.51.10:6443 (the VIP)'
    : undefined;
};

export const checkGitUrl: Explain<string> = (value) => {
  const scp = SCP_STYLE_GIT_URL.exec(value);
  if (scp !== null) {
    return `scp-style git URLs are not accepted by Flux; write ssh://${scp[1]}@${scp[2]}/${scp[3]}`;
  }
  return /^(https|ssh):\/\//.test(value)
    ? undefined
    : "must start with https:// or ssh://, e.g. https://github.com/geoffdavis/talos-gitops";
};

export const checkGitBranch: Explain<string> = (value) =>
  /^[A-Za-z0-9._/-]+$/.test(value) &&
  !value.includes("..") &&
  !value.startsWith("/") &&
  !value.endsWith("/") &&
  !value.endsWith(".lock")
    ? undefined
    : "must be a git branch name (letters, digits, '.', '_', '-', '/'; no '..', no leading or trailing '/'), e.g. main";

export const checkRepositoryPath: Explain<string> = (value) => {
  if (value.trim() === "") return "must not be empty; the directory Flux reconciles, e.g. clusters/home-ops";
  if (value.startsWith("/")) return "must be relative to the repository root, e.g. clusters/home-ops";
  if (value.split("/").includes("..")) return 'must not contain ".." (it must stay inside the repository)';
  return /\s/.test(value) ? "must not contain whitespace" : undefined;
};
