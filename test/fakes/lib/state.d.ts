/** Types for test/fakes/lib/state.js (the fakes' on-disk world). */

export type FakeTool = "talosctl" | "kubectl" | "op" | "curl";

/**
 * A fault, matched on the parsed call (never on a substring of the argv). All given criteria must
 * hold. The first matching fault is taken; its `times` counts deliveries (a fault that matched
 * but did not decide the outcome, e.g. a drop on a call that failed by itself, is given back).
 */
export interface FakeFault {
  tool: FakeTool;
  /**
   * The parsed command path: talosctl "apply-config", "etcd members", "gen secrets", ...;
   * kubectl "get" | "wait"; op "item get" | "item create" | "read"; curl "<METHOD> <url path>",
   * e.g. "POST /schematics".
   */
  command?: string;
  /** talosctl: the address given with --nodes. */
  node?: string;
  /**
   * Flag conditions by long name: true = present and true, false = absent or false, a string
   * (or strings) = among the flag's values. E.g. {insecure: true}, {"dry-run": false}, {for: "condition=Ready"}.
   */
  flags?: Record<string, boolean | string | string[]>;
  /** Positional arguments that must all be present (e.g. kubectl ["kustomization/flux-system"]). */
  args?: string[];
  /**
   * exit: exit 1 with `message` (or a default), no effect. unreachable: the tool's "connection
   * refused", no effect. timeout: a real hang of hangMs (default one hour; the caller must bound
   * it), then the tool's deadline error; SIGTERM ends it (talosctl prints its cancel message).
   * drop: the effect happens, then the client fails (talosctl "error reading from server: EOF").
   * never (kubectl): conditions never become true.
   */
  kind: "exit" | "unreachable" | "timeout" | "drop" | "never";
  /** Deliveries left (decremented persistently); omitted = forever. */
  times?: number;
  hangMs?: number;
  /** Custom stderr for kind "exit". */
  message?: string;
  /** Maintained by the fakes: how often it matched / was delivered. */
  matched?: number;
  fired?: number;
}

export interface FakeDelays {
  install: number;
  reboot: number;
  /** After `talosctl bootstrap`, until that node's etcd serves. */
  bootstrap: number;
  /** After a control plane joins etcd as a learner, until it is promoted. */
  etcdJoin: number;
  /** After a boot, until CRI is up (bootstrap answers FailedPrecondition meanwhile). */
  cri: number;
  /** How long the etcd client retries before "no leader" / "not supported for learner" (real: ~2.5 s). */
  etcdRetry: number;
  apiServer: number;
  /** After a live apply that changes a control-plane static pod, until the kubelet replaces it (the old pod stops). */
  staticPodPickup: number;
  /** From then until the new static pod is Ready (its API server serving again). */
  staticPodRestart: number;
  /** After a live apply that changes the kubelet's spec, until the restarted kubelet is healthy. */
  kubeletRestart: number;
  /** An upgrade's installer run (legacy: inside the upgrade sequence, before the reboot; 1.13+: the LifecycleService install lock). */
  upgrade: number;
  /** How long the legacy Upgrade call holds the etcd upgrade mutex (a second control plane inside it: "failed to acquire upgrade mutex"). */
  upgradeCheck: number;
  /** Reserved: how long an apply-config call holds the node's apply lock (1.13+). */
  applyConfig: number;
  ciliumRollout: number;
  esoReady: number;
  connectReady: number;
  storeReady: number;
  fluxReady: number;
  command: number;
}

