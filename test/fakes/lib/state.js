"use strict";
/**
 * Public API of the fakes' world for tests (types: state.d.ts): create a world, read it (with
 * each node's derived state), read the logs, set faults and delays, stage scenarios (power,
 * maintenance mode, stale etcd data) and record Kubernetes objects and 1Password items the way
 * the program's providers would.
 */
const fs = require("fs");
const path = require("path");
const crypto = require("crypto");
const store = require("./store");
const nodes = require("./talos/nodes");

const BIN_DIR = path.resolve(__dirname, "..", "bin");

/** Create (or reset) a fake world in `dir`. Returns the normalized config. */
function initFakeWorld(dir, config) {
  fs.mkdirSync(dir, { recursive: true });
  const cfg = store.normalizeConfig(config);
  store.writeJsonAtomic(path.join(dir, "config.json"), cfg);
  store.writeJsonAtomic(path.join(dir, "state.json"), store.emptyState(cfg));
  for (const log of ["calls.log", "usage-errors.log"]) fs.writeFileSync(path.join(dir, log), "");
  fs.rmSync(path.join(dir, store.LOCK_NAME), { recursive: true, force: true });
  return cfg;
}

/**
 * state.json caught up with now (nothing is written), each node with derived fields: `state`
 * (its phase), `stage` (maintenance/installing/booting/running/rebooting/off), `etcdState`
 * (down/learner/no-leader/serving), `identity`, `configHash`, `appliedHostname`, `appliedType`.
 */
function readState(dir) {
  const cfg = store.readConfig(dir);
  const now = Date.now();
  const s = nodes.settle(store.loadState(dir), cfg, now);
  for (const n of Object.values(s.nodes)) {
    Object.assign(n, {
      state: nodes.phaseOf(n, now),
      stage: nodes.stageOf(n, now),
      etcdState: nodes.localEtcd(s, n, now),
      identity: n.config ? n.config.identity : null,
      configHash: n.config ? n.config.hash : null,
      appliedHostname: n.config ? n.config.hostname : null,
      appliedType: n.config ? n.config.type : null,
    });
  }
  return s;
}

/** Locked read-modify-write of one node after settling the world; fn(state, node, now, cfg). */
function onNode(dir, address, fn) {
  return store.updateState(dir, (s) => {
    const cfg = store.readConfig(dir);
    const now = Date.now();
    nodes.settle(s, cfg, now);
    const n = s.nodes[address];
    if (!n) throw new Error(`fake world has no node ${address}`);
    return fn(s, n, now, cfg);
  });
}

/** Cut a node's power: down (connection refused) until powerOn; an etcd member's downtime is recorded. */
function powerOff(dir, address) {
  onNode(dir, address, (s, n, now) => {
    nodes.markDown(s, n, now, "power off");
    Object.assign(n, { phase: "off", phaseUntil: null, phaseNext: null, runningSince: null });
  });
}

/** Power a node on: it boots with its persisted config (configured) or into maintenance mode. */
function powerOn(dir, address) {
  onNode(dir, address, (s, n, now, cfg) => {
    if ((n.config || n.pending) && nodes.bootFails(n, now, cfg.delaysMs.reboot)) return;
    if (n.config || n.pending) nodes.boot(n, now);
    else
      Object.assign(n, { phase: "maintenance", phaseUntil: null, phaseNext: null, upSince: now, runningSince: null });
  });
}

/**
 * Put a node back in maintenance mode with no config. keepEtcdData: it boots from its disk with
 * STATE wiped and EPHEMERAL (its etcd data) kept; otherwise it boots the ISO and its next install
 * starts with an empty disk.
 */
function toMaintenance(dir, address, opts) {
  const keep = !!(opts && opts.keepEtcdData);
  onNode(dir, address, (s, n, now) => {
    nodes.markDown(s, n, now, "maintenance");
    Object.assign(n, {
      phase: "maintenance",
      phaseUntil: null,
      phaseNext: null,
      upSince: now,
      runningSince: null,
      config: null,
      pending: null,
      installed: keep,
    });
    if (!keep) n.etcd = null;
  });
}

/**
 * Give a node etcd data of another cluster: a member of an etcd cluster of `identity` (default: a
 * new random one) with `members` members in all (default 3), the others held by no node, so it
 * has no quorum unless members is 1. Returns the etcd cluster id.
 */
function giveStaleEtcdData(dir, address, opts) {
  const o = opts || {};
  return onNode(dir, address, (s, n, now) => {
    s.etcd.seq = (s.etcd.seq || 0) + 1;
    const id = `etcd-${s.etcd.seq}`;
    const identity = o.identity || crypto.randomBytes(32).toString("hex");
    const members = Array.from({ length: o.members || 3 }, (_, i) => ({
      id: `5a1e${String(s.etcd.seq).padStart(4, "0")}0000000${i}`,
      name: i === 0 ? nodes.memberName(n) : `old-member-${i}`,
      address: i === 0 ? address : `192.0.2.${i}`,
      promoteAt: null,
    }));
    s.etcd.clusters[id] = { id, identity, k8sIdentity: null, createdAt: now - 86400000, members };
    n.etcd = { cluster: id, memberId: members[0].id, since: 0 };
    n.installed = true;
    return id;
  });
}

function setFaults(dir, faults) {
  store.withLock(dir, () => {
    const cfg = store.readConfig(dir);
    cfg.faults = (faults || []).map((f) => Object.assign({}, f));
    store.writeConfig(dir, cfg);
  });
}

