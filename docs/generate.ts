/**
 * The cluster's docs from its stack outputs: a pure function of the JSON that
 * `pulumi stack output --json --show-secrets=false` prints and of the date the certificate
 * warnings are computed against. Same input and date, same bytes. Input that carries a secret in
 * plain text is refused, and the refusal never repeats the value.
 */
import { PHASES } from "../config/types";
import { secretMaterialIn } from "../config/secretMaterial";
import { parsePreviousDeployment, PreviousOutputsUnreadable } from "../config/previousDeployment";
import { describeHop } from "../config/upgradePath";

/** How `pulumi stack output --show-secrets=false` prints a secret output. */
export const SECRET_PLACEHOLDER = "[secret]";
/** Outputs that are secret by design: only the placeholder (or null, before their phase) may appear. */
export const SECRET_OUTPUTS = ["talosconfig", "kubeconfig"] as const;
/** A client certificate expiring in fewer days than this gets a warning. */
export const EXPIRY_WARNING_DAYS = 30;

/** Input the generator refuses to use; the message names the output, never its value. */
export class OutputsRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OutputsRefused";
  }
}

interface NodeOutput {
  readonly hostname: string;
  readonly address: string;
  readonly ipv6: string | null;
  readonly role: string;
  readonly installerImage: string;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Outputs = Readonly<Record<string, Json>>;

/** Every string in the outputs with its path (`nodes[0].address`). */
function strings(value: Json, path: string): { path: string; text: string }[] {
  if (typeof value === "string") return [{ path, text: value }];
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, `${path}[${i}]`));
  if (value !== null && typeof value === "object")
    return Object.entries(value).flatMap(([k, v]) => strings(v, path ? `${path}.${k}` : k));
  return [];
}

/** Throws `OutputsRefused` when a secret is present in plain text anywhere in the outputs. */
export function refuseSecrets(outputs: Outputs): void {
  const problems: string[] = [];
  for (const key of SECRET_OUTPUTS) {
    const value = outputs[key];
    if (value !== undefined && value !== null && value !== SECRET_PLACEHOLDER) {
      problems.push(`output '${key}' is not "${SECRET_PLACEHOLDER}"`);
    }
  }
  for (const { path, text } of strings(outputs, "")) {
    if (SECRET_OUTPUTS.some((k) => path === k)) continue;
    const kind = secretMaterialIn(text);
    if (kind) problems.push(`output '${path}' carries ${kind}`);
  }
  if (problems.length > 0) {
    throw new OutputsRefused(
      `refusing stack outputs with secrets in plain text (${problems.join("; ")}); ` +
        "export them with `pulumi stack output --json --show-secrets=false`",
    );
  }
}

function text(outputs: Outputs, key: string): string | undefined {
  const v = outputs[key];
  return typeof v === "string" && v !== "" ? v : undefined;
}

function nodesOf(outputs: Outputs): NodeOutput[] {
  const nodes = outputs.nodes;
  if (!Array.isArray(nodes)) throw new OutputsRefused("output 'nodes' is missing or not a list");
  return nodes.map((n, i) => {
    const node = (n ?? {}) as Record<string, Json>;
    const field = (k: string) => {
      const v = node[k];
      if (typeof v !== "string" || v === "") throw new OutputsRefused(`output 'nodes[${i}].${k}' is missing`);
      return v;
    };
    const ipv6 = node.ipv6;
    return {
      hostname: field("hostname"),
      address: field("address"),
      ipv6: typeof ipv6 === "string" && ipv6 !== "" ? ipv6 : null,
      role: field("role"),
      installerImage: field("installerImage"),
    };
  });
}

function completedPhases(outputs: Outputs): string[] {
  const v = outputs.phasesCompleted ?? [];
  if (!Array.isArray(v) || v.some((p) => typeof p !== "string" || !(PHASES as readonly string[]).includes(p))) {
    throw new OutputsRefused(`output 'phasesCompleted' must list phases among ${PHASES.join(", ")}`);
  }
  return v as string[];
}

/**
 * What the nodes run (output `running`, written by every successful update) against the stack's
 * target versions, and the last upgrade path (output `upgradePath`); nothing from outputs of a
 * program that wrote neither.
 */