export interface FakeDisk {
  id: string;
  size: number;
  transport: string;
  rotational: boolean;
  model: string;
  serial: string;
  wwid?: string;
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
  /**
   * The default talosctl (bin/talosctl; bin/talosctl-v1.NN is that minor's talosctl) and the
   * Talos version every node runs unless it names its own.
   */
  talosVersion?: string;
  /**
   * Default: mini01..03 at 172.29.51.11..13, each with DEFAULT_DISKS. talosVersion/schematic:
   * what the node runs at the start (its ISO in maintenance mode); an install or upgrade moves it
   * to the installer image's version and schematic.
   */
  nodes?: { address: string; hostname: string; disks?: FakeDisk[]; talosVersion?: string; schematic?: string }[];
  /** Installer images nodes can pull beyond what the registries would serve (lib/talos/images.js). */
  installerImages?: string[];
  /** Image Factory serves every released version for a known schematic (default true). */
  factoryServes?: boolean;
  /** Moves the certificates' clock from the machine's (HOMEOPS_NOW, when set, wins). */
  clockOffsetMs?: number;
  delaysMs?: Partial<FakeDelays>;
  faults?: FakeFault[];
  /** 1Password items present from the start. */
  opItems?: FakeOpItemInput[];
  /** Make `op item get --fields` CSV-quote values containing quotes, commas or newlines. */
  opFieldsCsvQuoting?: boolean;
  /** Strings every fake call looks for in its environment values and argv (calls.log canaryHits). */
  canaries?: string[];
  /** Embedded in cluster.secret of every bundle the fake `gen secrets` (or `gen config` without --with-secrets) mints. */
  mintCanary?: string | null;
  /** How long a call the real node would never answer blocks (etcd members/status with no local etcd); default one hour. */
  nodeHangMs?: number;
}

export interface FakeConfig {
  talosVersion: string;
  nodes: { address: string; hostname: string; disks: FakeDisk[] }[];
  delaysMs: FakeDelays;
  faults: FakeFault[];
  opItems: FakeOpItemInput[];
  opFieldsCsvQuoting: boolean;
  canaries: string[];
  mintCanary: string | null;
  nodeHangMs: number;
}

/** Stored phase; installing/rebooting end at phaseUntil. Down: installing, rebooting, off. */
export type NodePhase = "maintenance" | "installing" | "configured" | "rebooting" | "off";
/** MachineStatus stage: a configured node is booting until its boot sequence finished. */
export type NodeStage = "maintenance" | "installing" | "booting" | "running" | "rebooting" | "off";
/** What the node's local etcd answers: not listening, learner, listening without quorum, serving. */
export type EtcdState = "down" | "learner" | "no-leader" | "serving";

/** What a node keeps of an applied machine config. */
export interface FakeConfigRecord {
  text: string;
  hash: string;
  /** SHA-256 of machine.ca.crt (decoded): the cluster identity. */
  identity: string | null;
  /** SHA-256 of cluster.ca.crt (decoded): the Kubernetes CA a kubeconfig trusts. */
  k8sIdentity: string | null;
  type: string | null;
  hostname: string | null;
  clusterName: string | null;
  endpoint: string | null;
}

export interface FakeNode {
  address: string;
  hostname: string;
  phase: NodePhase;
  phaseUntil: number | null;
  phaseNext: NodePhase | null;
  /** When it last came up (booted or entered maintenance). */
  upSince: number;
  /** When its boot sequence finished (stage running), null while booting. */
  runningSince: number | null;
  installed: boolean;
  /** The running config (null in maintenance mode). */
  config: FakeConfigRecord | null;
  /** Persisted, running after the next boot (reboot-mode or staged apply, install). */
  pending: FakeConfigRecord | null;
  /** /var/lib/etcd: null when empty. */
  etcd: { cluster: string; memberId: string; since: number } | null;
  bootstrapRequested: boolean;
  insecureApplies: number;
  authApplies: number;
  changedApplies: number;
  unchangedApplies: number;
  /** Successful bootstraps on this node / AlreadyExists answers. */
  bootstraps: number;
  alreadyExists: number;
  resets: number;
  reboots: number;
  lastReset?: { at: number; labels: string[]; reboot: boolean; graceful: boolean; outcome: string; error?: string };
  /** What the node runs now (`version` Tag; the schematic extension). */
  talos: { version: string; schematic: string | null };
  /** Installed by an upgrade, booted at the next boot. */
  nextTalos: { version: string; schematic: string | null; image: string } | null;
  /** Versions that fail to boot here: the A/B fallback boots the old version again. */
  failBoot: string[];
  /** Each fallback: the version that failed, the one kept. */
  fallbacks: { at: number; version: string; kept: string }[];
  /** Changes at every boot (/proc/sys/kernel/random/boot_id). */
  bootId: string;
  /** The Kubernetes Node's cordon: the node's own (upgrade, reset), talosctl's drain, or none. */
  cordon: null | "talos" | "talosctl" | "user";
  /** Upgrade calls accepted (legacy or LifecycleService), with the talosctl and image of each. */
  upgrades?: number;
  upgradeLog?: { at: number; path: "legacy" | "lifecycle"; client: string; image: string }[];
  /** Machine config rewrites by upgrade-k8s. */
  k8sUpgrades?: number;
  /** 1.14: an apply changed something that takes effect only at the next reboot (nothing on the node reports it). */
  inactiveUntilReboot?: boolean;
  /** A legacy upgrade sequence that failed after stopping the services (etcd stays down until a reboot). */
  servicesStopped?: { at: number; stage: string } | null;
  /** Derived by readState (not stored). */
  state: NodePhase;
  stage: NodeStage;
  etcdState: EtcdState;
  identity: string | null;
  configHash: string | null;
  appliedHostname: string | null;
  appliedType: string | null;
}