function setDelays(dir, delaysMs) {
  store.withLock(dir, () => {
    const cfg = store.readConfig(dir);
    cfg.delaysMs = Object.assign({}, cfg.delaysMs, delaysMs);
    store.writeConfig(dir, cfg);
  });
}

/**
 * The moment (ms since the epoch) from which every control plane's kube-apiserver serves under the
 * world's current delays; Infinity while one has not started running. The fakes read `delaysMs`
 * when asked (nodes.js apiServerUpSince), so delays raised after a bring-up with zero delays apply
 * to it too: a caller that raises them and then times a change waits for this moment first, as a
 * change on a real cluster starts from one that has settled.
 */
function apiServersServingFrom(dir) {
  const cfg = store.readConfig(dir);
  const s = nodes.settle(store.loadState(dir), cfg, Date.now());
  const cps = Object.values(s.nodes).filter((n) => nodes.isControlPlane(n.config));
  return Math.max(-Infinity, ...cps.map((n) => nodes.apiServerUpSince(s, cfg, n)));
}

const objectKey = (obj) => `${obj.kind}|${(obj.metadata || {}).namespace || ""}|${(obj.metadata || {}).name}`;

/**
 * Record a Kubernetes object (or `HelmRelease(pulumi)`) as existing. Idempotent: an object that
 * already exists keeps its creation time (an update, not a replacement). Returns the stored object.
 */
function createK8sObject(dir, obj) {
  if (!obj || !obj.kind || !obj.metadata || !obj.metadata.name)
    throw new Error("createK8sObject needs {kind, metadata: {name}}");
  return store.updateState(dir, (state) => {
    const existing = state.k8s.objects.find((o) => objectKey(o) === objectKey(obj));
    if (existing) return existing;
    const stored = {
      apiVersion: obj.apiVersion || "v1",
      kind: obj.kind,
      metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace || "" },
      createdAt: Date.now(),
    };
    state.k8s.objects.push(stored);
    return stored;
  });
}

/** Remove a recorded object; returns true when it existed. */
function deleteK8sObject(dir, obj) {
  return store.updateState(dir, (state) => {
    const before = state.k8s.objects.length;
    state.k8s.objects = state.k8s.objects.filter((o) => objectKey(o) !== objectKey(obj));
    return state.k8s.objects.length !== before;
  });
}

/** Put (create or replace) a 1Password item directly, bypassing the op fake. */
function putOpItem(dir, vault, item) {
  return store.updateState(dir, (state) => {
    state.op.items[vault] = state.op.items[vault] || {};
    const stored = store.normalizeOpItem(item);
    state.op.items[vault][item.title] = stored;
    return stored;
  });
}

/**
 * Where the fakes are run from: the fake server's native-client links when this process runs one
 * (FAKE_CLIENT_BIN, set with FAKE_SERVER_SOCKET by test/helpers/processEnv.ts: lib/server.js),
 * else bin/ (each call a Node.js process of its own).
 */
const binDir = () =>
  process.env.FAKE_CLIENT_BIN && process.env.FAKE_SERVER_SOCKET ? process.env.FAKE_CLIENT_BIN : BIN_DIR;

/** Environment for running the fakes: their bin dir first on PATH, FAKE_STATE_DIR set. */
function fakeEnv(dir, extra) {
  const base = Object.assign({}, process.env, extra || {});
  base.PATH = `${binDir()}${path.delimiter}${base.PATH || ""}`;
  base.FAKE_STATE_DIR = dir;
  return Object.assign(base, bundleEnv());
}

/**
 * What anything that starts the fakes passes on, beside binDir() first on PATH: FAKE_BUNDLE_DIR,
 * the one-file bundle (lib/bundle.js), and FAKE_SERVER_SOCKET when this process runs the fake
 * server (the native client on binDir() needs it).
 */
function bundleEnv() {
  const env = { FAKE_BUNDLE_DIR: process.env.FAKE_BUNDLE_DIR || require("./bundle").ensureBundle() };
  if (binDir() !== BIN_DIR) env.FAKE_SERVER_SOCKET = process.env.FAKE_SERVER_SOCKET;
  return env;
}

module.exports = {
  BIN_DIR,
  binDir,
  bundleEnv,
  DEFAULT_DELAYS: store.DEFAULT_DELAYS,
  DEFAULT_NODES: store.DEFAULT_NODES,
  DEFAULT_DISKS: store.DEFAULT_DISKS,
  initFakeWorld,
  readConfig: store.readConfig,
  writeConfig: store.writeConfig,
  readState,
  loadState: store.loadState,
  writeState: store.writeState,
  updateState: store.updateState,
  withLock: store.withLock,
  readCalls: store.readCalls,
  isHanging: store.isHanging,
  appendCall: store.appendCall,
  readUsageErrors: store.readUsageErrors,
  quorumViolations: nodes.quorumViolations,
  apiServerOverlaps: nodes.apiServerOverlaps,
  controlPlaneOverlaps: nodes.controlPlaneOverlaps,
  powerOff,
  powerOn,
  toMaintenance,
  giveStaleEtcdData,
  setFaults,
  setDelays,
  apiServersServingFrom,
  createK8sObject,
  deleteK8sObject,
  putOpItem,
  normalizeOpItem: store.normalizeOpItem,
  fakeEnv,
  sleepMs: store.sleepMs,
  requireDir: store.requireDir,
};
