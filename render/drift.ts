/**
 * Drift: what a node runs against what the stack renders for it, compared by value (pure; the
 * `npm run drift` command reads the nodes and calls this). Per node: the Talos version, the
 * Image Factory schematic, and the machine config (`talosctl get machineconfig v1alpha1 -o
 * jsonpath={.spec}`: every document as one YAML stream, talos resources/config/machine_config.go),
 * parsed into documents keyed by kind and name (the v1alpha1 document by its version), so comments,
 * key order and the re-encoding `upgrade-k8s` does (NOTES §7.7) are no drift. Secret values are
 * replaced by the render's marker on both sides before comparing and printing: no secret reaches
 * the output, and a secret the node holds in another encoding (the 1.14 bundle's cluster id and
 * secret) is no drift. The Kubernetes component images `upgrade-k8s` rewrites are judged by their
 * tag against the stack's Kubernetes version: a node at that version is not drifted however the
 * render spells the image. Output: a unified diff per node and document; exit 0 equal, 2 drift.
 */
import { createTwoFilesPatch } from "diff";
import { isDeepStrictEqual } from "util";
import { parseAllDocuments, stringify } from "yaml";
import { SECRET_MARKER } from "../k8s/manifests";

/** Paths of secret values in the v1alpha1 document (talos pkg/machinery/config/types/v1alpha1). */
export const SECRET_PATHS: readonly (readonly string[])[] = [
  ["machine", "token"],
  ["machine", "ca", "key"],
  ["cluster", "id"],
  ["cluster", "secret"],
  ["cluster", "token"],
  ["cluster", "secretboxEncryptionSecret"],
  ["cluster", "aescbcEncryptionSecret"],
  ["cluster", "ca", "key"],
  ["cluster", "aggregatorCA", "key"],
  ["cluster", "serviceAccount", "key"],
  ["cluster", "etcd", "ca", "key"],
];

/** The images `talosctl upgrade-k8s` rewrites (talos pkg/cluster/kubernetes, NOTES §7.4). */
export const KUBERNETES_IMAGE_PATHS: readonly (readonly string[])[] = [
  ["cluster", "apiServer", "image"],
  ["cluster", "controllerManager", "image"],
  ["cluster", "scheduler", "image"],
  ["cluster", "proxy", "image"],
  ["machine", "kubelet", "image"],
];

export interface NodeState {
  /** Talos version tag (vX.Y.Z). */
  readonly version: string;
  readonly schematic: string;
  /** The machine config: a YAML stream of documents. */
  readonly machineConfig: string;
}

export interface NodeDrift {
  readonly hostname: string;
  /** Version and schematic differences, one sentence each. */
  readonly findings: readonly string[];
  /** Unified diff per differing document (`<hostname>/<document>`), secrets as the marker. */
  readonly diffs: readonly { readonly document: string; readonly patch: string }[];
}

type Doc = Record<string, unknown>;

const isObject = (v: unknown): v is Doc => typeof v === "object" && v !== null && !Array.isArray(v);

/** The documents of a YAML stream by key: `v1alpha1`, or `<kind>/<name>`. */
export function documentsByKey(stream: string): Map<string, Doc> {
  const out = new Map<string, Doc>();
  for (const parsed of parseAllDocuments(stream)) {
    if (parsed.errors.length > 0) throw new Error(`machine config does not parse: ${parsed.errors[0].message}`);
    const doc = parsed.toJS() as unknown;
    if (doc === null || doc === undefined) continue;
    if (!isObject(doc)) throw new Error("machine config has a document that is not a mapping");
    const key =
      typeof doc.kind === "string"
        ? `${doc.kind}/${typeof doc.name === "string" ? doc.name : ""}`
        : String(doc.version ?? "v1alpha1");
    if (out.has(key)) throw new Error(`machine config has two documents ${key}`);
    out.set(key, doc);
  }
  return out;
}

