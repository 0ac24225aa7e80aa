"use strict";
/**
 * Machine configs, talosconfigs and secrets bundles as the node and talosctl read them, parsed
 * with the `yaml` package so that files written by the real talosctl (end-to-end tier) and by the
 * fake's own `gen` work alike. A cluster identity is the SHA-256 of its Talos CA certificate:
 * `machine.ca.crt` of a machine config, `contexts[<context>].ca` of a talosconfig,
 * `certs.os.crt` of a secrets bundle (talosctl gen config copies it to both).
 */
const crypto = require("crypto");
const YAML = require("yaml");
const { unifiedDiff } = require("../diff");

class ConfigError extends Error {}

const sha256 = (s) => crypto.createHash("sha256").update(s).digest("hex");
/** Identity of a base64 PEM certificate field (decoded first, so encodings of the same bytes agree). */
const certIdentity = (b64) => (typeof b64 === "string" && b64 !== "" ? sha256(Buffer.from(b64, "base64")) : null);
const isMap = (v) => v != null && typeof v === "object" && !Array.isArray(v);

/** Parse every YAML document of `text`; throws ConfigError with the parser's message. */
function parseDocuments(text) {
  const docs = YAML.parseAllDocuments(text);
  const errors = docs.flatMap((d) => d.errors || []);
  if (errors.length) throw new ConfigError(errors[0].message.split("\n")[0]);
  return docs.map((d) => d.toJS()).filter((d) => d != null);
}

/**
 * A machine config as configloader.NewFromBytes would load it (pkg/machinery/config/configloader
 * @ v1.10.5): documents with `version: v1alpha1` or with apiVersion/kind; anything else is an
 * error. Returns {docs, v1alpha1, identity, k8sIdentity, type, hostname, clusterName, endpoint}.
 */
function parseMachineConfig(text) {
  const docs = parseDocuments(text);
  if (!docs.length) throw new ConfigError("no documents found in the config");
  let v1alpha1 = null;
  for (const [i, d] of docs.entries()) {
    if (!isMap(d)) throw new ConfigError(`document ${i + 1} is not a mapping`);
    if (d.version === "v1alpha1") {
      if (v1alpha1) throw new ConfigError("duplicate v1alpha1 document");
      v1alpha1 = d;
    } else if (typeof d.apiVersion !== "string" || typeof d.kind !== "string") {
      throw new ConfigError(`document ${i + 1}: missing kind or apiVersion (not a Talos config document)`);
    }
  }
  const machine = (v1alpha1 && v1alpha1.machine) || {};
  const cluster = (v1alpha1 && v1alpha1.cluster) || {};
  return {
    docs,
    v1alpha1,
    identity: certIdentity(machine.ca && machine.ca.crt),
    k8sIdentity: certIdentity(cluster.ca && cluster.ca.crt),
    type: machine.type || null,
    hostname: (machine.network && machine.network.hostname) || null,
    clusterName: cluster.clusterName || null,
    endpoint: (cluster.controlPlane && cluster.controlPlane.endpoint) || null,
  };
}

/** What the node keeps of an applied config (state.json): the text plus the parsed facts. */
function configRecord(text) {
  const mc = parseMachineConfig(text);
  return {
    text,
    hash: sha256(text),
    identity: mc.identity,
    k8sIdentity: mc.k8sIdentity,
    type: mc.type,
    hostname: mc.hostname,
    clusterName: mc.clusterName,
    endpoint: mc.endpoint,
  };
}

/** Documents encoded the way Talos encodes a config for diffs: 4-space YAML, "---" between. */
function encodeDocuments(docs) {
  return docs
    .map((d) => YAML.stringify(d, { indent: 4, indentSeq: true, lineWidth: 0, minContentWidth: 0 }))
    .join("---\n");
}

/** configdiff.DiffToString of two document lists ("" when equal). */
const configDiff = (oldDocs, newDocs) => unifiedDiff(encodeDocuments(oldDocs), encodeDocuments(newDocs));

function deepEqual(a, b) {
  if (a === b) return true;
  if (Array.isArray(a) !== Array.isArray(b) || !a || !b || typeof a !== "object" || typeof b !== "object") return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
}

