"use strict";
/**
 * The fakes' on-disk store (test fixtures, not the program). Layout of FAKE_STATE_DIR:
 * config.json (written by tests), state.json (written by the fakes and by tests through
 * state.js), calls.log (one JSON line per fake invocation), usage-errors.log (one JSON line per
 * rejected argv). Writes are atomic (temp file + rename) and every read-modify-write holds a mkdir
 * spin lock, so scripts for three nodes can run in parallel.
 */
const fs = require("fs");
const path = require("path");

const LOCK_NAME = "state.lock";
const LOCK_WAIT_MS = 30000;
const LOCK_STALE_MS = 10000;

const DEFAULT_DELAYS = {
  install: 0,
  reboot: 0,
  /** After `talosctl bootstrap`, until that node's etcd elects itself and serves. */
  bootstrap: 0,
  /** After a control plane joins etcd as a learner, until it is promoted to a voting member. */
  etcdJoin: 0,
  /** After a boot, until CRI is up (bootstrap answers "not available yet" meanwhile). */
  cri: 0,
  /** How long the etcd client retries "no leader" / "not supported for learner" (real: ~2.5 s). */
  etcdRetry: 0,
  apiServer: 0,
  /** After a live apply that changes a control-plane static pod, until the kubelet replaces it (the old pod stops). */
  staticPodPickup: 0,
  /** From then until the new static pod is Ready (its API server serving). */
  staticPodRestart: 0,
  /** After a live apply that changes the kubelet's spec, until the restarted kubelet is healthy. */
  kubeletRestart: 0,
  /** An upgrade's installer run (legacy: inside the node's upgrade sequence; 1.13+: the LifecycleService call). */
  upgrade: 0,
  /** How long the legacy Upgrade call's pre-checks hold the etcd upgrade mutex (pull, ValidateForUpgrade). */
  upgradeCheck: 0,
  /** How long an apply-config call holds the node's apply lock (1.13+: a concurrent apply is refused). */
  applyConfig: 0,
  ciliumRollout: 0,
  esoReady: 0,
  connectReady: 0,
  storeReady: 0,
  fluxReady: 0,
  command: 0,
};

/** The Mac minis' disks: the internal system disk and the USB SSD (home-ops-cluster.md §1). */
const DEFAULT_DISKS = [
  {
    id: "nvme0n1",
    size: 251000193024,
    transport: "nvme",
    rotational: false,
    model: "APPLE SSD AP0256M",
    serial: "C02FAKE0001",
  },
  {
    id: "sda",
    size: 1000204886016,
    transport: "usb",
    rotational: false,
    model: "Portable SSD T5",
    serial: "S49WNP0FAKE001",
  },
];

const DEFAULT_NODES = [
  { address: "172.29.51.11", hostname: "mini01" },
  { address: "172.29.51.12", hostname: "mini02" },
  { address: "172.29.51.13", hostname: "mini03" },
];

const ONE_HOUR_MS = 3600000;

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/** Synchronous sleep (the fakes are synchronous programs). */
function sleepMs(ms) {
  if (ms > 0) Atomics.wait(sleepCell, 0, 0, ms);
}

/**
 * The world's wall clock, which only certificates see (minting and checking validity): the
 * injected HOMEOPS_NOW (an ISO date: the same variable the program's tests inject) when set,
 * else config.clockOffsetMs from the machine's clock (0 by default: certificates minted and
 * checked now). A test of expiry injects HOMEOPS_NOW. Node timing (reboots, joins, delays)
 * always runs on the machine's clock.
 */
function wallNow(cfg) {
  const env = process.env.HOMEOPS_NOW;
  if (env) {
    const t = Date.parse(env);
    if (Number.isNaN(t)) throw new Error(`HOMEOPS_NOW=${env}: not an ISO date`);
    return t;
  }
  return Date.now() + ((cfg && cfg.clockOffsetMs) || 0);
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
      // 1Password puts custom fields in a section; built-in ones carry a purpose (USERNAME, PASSWORD, NOTES).
      ...(f.section ? { section: { id: String(f.section.id), label: String(f.section.label || "") } } : {}),
      ...(f.purpose ? { purpose: String(f.purpose) } : {}),
    })),
    createdAt: new Date().toISOString(),
  };
}

function normalizeConfig(config) {
  const c = config || {};
  return Object.assign({}, c, {
    talosVersion: c.talosVersion || "v1.11.6",
    nodes: (c.nodes || DEFAULT_NODES).map((n) =>
      Object.assign(
        { address: n.address, hostname: n.hostname, disks: n.disks || DEFAULT_DISKS },
        n.talosVersion ? { talosVersion: n.talosVersion } : {},
        n.schematic ? { schematic: n.schematic } : {},
      ),
    ),
    delaysMs: Object.assign({}, DEFAULT_DELAYS, c.delaysMs || {}),
    faults: (c.faults || []).map((f) => Object.assign({}, f)),
    opItems: c.opItems || [],
    opFieldsCsvQuoting: !!c.opFieldsCsvQuoting,
    canaries: (c.canaries || []).filter((s) => typeof s === "string" && s !== ""),
    mintCanary: c.mintCanary || null,
    nodeHangMs: c.nodeHangMs == null ? ONE_HOUR_MS : c.nodeHangMs,
    installerImages: (c.installerImages || []).slice(),
    factoryServes: c.factoryServes !== false,
    clockOffsetMs: c.clockOffsetMs || 0,
  });
}

