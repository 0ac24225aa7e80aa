"use strict";
/**
 * On-disk world of the fake talosctl/kubectl/op executables (test fixtures, not the program).
 * Layout of FAKE_STATE_DIR: config.json (written by tests), state.json (written by the fakes and
 * by the test engine through this module), calls.log (one JSON line per fake invocation).
 * Writes are atomic (temp file + rename) and every read-modify-write holds a mkdir spin lock, so
 * scripts for three nodes can run in parallel.
 */
const fs = require("fs");
const path = require("path");

const BIN_DIR = path.resolve(__dirname, "..", "bin");
const LOCK_NAME = "state.lock";
const LOCK_WAIT_MS = 30000;
const LOCK_STALE_MS = 10000;

const DEFAULT_DELAYS = {
  install: 0,
  reboot: 0,
  bootstrap: 0,
  apiServer: 0,
  ciliumRollout: 0,
  esoReady: 0,
  connectReady: 0,
  storeReady: 0,
  fluxReady: 0,
  command: 0,
};

const DEFAULT_NODES = [
  { address: "172.29.51.11", hostname: "mini01" },
  { address: "172.29.51.12", hostname: "mini02" },
  { address: "172.29.51.13", hostname: "mini03" },
];

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/** Synchronous sleep (the fakes are synchronous programs). */
function sleepMs(ms) {
  if (ms > 0) Atomics.wait(sleepCell, 0, 0, ms);
}

function requireDir(dir) {
  const d = dir || process.env.FAKE_STATE_DIR;
  if (!d) throw new Error("FAKE_STATE_DIR is not set (the fakes need a state directory)");
  return d;
}

function readJson(file, fallback) {
  let text;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    if (e.code === "ENOENT" && fallback !== undefined) return fallback;
    throw e;
  }
  return JSON.parse(text);
}

