/**
 * 1Password Connect: the two secrets Flux cannot create itself (credentials file and access token),
 * and the Connect server (api + sync containers) that External Secrets reads through. Flux later
 * re-owns these manifests, so names and the Deployment selector are hand-off values (names.ts).
 */
import type { StackConfig } from "../config/types";
import type { KubernetesObject } from "./kubernetesObject";
import { CONNECT } from "./names";

/** Where the credentials file is mounted (chart ≥2.3 layout); OP_SESSION points here. */
export const CONNECT_CREDENTIALS_PATH = `/home/opuser/.op/${CONNECT.credentialsSecretKey}`;
/** Shared state between connect-api and connect-sync. */
export const CONNECT_DATA_PATH = "/home/opuser/.op/data";
/** The uid/gid the Connect images run as. */
export const CONNECT_USER_ID = 999;
/** The api and sync containers find each other on this loopback bus. */
export const CONNECT_API_BUS_PORT = 11220;
export const CONNECT_SYNC_BUS_PORT = 11221;

const PSS_RESTRICTED_LABELS: Readonly<Record<string, string>> = {
  "pod-security.kubernetes.io/enforce": "restricted",
  "pod-security.kubernetes.io/audit": "restricted",
  "pod-security.kubernetes.io/warn": "restricted",
};

const CONNECT_LABELS: Readonly<Record<string, string>> = {
  ...CONNECT.selectorLabels,
  "app.kubernetes.io/name": CONNECT.deploymentName,
  "app.kubernetes.io/component": "connect",
};

// ---------------------------------------------------------------------------------------------
// Credentials decoding
// ---------------------------------------------------------------------------------------------

/** Keys every Connect credentials file (version 2) carries; used to recognise one. */
const REQUIRED_CREDENTIAL_KEYS = ["verifier", "encCredentials", "version", "deviceUuid", "uniqueKey"] as const;
/** raw JSON → base64 → URL-encoding → another base64 is the deepest layering seen in the wild. */
const MAX_ENCODING_LAYERS = 4;

const BASE64_TEXT = /^[A-Za-z0-9+/_-]+={0,2}$/;
const PERCENT_ESCAPE = /%[0-9A-Fa-f]{2}/;

/** The error every decoding failure raises: it describes the input's shape, never its content. */
function undecodable(reason: string): Error {
  return new Error(
    `1Password Connect credentials could not be decoded: ${reason}. Expected the content of ` +
      `1password-credentials.json as raw JSON, base64(JSON), URL-encoded base64(JSON) or base64(base64(JSON)); ` +
      `store the Connect server's credentials file from 1Password unmodified (onepassword.connectCredentialsItem).`,
  );
}

function utf8OrUndefined(bytes: Buffer): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** Removes one encoding layer, or returns undefined if `text` is in none of the known encodings. */
function peelEncodingLayer(text: string): string | undefined {
  if (PERCENT_ESCAPE.test(text)) {
    try {
      return decodeURIComponent(text).trim();
    } catch {
      return undefined;
    }
  }
  const compact = text.replace(/\s+/g, "");
  if (compact.length < 4 || !BASE64_TEXT.test(compact)) return undefined;
  const bytes = Buffer.from(compact.replace(/-/g, "+").replace(/_/g, "/"), "base64");
  if (bytes.length === 0) return undefined;
  const decoded = utf8OrUndefined(bytes);
  // Text that merely looks like base64 decodes to binary noise; that is not a layer.
  if (decoded === undefined || /[\u0000-\u0008\u000e-\u001f]/.test(decoded)) return undefined;
  return decoded.trim();
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    // JSON.parse messages quote the input: never let them through.
    return undefined;
  }
}

/**
 * Normalises a Connect credentials file however an older layout stored it (raw JSON, base64,
 * URL-encoded base64, base64 of base64, with or without line breaks) to its compact JSON text.
 * Throws if it is not decodable or not a version "2" credentials file. Error messages never
 * contain any part of the input.
 */
export function decodeConnectCredentials(raw: string): string {
  let text = raw.trim();
  if (text.length === 0) throw undecodable("the value is empty");
  let credentials: Record<string, unknown> | undefined;
  for (let layer = 0; layer <= MAX_ENCODING_LAYERS; layer++) {
    if (text.startsWith("{")) {
      credentials = parseJsonObject(text);
      if (credentials === undefined)
        throw undecodable(
          `it decodes to text that starts like JSON but does not parse (after ${layer} encoding layer(s))`,
        );
      break;
    }
    const peeled = layer < MAX_ENCODING_LAYERS ? peelEncodingLayer(text) : undefined;
    if (peeled === undefined) {
      throw undecodable(
        layer === 0
          ? "it is neither JSON nor base64 nor URL-encoded text"
          : `after ${layer} encoding layer(s) it is neither JSON nor base64 nor URL-encoded text`,
      );
    }
    text = peeled;
  }
  if (credentials === undefined) throw undecodable(`more than ${MAX_ENCODING_LAYERS} encoding layers`);

  const missing = REQUIRED_CREDENTIAL_KEYS.filter((key) => !(key in credentials!));
  if (missing.length > 0) {
    throw new Error(
      `1Password Connect credentials JSON lacks ${missing.map((k) => `"${k}"`).join(", ")}: it is not a ` +
        `1password-credentials.json file. Store the credentials file of the Connect server, not its token.`,
    );
  }
  const version = credentials.version;
  if (version !== "2") {
    // Only a short numeric version is safe (and useful) to echo.
    const shown =
      typeof version === "string" && /^\d{1,2}$/.test(version)
        ? `"${version}"`
        : `of type ${version === null ? "null" : typeof version}`;
    throw new Error(
      `1Password Connect credentials have version ${shown}; Connect needs a version "2" credentials file. ` +
        `Create a new Connect server (or re-download its credentials) in 1Password and store that file.`,
    );
  }
  return JSON.stringify(credentials);
}