/** A boot ID (/proc/sys/kernel/random/boot_id: a random UUID per boot). */
const newBootId = () => require("crypto").randomUUID();

function freshNode(n, config) {
  return {
    address: n.address,
    hostname: n.hostname,
    phase: "maintenance",
    phaseUntil: null,
    phaseNext: null,
    upSince: 0,
    runningSince: null,
    installed: false,
    config: null,
    pending: null,
    etcd: null,
    bootstrapRequested: false,
    insecureApplies: 0,
    authApplies: 0,
    changedApplies: 0,
    unchangedApplies: 0,
    bootstraps: 0,
    alreadyExists: 0,
    resets: 0,
    reboots: 0,
    /** What the node runs: the ISO's version in maintenance mode, the installed one afterwards. */
    talos: {
      version: n.talosVersion || (config && config.talosVersion) || "v1.11.6",
      schematic: n.schematic || null,
    },
    /** Installed by an upgrade into the other boot entry, booted at the next boot: {version, schematic, image}. */
    nextTalos: null,
    /** Versions that fail to boot on this node (the A/B fallback: machined reverts to the previous entry). */
    failBoot: [],
    fallbacks: [],
    bootId: newBootId(),
    /** The Kubernetes Node's cordon: null, "talos" (the node's own, undone when it runs again) or "user". */
    cordon: null,
  };
}

function emptyState(config) {
  const nodes = {};
  for (const n of config.nodes) nodes[n.address] = freshNode(n, config);
  const items = {};
  for (const it of config.opItems || []) {
    const vault = it.vault || "Automation";
    items[vault] = items[vault] || {};
    items[vault][it.title] = normalizeOpItem(it);
  }
  return {
    nodes,
    etcd: { clusters: {}, seq: 0 },
    downtime: [],
    apiDowntime: [],
    cluster: { bootstrapCount: 0, bootstrapAlreadyExists: 0 },
    k8s: { objects: [] },
    op: { items },
    factory: { schematics: {} },
  };
}

function readConfig(dir) {
  return normalizeConfig(readJson(path.join(requireDir(dir), "config.json"), {}));
}

function writeConfig(dir, config) {
  writeJsonAtomic(path.join(requireDir(dir), "config.json"), normalizeConfig(config));
}

function loadState(dir) {
  const d = requireDir(dir);
  return readJson(path.join(d, "state.json"), null) || emptyState(readConfig(d));
}

function writeState(dir, state) {
  writeJsonAtomic(path.join(requireDir(dir), "state.json"), state);
}

/** Run fn while holding the world's lock (mkdir spin lock, bounded wait, stale-lock recovery). */
function withLock(dir, fn) {
  const lock = path.join(requireDir(dir), LOCK_NAME);
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
        fs.rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() - start > LOCK_WAIT_MS)
        throw new Error(`fake: could not acquire ${lock} within ${LOCK_WAIT_MS} ms`);
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

function readLines(dir, name) {
  let text = "";
  try {
    text = fs.readFileSync(path.join(requireDir(dir), name), "utf8");
  } catch (e) {
    if (e.code !== "ENOENT") throw e;
  }
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l));
}

/**
 * hanging/<pid>: the call of process `pid` (this process, or under the fake server the native
 * client that made the call) is in a real hang, its SIGTERM handler installed (runtime.js).
 */
const hangingFile = (dir, pid) => path.join(requireDir(dir), "hanging", String(pid == null ? process.pid : pid));

function markHanging(dir, pid) {
  fs.mkdirSync(path.dirname(hangingFile(dir, pid)), { recursive: true });
  fs.writeFileSync(hangingFile(dir, pid), "");
}

function unmarkHanging(dir, pid) {
  fs.rmSync(hangingFile(dir, pid), { force: true });
}

/** Is process `pid` of this world in a real hang, ready to be ended by its caller? */
const isHanging = (dir, pid) => fs.existsSync(hangingFile(dir, pid));

const appendLine = (dir, name, record) =>
  fs.appendFileSync(path.join(requireDir(dir), name), JSON.stringify(record) + "\n");

module.exports = {
  LOCK_NAME,
  DEFAULT_DELAYS,
  DEFAULT_DISKS,
  DEFAULT_NODES,
  sleepMs,
  wallNow,
  newBootId,
  requireDir,
  writeJsonAtomic,
  normalizeOpItem,
  normalizeConfig,
  freshNode,
  emptyState,
  readConfig,
  writeConfig,
  loadState,
  writeState,
  withLock,
  updateState,
  markHanging,
  unmarkHanging,
  isHanging,
  readCalls: (dir) => readLines(dir, "calls.log"),
  appendCall: (dir, record) => appendLine(dir, "calls.log", record),
  readUsageErrors: (dir) => readLines(dir, "usage-errors.log"),
  appendUsageError: (dir, record) => appendLine(dir, "usage-errors.log", record),
};