let tmpCounter = 0;
function writeJsonAtomic(file, value) {
  const tmp = `${file}.${process.pid}.${Date.now()}.${tmpCounter++}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + "\n");
  fs.renameSync(tmp, file);
}

function emptyState(config) {
  const nodes = {};
  for (const n of config.nodes) {
    nodes[n.address] = {
      address: n.address,
      hostname: n.hostname,
      phase: "maintenance",
      phaseUntil: null,
      phaseNext: null,
      identity: null,
      configHash: null,
      appliedHostname: null,
      appliedAt: null,
      insecureApplies: 0,
      authApplies: 0,
      changedApplies: 0,
      unchangedApplies: 0,
      resets: 0,
      reboots: 0,
      poweredOff: false,
    };
  }
  const items = {};
  for (const it of config.opItems || []) {
    const vault = it.vault || "Automation";
    items[vault] = items[vault] || {};
    items[vault][it.title] = normalizeOpItem(it);
  }
  return {
    nodes,
    clusters: {},
    cluster: {
      identity: null,
      endpoint: null,
      name: null,
      bootstrappedAt: null,
      bootstrapCount: 0,
      bootstrapAlreadyExists: 0,
    },
    k8s: { objects: [] },
    op: { items },
  };
}

let opIdCounter = 0;
function normalizeOpItem(it) {
  return {
    id: it.id || `fake${Date.now().toString(36)}${process.pid.toString(36)}${(opIdCounter++).toString(36)}`,
    title: it.title,
    category: it.category || "SECURE_NOTE",
    fields: (it.fields || []).map((f) => ({
      label: f.label,
      type: f.type || "STRING",
      value: f.value == null ? "" : String(f.value),
    })),
    createdAt: new Date().toISOString(),
  };
}

function normalizeConfig(config) {
  const c = config || {};
  return Object.assign({}, c, {
    talosVersion: c.talosVersion || "v1.11.6",
    nodes: (c.nodes || DEFAULT_NODES).map((n) => ({ address: n.address, hostname: n.hostname })),
    delaysMs: Object.assign({}, DEFAULT_DELAYS, c.delaysMs || {}),
    faults: (c.faults || []).map((f) => Object.assign({}, f)),
    opItems: c.opItems || [],
    opFieldsCsvQuoting: !!c.opFieldsCsvQuoting,
  });
}

/** Create (or reset) a fake world in `dir`. Returns the normalized config. */
function initFakeWorld(dir, config) {
  fs.mkdirSync(dir, { recursive: true });
  const cfg = normalizeConfig(config);
  writeJsonAtomic(path.join(dir, "config.json"), cfg);
  writeJsonAtomic(path.join(dir, "state.json"), emptyState(cfg));
  fs.writeFileSync(path.join(dir, "calls.log"), "");
  try {
    fs.rmSync(path.join(dir, LOCK_NAME), { recursive: true, force: true });
  } catch (_) {
    /* nothing to clean */
  }
  return cfg;
}

function readConfig(dir) {
  return normalizeConfig(readJson(path.join(requireDir(dir), "config.json"), {}));
}

function loadState(dir) {
  const d = requireDir(dir);
  const s = readJson(path.join(d, "state.json"), null);
  return s || emptyState(readConfig(d));
}

/** Effective node phase at `now`: installing/rebooting end by themselves at phaseUntil. */
function effectivePhase(node, now) {
  if (
    (node.phase === "installing" || node.phase === "rebooting") &&
    node.phaseUntil != null &&
    now >= node.phaseUntil
  ) {
    return node.phaseNext || "configured";
  }
  return node.phase;
}

/**
 * state.json as the tests should see it: each node also gets `state`, its effective phase now
 * ("maintenance" | "installing" | "configured" | "rebooting"; the stored `phase` is settled lazily).
 */
function readState(dir) {
  const s = loadState(dir);
  const now = Date.now();
  for (const n of Object.values(s.nodes)) {
    delete n.state;
    n.state = effectivePhase(n, now);
  }
  return s;
}

function writeState(dir, state) {
  for (const n of Object.values(state.nodes || {})) delete n.state;
  writeJsonAtomic(path.join(requireDir(dir), "state.json"), state);
}

function writeConfig(dir, config) {
  writeJsonAtomic(path.join(requireDir(dir), "config.json"), normalizeConfig(config));
}

/** Run fn while holding the world's lock (mkdir spin lock, bounded wait, stale-lock recovery). */
function withLock(dir, fn) {
  const d = requireDir(dir);
  const lock = path.join(d, LOCK_NAME);
  const start = Date.now();
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (e) {
      if (e.code !== "EEXIST") throw e;
      let age = 0;
      try {
        age = Date.now() - fs.statSync(lock).mtimeMs;
      } catch (_) {
        continue; // released meanwhile
      }
      if (age > LOCK_STALE_MS) {
        try {
          fs.rmSync(lock, { recursive: true, force: true });
        } catch (_) {
          /* someone else recovered it */
        }
        continue;
      }
      if (Date.now() - start > LOCK_WAIT_MS) {
        throw new Error(`fake: could not acquire ${lock} within ${LOCK_WAIT_MS} ms`);
      }
      sleepMs(1 + Math.floor(Math.random() * 5));
    }
  }
  try {
    return fn();
  } finally {
    try {
      fs.rmdirSync(lock);
    } catch (_) {
      /* already recovered as stale */
    }
  }
}

/** Locked read-modify-write of state.json; fn mutates the state in place and returns a result. */
function updateState(dir, fn) {
  return withLock(dir, () => {
    const state = loadState(dir);
    const result = fn(state);
    writeState(dir, state);
    return result;
  });
}

function readCalls(dir) {
  let text = "";
  try {
    text = fs.readFileSync(path.join(requireDir(dir), "calls.log"), "utf8");
  } catch (e) {
    if (e.code !== "ENOENT") throw e;
  }
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l));
}

function appendCall(dir, record) {
  fs.appendFileSync(path.join(requireDir(dir), "calls.log"), JSON.stringify(record) + "\n");
}

function setFaults(dir, faults) {
  withLock(dir, () => {
    const cfg = readConfig(dir);
    cfg.faults = (faults || []).map((f) => Object.assign({}, f));
    writeConfig(dir, cfg);
  });
}

function setDelays(dir, delaysMs) {
  withLock(dir, () => {
    const cfg = readConfig(dir);
    cfg.delaysMs = Object.assign({}, cfg.delaysMs, delaysMs);
    writeConfig(dir, cfg);
  });
}

function objectKey(obj) {
  const md = obj.metadata || {};
  return `${obj.kind}|${md.namespace || ""}|${md.name}`;
}

/**
 * Record a Kubernetes object (or `HelmRelease(pulumi)`) as existing. Idempotent: an object that
 * already exists keeps its creation time (an update, not a replacement). Returns the stored object.
 */
function createK8sObject(dir, obj) {
  if (!obj || !obj.kind || !obj.metadata || !obj.metadata.name) {
    throw new Error("createK8sObject needs {kind, metadata: {name}}");
  }
  return updateState(dir, (state) => {
    const key = objectKey(obj);
    const existing = state.k8s.objects.find((o) => objectKey(o) === key);
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
  return updateState(dir, (state) => {
    const key = objectKey(obj);
    const before = state.k8s.objects.length;
    state.k8s.objects = state.k8s.objects.filter((o) => objectKey(o) !== key);
    return state.k8s.objects.length !== before;
  });
}

/** Put (create or replace) a 1Password item directly, bypassing the op fake. */
function putOpItem(dir, vault, item) {
  return updateState(dir, (state) => {
    state.op.items[vault] = state.op.items[vault] || {};
    const stored = normalizeOpItem(item);
    state.op.items[vault][item.title] = stored;
    return stored;
  });
}

/** Environment for running the fakes: their bin dir first on PATH, FAKE_STATE_DIR set. */
function fakeEnv(dir, extra) {
  const base = Object.assign({}, process.env, extra || {});
  base.PATH = `${BIN_DIR}${path.delimiter}${base.PATH || ""}`;
  base.FAKE_STATE_DIR = dir;
  return base;
}

module.exports = {
  BIN_DIR,
  DEFAULT_DELAYS,
  DEFAULT_NODES,
  initFakeWorld,
  readConfig,
  writeConfig,
  readState,
  loadState,
  effectivePhase,
  writeState,
  updateState,
  withLock,
  readCalls,
  appendCall,
  setFaults,
  setDelays,
  createK8sObject,
  deleteK8sObject,
  putOpItem,
  normalizeOpItem,
  fakeEnv,
  sleepMs,
  requireDir,
};
