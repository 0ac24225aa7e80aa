/** Types for test/fakes/lib/state.js (the fakes' on-disk world). */

export type FakeTool = "talosctl" | "kubectl" | "op" | "curl";

export interface FakeFault {
  tool: FakeTool;
  /** Substring matched against the invocation's argv joined by spaces. */
  match?: string;
  /** Only when --nodes names this address (talosctl). */
  node?: string;
  /**
   * exit: exit 1, no effect. unreachable: "connection refused", no effect. timeout: sleep hangMs
   * (default 200) then "context deadline exceeded", no effect. drop: the effect happens, then the
   * client fails with "error reading from server: EOF". never (kubectl): conditions stay False.
   */
  kind: "exit" | "unreachable" | "timeout" | "drop" | "never";
  /** Invocations it fires on (decremented persistently); omitted = forever. */
  times?: number;
  hangMs?: number;
  /** Custom stderr for kind "exit". */
  message?: string;
  /** How often it fired (maintained by the fakes). */
  fired?: number;
}

export interface FakeDelays {
  install: number;
  reboot: number;
  bootstrap: number;
  apiServer: number;
  ciliumRollout: number;
  esoReady: number;
  connectReady: number;
  storeReady: number;
  fluxReady: number;
  command: number;
}

export interface FakeOpField {
  label: string;
  type?: string;
  value: string;
}

export interface FakeOpItemInput {
  title: string;
  category?: string;
  fields: FakeOpField[];
  /** Vault for config.opItems seeding (default "Automation"). */
  vault?: string;
}

export interface FakeConfigInput {
  talosVersion?: "v1.10.9" | "v1.11.6" | string;
  nodes?: { address: string; hostname: string }[];
  delaysMs?: Partial<FakeDelays>;
  faults?: FakeFault[];
  /** 1Password items present from the start. */
  opItems?: FakeOpItemInput[];
  /** Make `op item get --fields` CSV-quote values containing quotes, commas or newlines. */
  opFieldsCsvQuoting?: boolean;
}

export interface FakeConfig {
  talosVersion: string;
  nodes: { address: string; hostname: string }[];
  delaysMs: FakeDelays;
  faults: FakeFault[];
  opItems: FakeOpItemInput[];
  opFieldsCsvQuoting: boolean;
}

export type NodePhase = "maintenance" | "installing" | "configured" | "rebooting";

export interface FakeNode {
  address: string;
  hostname: string;
  /** Stored phase; installing/rebooting end at phaseUntil (settled lazily by the next talosctl call). */
  phase: NodePhase;
  /** Effective phase at read time (added by readState; not stored). */
  state: NodePhase;
  phaseUntil: number | null;
  phaseNext: NodePhase | null;
  /** cluster.id of the applied config's secrets bundle. */
  identity: string | null;
  configHash: string | null;
  appliedHostname: string | null;
  appliedType?: string | null;
  appliedAt: number | null;
  insecureApplies: number;
  authApplies: number;
  changedApplies: number;
  unchangedApplies: number;
  resets: number;
  reboots: number;
  /** A reset without --reboot powers the node off: unreachable for good. */
  poweredOff: boolean;
  stagedHash?: string;
  lastReset?: { at: number; labels: string[]; reboot: boolean; graceful: boolean; wipeMode: string | null };
}

export interface FakeK8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string };
  createdAt: number;
}

export interface FakeOpItem {
  id: string;
  title: string;
  category: string;
  fields: { label: string; type: string; value: string }[];
  createdAt: string;
}

export interface FakeState {
  nodes: Record<string, FakeNode>;
  /** Cluster name/endpoint per identity, recorded by `gen config`. */
  clusters: Record<string, { name: string; endpoint: string }>;
  cluster: {
    identity: string | null;
    endpoint: string | null;
    name: string | null;
    bootstrappedAt: number | null;
    /** Successful bootstrap calls. */
    bootstrapCount: number;
    /** Bootstrap calls answered with AlreadyExists. */
    bootstrapAlreadyExists: number;
    bootstrapNode?: string;
  };
  k8s: { objects: FakeK8sObject[] };
  op: { items: Record<string, Record<string, FakeOpItem>> };
}

export interface FakeCall {
  tool: FakeTool;
  argv: string[];
  exit: number;
  /** Start time (ms since epoch). */
  t: number;
  /** Duration in ms. */
  ms: number;
  /** Fault kinds that fired on this invocation. */
  faults?: string[];
}

export interface K8sRef {
  apiVersion?: string;
  /** e.g. "Deployment", "Secret", "ClusterSecretStore", or "HelmRelease(pulumi)" for a Pulumi Helm release. */
  kind: string;
  metadata: { name: string; namespace?: string };
}

/** Absolute path of test/fakes/bin (put it first on PATH). */
export const BIN_DIR: string;
export const DEFAULT_DELAYS: FakeDelays;
export const DEFAULT_NODES: { address: string; hostname: string }[];

/** Create or reset a world in dir: config.json (defaults filled in), fresh state.json, empty calls.log. */
export function initFakeWorld(dir: string, config?: FakeConfigInput): FakeConfig;
export function readConfig(dir: string): FakeConfig;
export function writeConfig(dir: string, config: FakeConfigInput): void;
/** state.json, with each node's effective `state` computed at read time. */
export function readState(dir: string): FakeState;
/** state.json as stored (no computed fields). */
export function loadState(dir: string): FakeState;
export function effectivePhase(node: FakeNode, now: number): NodePhase;
export function writeState(dir: string, state: FakeState): void;
/** Locked read-modify-write of state.json. */
export function updateState<T>(dir: string, fn: (state: FakeState) => T): T;
export function withLock<T>(dir: string, fn: () => T): T;
export function readCalls(dir: string): FakeCall[];
export function appendCall(dir: string, record: FakeCall): void;
/** Replace the fault list in config.json. */
export function setFaults(dir: string, faults: FakeFault[]): void;
/** Merge delays into config.json. */
export function setDelays(dir: string, delaysMs: Partial<FakeDelays>): void;
/** Record an object as existing (idempotent: keeps the first creation time). */
export function createK8sObject(dir: string, obj: K8sRef): FakeK8sObject;
/** Forget an object; true when it existed. */
export function deleteK8sObject(dir: string, obj: K8sRef): boolean;
/** Create or replace a 1Password item directly. */
export function putOpItem(dir: string, vault: string, item: FakeOpItemInput): FakeOpItem;
export function normalizeOpItem(item: FakeOpItemInput): FakeOpItem;
/** process.env plus PATH=<BIN_DIR>:$PATH and FAKE_STATE_DIR=dir (plus extra). */
export function fakeEnv(dir: string, extra?: Record<string, string>): NodeJS.ProcessEnv;
export function sleepMs(ms: number): void;
export function requireDir(dir?: string): string;
