/**
 * Helm v3's release records as its secrets driver keeps them (helm.sh/helm/v3 v3.18.6, the Helm
 * pulumi-kubernetes v4.25.0 vendors; pkg/storage/driver/secrets.go, util.go): one Secret per
 * revision, named `sh.helm.release.v1.<release>.v<revision>`, type `helm.sh/release.v1`, labels
 * `owner=helm`, `name`, `status`, `version` (+ `createdAt`/`modifiedAt`), and in `data.release`
 * the release as base64(gzip(JSON)). The API (and `kubectl get -o json`) shows a Secret's data
 * base64-encoded once more. Pure functions: reading these records and the one write this program
 * makes (a status and description change, as Helm's own `Update` and Flux's unlock make it).
 */
import { gunzipSync, gzipSync, constants } from "zlib";

/** A Helm release record's status (helm pkg/release/status.go, v3.18.6). */
export type HelmStatus =
  | "unknown"
  | "deployed"
  | "uninstalled"
  | "superseded"
  | "failed"
  | "uninstalling"
  | "pending-install"
  | "pending-upgrade"
  | "pending-rollback";

/** The JSON Helm stores (helm pkg/release/release.go: Release, Info); other fields kept as read. */
export interface StoredRelease {
  readonly name?: string;
  readonly namespace?: string;
  readonly version?: number;
  readonly info?: {
    readonly first_deployed?: string;
    readonly last_deployed?: string;
    readonly description?: string;
    readonly status?: string;
    readonly [field: string]: unknown;
  };
  readonly hooks?: readonly unknown[];
  readonly [field: string]: unknown;
}

/** A Secret as the API returns it (only what this module reads or writes back). */
export interface StorageSecret {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly type?: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly resourceVersion?: string;
    readonly creationTimestamp?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly [field: string]: unknown;
  };
  readonly data?: Readonly<Record<string, string>>;
  readonly [field: string]: unknown;
}

/** One revision of a release, decoded. */
export interface HelmRecord {
  readonly secret: StorageSecret;
  readonly release: StoredRelease;
  readonly revision: number;
  readonly status: HelmStatus | string;
  readonly description: string;
  /**
   * When the operation that wrote this revision started: the later of Helm's own
   * `info.last_deployed` (the Helm client's clock, set when the install/upgrade began:
   * pkg/action/install.go createRelease, upgrade.go) and the Secret's creation on the API server.
   */
  readonly startedAt?: Date;
  /** Hooks of the release (each may wait up to the operation's timeout: pkg/action/hooks.go). */
  readonly hookCount: number;
}

export const HELM_SECRET_TYPE = "helm.sh/release.v1";
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b, 0x08]);

/**
 * The release inside a storage Secret's `data.release` as the API returns it (base64 of Helm's
 * base64 string). Like Helm's decodeRelease, a record without the gzip header is read as plain
 * JSON (records written before compression was introduced).
 */
export function decodeStoredRelease(apiData: string): StoredRelease {
  const helmText = Buffer.from(apiData, "base64").toString("latin1");
  let bytes = Buffer.from(helmText, "base64");
  if (bytes.length > 3 && bytes.subarray(0, 3).equals(GZIP_MAGIC)) bytes = gunzipSync(bytes);
  const value: unknown = JSON.parse(bytes.toString("utf8"));
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error("a Helm release record that is not a JSON object");
  }
  return value as StoredRelease;
}

/**
 * The inverse, as Helm's encodeRelease writes it (gzip at best compression, base64), then
 * base64-encoded again for the Secret's `data`. JSON.parse/stringify keep every field: Helm reads
 * values into interface{} (float64) itself, so no number it can read changes.
 */
export function encodeStoredRelease(release: StoredRelease): string {
  const gz = gzipSync(Buffer.from(JSON.stringify(release), "utf8"), { level: constants.Z_BEST_COMPRESSION });
  return Buffer.from(gz.toString("base64"), "latin1").toString("base64");
}

function parseTime(value: unknown): Date | undefined {
  if (typeof value !== "string" || value === "") return undefined;
  const t = new Date(value);
  return Number.isNaN(t.getTime()) ? undefined : t;
}

function latest(...dates: (Date | undefined)[]): Date | undefined {
  const known = dates.filter((d): d is Date => d !== undefined);
  return known.length ? new Date(Math.max(...known.map((d) => d.getTime()))) : undefined;
}

/** One storage Secret, decoded. */
export function helmRecord(secret: StorageSecret): HelmRecord {
  const data = secret.data?.release;
  if (typeof data !== "string") throw new Error(`Helm storage Secret ${secret.metadata.name} has no data.release`);
  const release = decodeStoredRelease(data);
  const revision = Number(release.version ?? secret.metadata.labels?.version);
  if (!Number.isInteger(revision)) throw new Error(`Helm storage Secret ${secret.metadata.name} has no revision`);
  return {
    secret,
    release,
    revision,
    status: String(release.info?.status ?? secret.metadata.labels?.status ?? "unknown"),
    description: String(release.info?.description ?? ""),
    startedAt: latest(parseTime(release.info?.last_deployed), parseTime(secret.metadata.creationTimestamp)),
    hookCount: Array.isArray(release.hooks) ? release.hooks.length : 0,
  };
}

/**
 * The records of release `name` in a `kubectl get secrets -l owner=helm,name=<name> -o json`
 * list, oldest revision first. Other items are skipped (the selector already excludes them).
 */
export function helmRecords(list: unknown, name: string): HelmRecord[] {
  const items = (list as { items?: unknown })?.items;
  if (!Array.isArray(items)) throw new Error("not a Kubernetes list (no items)");
  return (items as StorageSecret[])
    .filter(
      (s) => s?.type === HELM_SECRET_TYPE && s.metadata?.labels?.owner === "helm" && s.metadata.labels.name === name,
    )
    .map(helmRecord)
    .sort((a, b) => a.revision - b.revision);
}

/**
 * The Secret that replaces `record` with a new status and description: what Helm's
 * Secrets.Update writes (the release re-encoded, the `status` label set), everything else as read.
 * `resourceVersion` stays, so the API refuses the write if the record changed since it was read;
 * `managedFields` are the server's to compute.
 */
export function withStatus(record: HelmRecord, status: HelmStatus, description: string): StorageSecret {
  const release: StoredRelease = { ...record.release, info: { ...record.release.info, status, description } };
  const metadata = { ...record.secret.metadata };
  delete metadata.managedFields;
  return {
    ...record.secret,
    apiVersion: "v1",
    kind: "Secret",
    metadata: { ...metadata, labels: { ...record.secret.metadata.labels, status } },
    data: { ...record.secret.data, release: encodeStoredRelease(release) },
  };
}