function upgradeLines(outputs: Outputs): string[] {
  if (outputs.running === undefined) return [];
  let previous;
  try {
    previous = parsePreviousDeployment({ running: outputs.running, upgradePath: outputs.upgradePath });
  } catch (e) {
    if (e instanceof PreviousOutputsUnreadable) throw new OutputsRefused(e.message);
    throw e;
  }
  const running = previous.running!;
  const target = { talos: text(outputs, "talosVersion"), kubernetes: text(outputs, "kubernetesVersion") };
  const hops = previous.lastPath.hops;
  return [
    "## Running and target versions",
    "",
    ...table(
      ["node", "runs Talos", "schematic", "target Talos"],
      Object.entries(running.talos).map(([host, n]) => [
        cell(host),
        cell(n.version),
        code(n.schematic),
        cell(target.talos),
      ]),
    ),
    "",
    `Kubernetes runs ${cell(running.kubernetes)} (target ${cell(target.kubernetes)}).`,
    "",
    ...(hops.length > 0
      ? ["Last upgrade path, hop by hop:", "", ...hops.map((h, i) => `${i + 1}. ${cell(describeHop(h))}`), ""]
      : []),
  ];
}

/** Table cell text: no pipes or line breaks can break the row. */
function cell(value: string | null | undefined): string {
  return value === null || value === undefined ? "—" : value.replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");
}

function code(value: string | null | undefined): string {
  return value === null || value === undefined || value.includes("`") ? cell(value) : `\`${cell(value)}\``;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ];
}

const DAY_MS = 86_400_000;

export interface CertificateStatus {
  readonly credential: string;
  /** YYYY-MM-DD, or undefined when not issued / unreadable. */
  readonly expires?: string;
  readonly daysLeft?: number;
  readonly status: string;
  /** A sentence for the warning callout, when the date needs attention. */
  readonly warning?: string;
}

/** Days from `now` (YYYY-MM-DD, UTC midnight) to an ISO expiry, and what they mean. */
export function certificateStatus(credential: string, expiry: Json | undefined, now: string): CertificateStatus {
  if (expiry === null || expiry === undefined) return { credential, status: "not issued yet (its phase has not run)" };
  const at = typeof expiry === "string" ? Date.parse(expiry) : NaN;
  if (Number.isNaN(at)) {
    return {
      credential,
      status: "⚠️ unknown",
      warning: `The ${credential} client certificate's expiry could not be read.`,
    };
  }
  const expires = new Date(at).toISOString().slice(0, 10);
  const daysLeft = Math.floor((at - Date.parse(`${now}T00:00:00Z`)) / DAY_MS);
  if (daysLeft < 0) {
    return {
      credential,
      expires,
      daysLeft,
      status: "❌ expired",
      warning: `The ${credential} client certificate expired on ${expires}.`,
    };
  }
  if (daysLeft < EXPIRY_WARNING_DAYS) {
    return {
      credential,
      expires,
      daysLeft,
      status: `⚠️ expires in under ${EXPIRY_WARNING_DAYS} days`,
      warning: `The ${credential} client certificate expires on ${expires} (in ${daysLeft} days).`,
    };
  }
  return { credential, expires, daysLeft, status: "ok" };
}

/** The phase graph in order, completed phases marked. */
export function phaseGraph(completed: readonly string[]): string[] {
  const done = (p: string) => completed.includes(p);
  const nodes = PHASES.map((p) => `${p}["${p}${done(p) ? " ✔" : ""}"]`);
  const pending = PHASES.filter((p) => !done(p));
  return [
    "```mermaid",
    "flowchart LR",
    `  ${nodes.join(" --> ")}`,
    "  classDef done fill:#c8e6c9,stroke:#2e7d32,color:#1b5e20",
    "  classDef pending fill:#eeeeee,stroke:#9e9e9e,color:#616161,stroke-dasharray:4 3",
    ...(completed.length > 0 ? [`  class ${PHASES.filter(done).join(",")} done`] : []),
    ...(pending.length > 0 ? [`  class ${pending.join(",")} pending`] : []),
    "```",
  ];
}