/** The live-applicable fields of `machine` (v1alpha1_runtime.go CanApplyImmediate @ v1.10.5; same @ v1.11.5). */
const LIVE_MACHINE_FIELDS = [
  "ca",
  "acceptedCAs",
  "time",
  "certSANs",
  "install",
  "network",
  "sysfs",
  "sysctls",
  "logging",
  "controlPlane",
  "kubelet",
  "kernel",
  "registries",
  "pods",
  "seccompProfiles",
  "nodeAnnotations",
  "nodeLabels",
  "nodeTaints",
];
const LIVE_FEATURE_FIELDS = [
  "kubernetesTalosAPIAccess",
  "kubePrism",
  "hostDNS",
  "imageCache",
  "nodeAddressSortAlgorithm",
];

const copyField = (to, from, key) => {
  if (Object.prototype.hasOwnProperty.call(from, key)) to[key] = from[key];
  else delete to[key];
};

/**
 * CanApplyImmediate (internal/app/machined/pkg/runtime/v1alpha1/v1alpha1_runtime.go @ v1.10.5,
 * unchanged @ v1.11.5): only the v1alpha1 document counts; the live-applicable fields of the
 * current config are copied into the new one, and any other difference needs a reboot. Other
 * documents (ExtensionServiceConfig, UserVolumeConfig, VolumeConfig, ...) never force one.
 * Returns null, or the error text the node reports.
 */
function canApplyImmediate(currentText, newText) {
  const current = parseMachineConfig(currentText).v1alpha1;
  const next = parseMachineConfig(newText).v1alpha1;
  if (!current) return "current config is not v1alpha1";
  if (!next) return "new config is not v1alpha1";
  const copy = JSON.parse(JSON.stringify(next));
  copyField(copy, current, "debug");
  copyField(copy, current, "cluster");
  if (isMap(copy.machine) && isMap(current.machine)) {
    for (const k of LIVE_MACHINE_FIELDS) copyField(copy.machine, current.machine, k);
    if (isMap(copy.machine.features) && isMap(current.machine.features)) {
      for (const k of LIVE_FEATURE_FIELDS) copyField(copy.machine.features, current.machine.features, k);
    }
  }
  if (deepEqual(current, copy)) return null;
  return `this config change can't be applied in immediate mode\ndiff:\n${configDiff([current], [copy])}`;
}

/**
 * The problems v1alpha1 Validate reports that the fake checks (texts of talosctl v1.10.5
 * `validate`; the node runs the same Validate on apply).
 */
function validationProblems(v1alpha1, mode) {
  const v = v1alpha1 || {};
  const machine = v.machine || {};
  const problems = [];
  if (!v.cluster) problems.push("cluster instructions are required");
  if (mode === "metal" && !machine.install) problems.push('install instructions are required in "metal" mode');
  if (!machine.ca && !machine.acceptedCAs)
    problems.push("issuing CA or some accepted CAs are required (.machine.ca, machine.acceptedCAs)");
  return problems;
}

/** hashicorp/go-multierror's text, as talosctl prints a list of errors. */
const multiError = (problems) =>
  `${problems.length} error${problems.length > 1 ? "s" : ""} occurred:\n${problems.map((p) => `\t* ${p}\n`).join("")}\n`;

/** One YAML document, or ConfigError with the parser's first line. */
function parseYaml(text) {
  try {
    return YAML.parse(text);
  } catch (e) {
    throw new ConfigError(e.message.split("\n")[0]);
  }
}

/** A talosconfig (pkg/machinery/client/config): {context, contexts, ctx, identity}. */
function parseTalosconfig(text) {
  const doc = parseYaml(text);
  if (!isMap(doc) || !isMap(doc.contexts)) throw new ConfigError("not a talosconfig: no contexts");
  const ctx = doc.context ? doc.contexts[doc.context] : null;
  return { doc, context: doc.context || "", ctx: ctx || null, identity: ctx ? certIdentity(ctx.ca) : null };
}

/** A secrets bundle (talosctl gen secrets): the parsed object, or ConfigError. */
function parseSecretsBundle(text) {
  const doc = parseYaml(text);
  const os = isMap(doc) && isMap(doc.certs) && doc.certs.os;
  if (!isMap(doc) || !isMap(doc.cluster) || !doc.cluster.id || !isMap(os) || !os.crt || !os.key) {
    throw new ConfigError("not a secrets bundle: cluster.id and certs.os are required");
  }
  return doc;
}

module.exports = {
  ConfigError,
  sha256,
  certIdentity,
  isMap,
  parseDocuments,
  parseMachineConfig,
  configRecord,
  encodeDocuments,
  configDiff,
  deepEqual,
  canApplyImmediate,
  validationProblems,
  multiError,
  parseTalosconfig,
  parseSecretsBundle,
  LIVE_MACHINE_FIELDS,
  LIVE_FEATURE_FIELDS,
};