function at(doc: Doc, path: readonly string[]): { parent: Doc; key: string } | undefined {
  let node: unknown = doc;
  for (const k of path.slice(0, -1)) {
    if (!isObject(node)) return undefined;
    node = node[k];
  }
  return isObject(node) ? { parent: node, key: path[path.length - 1] } : undefined;
}

const tagOf = (image: unknown) => (typeof image === "string" ? /:([^:/@]+)(?:@.*)?$/.exec(image)?.[1] : undefined);

/** Both sides' v1alpha1 documents with secrets masked and the images upgrade-k8s moved settled. */
function normalise(rendered: Doc, running: Doc, kubernetesVersion: string): [Doc, Doc] {
  const [r, n] = [structuredClone(rendered), structuredClone(running)];
  for (const doc of [r, n]) {
    for (const path of SECRET_PATHS) {
      const slot = at(doc, path);
      if (slot && slot.parent[slot.key] !== undefined) slot.parent[slot.key] = SECRET_MARKER;
    }
  }
  const want = kubernetesVersion.startsWith("v") ? kubernetesVersion : `v${kubernetesVersion}`;
  for (const path of KUBERNETES_IMAGE_PATHS) {
    const ran = at(n, path);
    if (!ran || tagOf(ran.parent[ran.key]) !== want) continue;
    delete ran.parent[ran.key];
    const ren = at(r, path);
    if (ren) delete ren.parent[ren.key];
  }
  return [r, n];
}

function patch(name: string, rendered: Doc | undefined, running: Doc | undefined): string {
  return createTwoFilesPatch(
    `stack/${name}`,
    `node/${name}`,
    rendered === undefined ? "" : stringify(rendered, { sortMapEntries: true }),
    running === undefined ? "" : stringify(running, { sortMapEntries: true }),
    undefined,
    undefined,
    { context: 3 },
  )
    .split("\n")
    .slice(1)
    .join("\n");
}

/** One node's drift: the render (`rendered`) against what it runs (`running`). */
export function nodeDrift(
  hostname: string,
  rendered: NodeState,
  running: NodeState,
  kubernetesVersion: string,
): NodeDrift {
  const findings: string[] = [];
  if (running.version !== rendered.version)
    findings.push(`${hostname} runs Talos ${running.version}; the stack says ${rendered.version}`);
  if (running.schematic !== rendered.schematic)
    findings.push(`${hostname} runs schematic ${running.schematic}; the stack says ${rendered.schematic}`);
  const want = documentsByKey(rendered.machineConfig);
  const have = documentsByKey(running.machineConfig);
  const diffs: { document: string; patch: string }[] = [];
  for (const key of [...new Set([...want.keys(), ...have.keys()])].sort()) {
    let [r, n] = [want.get(key), have.get(key)];
    if (r && n && key === "v1alpha1") [r, n] = normalise(r, n, kubernetesVersion);
    if (r !== undefined && n !== undefined && isDeepStrictEqual(r, n)) continue;
    diffs.push({ document: key, patch: patch(`${hostname}/${key}`, r, n) });
  }
  return { hostname, findings, diffs };
}

/** Exit status of `npm run drift`: 1 on any error, else 2 when a node drifted, else 0. */
export function driftExitCode(results: readonly NodeDrift[], errors: readonly string[]): 0 | 1 | 2 {
  if (errors.length > 0) return 1;
  return results.some((r) => r.findings.length > 0 || r.diffs.length > 0) ? 2 : 0;
}

/** The report `npm run drift` prints: per node its findings and diffs, or that it matches. */
export function driftReport(results: readonly NodeDrift[], errors: readonly string[]): string {
  const lines: string[] = [];
  for (const r of results) {
    if (r.findings.length === 0 && r.diffs.length === 0) lines.push(`${r.hostname}: runs what the stack says`);
    for (const f of r.findings) lines.push(f);
    for (const d of r.diffs) lines.push(`${r.hostname}: ${d.document} differs`, d.patch);
  }
  for (const e of errors) lines.push(`error: ${e}`);
  return lines.join("\n") + "\n";
}