// ---------------------------------------------------------------------------------------------
// Objects
// ---------------------------------------------------------------------------------------------

export function connectNamespace(): KubernetesObject {
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: CONNECT.namespace, labels: { ...PSS_RESTRICTED_LABELS } },
  };
}

/** The credentials file as a Secret: stored as raw JSON and mounted as a file (chart ≥2.3 semantics). */
export function connectCredentialsSecret(credentialsJson: string): KubernetesObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: CONNECT.credentialsSecretName, namespace: CONNECT.namespace, labels: { ...CONNECT_LABELS } },
    type: "Opaque",
    stringData: { [CONNECT.credentialsSecretKey]: credentialsJson },
  };
}

/** The Connect access token External Secrets authenticates with. */
export function connectTokenSecret(token: string): KubernetesObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: CONNECT.tokenSecretName, namespace: CONNECT.namespace, labels: { ...CONNECT_LABELS } },
    type: "Opaque",
    stringData: { [CONNECT.tokenSecretKey]: token },
  };
}

/** PSS "restricted" container settings; a fresh object per call (shared references become YAML aliases). */
function restrictedContainerSecurityContext(): Record<string, unknown> {
  return {
    runAsNonRoot: true,
    runAsUser: CONNECT_USER_ID,
    runAsGroup: CONNECT_USER_ID,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}

const DATA_VOLUME = "shared-data";
const CREDENTIALS_VOLUME = "credentials";
const TMP_VOLUME = "tmp";

function connectContainer(args: {
  name: string;
  image: string;
  httpPort: number;
  busPort: number;
  peerBusPort: number;
}): Record<string, unknown> {
  const probe = (path: string) => ({ httpGet: { path, port: args.httpPort, scheme: "HTTP" } });
  return {
    name: args.name,
    image: args.image,
    imagePullPolicy: "IfNotPresent",
    ports: [{ name: "http", containerPort: args.httpPort, protocol: "TCP" }],
    env: [
      { name: "OP_SESSION", value: CONNECT_CREDENTIALS_PATH },
      { name: "OP_HTTP_PORT", value: String(args.httpPort) },
      { name: "OP_BUS_PORT", value: String(args.busPort) },
      { name: "OP_BUS_PEERS", value: `localhost:${args.peerBusPort}` },
      { name: "OP_LOG_LEVEL", value: "info" },
    ],
    // /health also checks the peer and 1Password.com; /heartbeat only that the process serves.
    readinessProbe: { ...probe("/health"), initialDelaySeconds: 15, periodSeconds: 10 },
    livenessProbe: { ...probe("/heartbeat"), initialDelaySeconds: 15, periodSeconds: 30, failureThreshold: 3 },
    resources: { requests: { cpu: "10m", memory: "64Mi" } },
    securityContext: restrictedContainerSecurityContext(),
    volumeMounts: [
      { name: DATA_VOLUME, mountPath: CONNECT_DATA_PATH },
      {
        name: CREDENTIALS_VOLUME,
        mountPath: CONNECT_CREDENTIALS_PATH,
        subPath: CONNECT.credentialsSecretKey,
        readOnly: true,
      },
      { name: TMP_VOLUME, mountPath: "/tmp" },
    ],
  };
}

export function connectDeployment(cfg: StackConfig): KubernetesObject {
  const version = cfg.connect.version;
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: CONNECT.deploymentName, namespace: CONNECT.namespace, labels: { ...CONNECT_LABELS } },
    spec: {
      // One replica: api and sync share an emptyDir, which cannot span pods.
      replicas: 1,
      // Immutable once created; Flux's later manifests must carry the same selector.
      selector: { matchLabels: { ...CONNECT.selectorLabels } },
      template: {
        metadata: { labels: { ...CONNECT_LABELS } },
        spec: {
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: CONNECT_USER_ID,
            runAsGroup: CONNECT_USER_ID,
            fsGroup: CONNECT_USER_ID,
            seccompProfile: { type: "RuntimeDefault" },
          },
          containers: [
            connectContainer({
              name: "connect-api",
              image: `${CONNECT.apiImage}:${version}`,
              httpPort: CONNECT.apiPort,
              busPort: CONNECT_API_BUS_PORT,
              peerBusPort: CONNECT_SYNC_BUS_PORT,
            }),
            connectContainer({
              name: "connect-sync",
              image: `${CONNECT.syncImage}:${version}`,
              httpPort: CONNECT.syncPort,
              busPort: CONNECT_SYNC_BUS_PORT,
              peerBusPort: CONNECT_API_BUS_PORT,
            }),
          ],
          volumes: [
            { name: DATA_VOLUME, emptyDir: {} },
            // 0440 + fsGroup: readable by the Connect user only.
            { name: CREDENTIALS_VOLUME, secret: { secretName: CONNECT.credentialsSecretName, defaultMode: 0o440 } },
            { name: TMP_VOLUME, emptyDir: {} },
          ],
        },
      },
    },
  };
}

/** The API Service (what External Secrets calls) and the sync Service. */
export function connectServices(_cfg: StackConfig): KubernetesObject[] {
  const service = (name: string, port: number): KubernetesObject => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: CONNECT.namespace, labels: { ...CONNECT_LABELS } },
    spec: {
      type: "ClusterIP",
      selector: { ...CONNECT.selectorLabels },
      ports: [{ name: "http", port, targetPort: port, protocol: "TCP" }],
    },
  });
  return [service(CONNECT.apiServiceName, CONNECT.apiPort), service(CONNECT.syncServiceName, CONNECT.syncPort)];
}