export interface FakeEtcdMember {
  id: string;
  name: string;
  address: string;
  /** A learner until then (null: voting from the start). */
  promoteAt: number | null;
}

export interface FakeEtcdCluster {
  id: string;
  identity: string;
  k8sIdentity: string | null;
  createdAt: number;
  members: FakeEtcdMember[];
}

/** An interval during which a voting etcd member was down (to: null = still down). */
export interface FakeDowntime {
  node: string;
  hostname: string;
  cluster: string;
  member: string;
  from: number;
  to: number | null;
  reason: string;
}

/** An interval during which a control plane's kube-apiserver did not serve (to: null = still down). */
export interface FakeApiDowntime {
  node: string;
  hostname: string;
  from: number;
  to: number | null;
  reason: string;
}

/** A moment when two or more control planes were down together. */
export interface FakeControlPlaneOverlap {
  from: number;
  to: number | null;
  nodes: string[];
}

export interface FakeQuorumViolation {
  cluster: string;
  from: number;
  to: number | null;
  members: string[];
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
  etcd: { clusters: Record<string, FakeEtcdCluster>; seq: number };
  downtime: FakeDowntime[];
  /** Downtime of each control plane's kube-apiserver (reboots, resets, restarts after a live change). */
  apiDowntime: FakeApiDowntime[];
  /** Totals over all nodes: successful bootstraps, AlreadyExists answers. */
  cluster: { bootstrapCount: number; bootstrapAlreadyExists: number };
  k8s: { objects: FakeK8sObject[] };
  op: { items: Record<string, Record<string, FakeOpItem>> };
  /** Schematics registered with the fake Image Factory: id -> canonical YAML. */
  factory: { schematics: Record<string, string> };
  /** Each upgrade-k8s run that changed the configs. */
  k8sUpgrades?: { at: number; from: string; to: string; client: string; until: number }[];
}

export interface FakeCall {
  tool: FakeTool;
  argv: string[];
  exit: number;
  /** Start time (ms since epoch) and duration. */
  t: number;
  ms: number;
  /** The parsed command path (absent when the argv could not be parsed). */
  command?: string;
  /** talosctl: the version of the talosctl that ran (bin/talosctl-v1.NN or the world's). */
  client?: string;
  /** The fault taken for this call, and whether it decided what the caller saw. */
  fault?: { kind: FakeFault["kind"]; index: number; delivered: boolean };
  /** The argv was rejected (also in usage-errors.log). */
  usageError?: true;
  /** Where a configured canary appeared: "env:NAME", "argv[3]". */
  canaryHits?: string[];
  /** A hanging call ended by this signal. */
  killed?: string;
}

export interface FakeUsageError {
  tool: FakeTool;
  argv: string[];
  message: string;
  t: number;
}

export interface K8sRef {
  apiVersion?: string;
  /** e.g. "Deployment", "Secret", "ClusterSecretStore", or "HelmRelease(pulumi)" for a Pulumi Helm release. */
  kind: string;
  metadata: { name: string; namespace?: string };
}