/**
 * The markdown of docs/cluster.md. `now` is the date (YYYY-MM-DD) the certificate warnings are
 * computed against; the document states it.
 */
export function renderClusterDocs(outputs: Outputs, now: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(now) || Number.isNaN(Date.parse(`${now}T00:00:00Z`))) {
    throw new Error(`--now must be a date YYYY-MM-DD (got ${JSON.stringify(now.slice(0, 20))})`);
  }
  if (outputs === null || typeof outputs !== "object" || Array.isArray(outputs)) {
    throw new OutputsRefused("the stack outputs must be a JSON object");
  }
  refuseSecrets(outputs);
  const name = text(outputs, "clusterName");
  if (!name) throw new OutputsRefused("output 'clusterName' is missing");
  const nodes = nodesOf(outputs);
  const completed = completedPhases(outputs);
  const certificates = [
    certificateStatus("talosconfig", outputs.talosconfigExpiry, now),
    certificateStatus("kubeconfig", outputs.kubeconfigExpiry, now),
  ];
  const warnings = certificates.flatMap((c) => (c.warning ? [c.warning] : []));
  const gitops = (outputs.gitopsSource ?? {}) as Record<string, Json>;
  const gitopsText = (k: string) => (typeof gitops[k] === "string" ? (gitops[k] as string) : undefined);
  const versions: [string, string][] = [
    ["Talos", "talosVersion"],
    ["Kubernetes", "kubernetesVersion"],
    ["Cilium", "ciliumVersion"],
    ["External Secrets", "externalSecretsVersion"],
    ["1Password Connect", "connectVersion"],
    ["Flux", "fluxVersion"],
    ["flux-operator", "fluxOperatorVersion"],
  ];

  const lines = [
    `# Cluster ${cell(name)}`,
    "",
    "<!-- Generated by `npm run docs` from `pulumi stack output --json --show-secrets=false`; do not edit by hand. -->",
    "",
    `Generated from the stack outputs of \`${cell(name)}\`. Certificate warnings are computed against ${now}.`,
    "",
    ...(warnings.length > 0 ? [warnings.map((w) => `> ⚠️ **${w}**`).join("\n>\n"), ""] : []),
    "## Endpoints",
    "",
    ...table(
      ["what", "value"],
      [
        ["Kubernetes API", code(text(outputs, "endpoint"))],
        ["Shared VIP (Talos, on the node NIC)", code(text(outputs, "vip"))],
      ],
    ),
    "",
    "## Nodes",
    "",
    ...table(
      ["hostname", "address", "IPv6", "role", "installer image"],
      nodes.map((n) => [cell(n.hostname), cell(n.address), cell(n.ipv6), cell(n.role), code(n.installerImage)]),
    ),
    "",
    "## Versions",
    "",
    ...table(
      ["component", "version"],
      versions.map(([label, key]) => [label, cell(text(outputs, key))]),
    ),
    "",
    ...upgradeLines(outputs),
    "## Node image",
    "",
    `- Image Factory schematic ID: ${code(text(outputs, "schematicId"))}`,
    `- Installer image: ${code(text(outputs, "installerImage"))}`,
    "",
    "## GitOps source",
    "",
    ...table(
      ["repository", "branch", "path"],
      [[code(gitopsText("url")), code(gitopsText("branch")), code(gitopsText("path"))]],
    ),
    "",
    "## Storage",
    "",
    `- Longhorn SSD path on every node: ${code(text(outputs, "longhornSsdMountPath"))}`,
    "",
    "## Client certificates",
    "",
    ...table(
      ["credential", "expires", "days left", "status"],
      certificates.map((c) => [
        c.credential,
        cell(c.expires),
        c.daysLeft === undefined ? "—" : String(c.daysLeft),
        c.status,
      ]),
    ),
    "",
    `Warnings appear under ${EXPIRY_WARNING_DAYS} days. The credentials themselves are secret outputs and are not part of this page.`,
    "",
    "## Phases",
    "",
    `${completed.length} of ${PHASES.length} phases completed${completed.length ? `: ${completed.join(", ")}` : ""}.`,
    "",
    ...phaseGraph(completed),
    "",
  ];
  return lines.join("\n");
}