/** Absolute path of test/fakes/bin (put it first on PATH). */
export const BIN_DIR: string;
/** The fake server's native-client links when this process runs one (FAKE_CLIENT_BIN), else BIN_DIR. */
export function binDir(): string;
export const DEFAULT_DELAYS: FakeDelays;
export const DEFAULT_NODES: { address: string; hostname: string }[];
export const DEFAULT_DISKS: FakeDisk[];

/** Create or reset a world in dir: config.json (defaults filled in), fresh state.json, empty logs. */
export function initFakeWorld(dir: string, config?: FakeConfigInput): FakeConfig;
export function readConfig(dir: string): FakeConfig;
export function writeConfig(dir: string, config: FakeConfigInput): void;
/** state.json caught up with now (not written), with each node's derived fields. */
export function readState(dir: string): FakeState;
/** state.json as stored. */
export function loadState(dir: string): FakeState;
export function writeState(dir: string, state: FakeState): void;
/** Locked read-modify-write of state.json. */
export function updateState<T>(dir: string, fn: (state: FakeState) => T): T;
export function withLock<T>(dir: string, fn: () => T): T;
export function readCalls(dir: string): FakeCall[];
/** Is fake process `pid` in a real hang (a timeout fault, a silent etcd), its SIGTERM handler installed? */
export function isHanging(dir: string, pid: number): boolean;
export function appendCall(dir: string, record: FakeCall): void;
/** Every rejected argv of every fake (assert none after a simulated run). */
export function readUsageErrors(dir: string): FakeUsageError[];
/** Every moment two or more members of one etcd cluster were down together (use on readState). */
export function quorumViolations(state: Pick<FakeState, "downtime">): FakeQuorumViolation[];
/** Every moment two or more control planes' API servers were down together. */
export function apiServerOverlaps(state: Pick<FakeState, "apiDowntime">): FakeControlPlaneOverlap[];
/** Every moment two or more control planes were down together (API server or etcd member down). */
export function controlPlaneOverlaps(state: Pick<FakeState, "apiDowntime" | "downtime">): FakeControlPlaneOverlap[];
/** Cut / restore a node's power (down meanwhile; an etcd member's downtime is recorded). */
export function powerOff(dir: string, address: string): void;
export function powerOn(dir: string, address: string): void;
/** Back to maintenance mode with no config; keepEtcdData: STATE wiped, EPHEMERAL kept (else an empty disk at the next install). */
export function toMaintenance(dir: string, address: string, opts?: { keepEtcdData?: boolean }): void;
/** Give a node etcd data of another etcd cluster (default: a random identity, 3 members, no quorum). Returns its id. */
export function giveStaleEtcdData(dir: string, address: string, opts?: { identity?: string; members?: number }): string;
/** Replace the fault list in config.json. */
export function setFaults(dir: string, faults: FakeFault[]): void;
/** Merge delays into config.json. */
export function setDelays(dir: string, delaysMs: Partial<FakeDelays>): void;
/** ms since the epoch from which every control plane's API server serves under the current delays (Infinity: one not running). */
export function apiServersServingFrom(dir: string): number;
/** Record an object as existing (idempotent: keeps the first creation time). */
export function createK8sObject(dir: string, obj: K8sRef): FakeK8sObject;
/** Forget an object; true when it existed. */
export function deleteK8sObject(dir: string, obj: K8sRef): boolean;
/** Create or replace a 1Password item directly. */
export function putOpItem(dir: string, vault: string, item: FakeOpItemInput): FakeOpItem;
export function normalizeOpItem(item: FakeOpItemInput): FakeOpItem;
/** FAKE_BUNDLE_DIR for anything that starts the fakes (lib/bundle.js). */
export function bundleEnv(): { FAKE_BUNDLE_DIR: string; FAKE_SERVER_SOCKET?: string };
/** process.env plus PATH=<binDir()>:$PATH, FAKE_STATE_DIR=dir and the bundle (plus extra). */
export function fakeEnv(dir: string, extra?: Record<string, string>): NodeJS.ProcessEnv;
export function sleepMs(ms: number): void;
export function requireDir(dir?: string): string;
