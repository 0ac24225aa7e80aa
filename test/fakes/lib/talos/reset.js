"use strict";
/**
 * talosctl reset (cmd/talosctl/cmd/talos/reset.go; server: v1alpha1_server.go Reset, the reset
 * sequence in v1alpha1_sequencer.go Reset and LeaveEtcd in v1alpha1_sequencer_tasks.go, at
 * v1.12.6 / v1.13.9 / v1.14.1).
 *
 * The call validates the labels and answers; the sequence runs after: graceful (the default):
 * cordon/drain and pod removal (errors only logged), then on a control plane leave etcd (a
 * failure fails the sequence and the node keeps running); then the labelled volumes are wiped,
 * then reboot (--reboot; with STATE wiped the node comes back in maintenance mode) or power off.
 *
 * Volumes per node version: STATE, EPHEMERAL, META are partitions. ETCD is a directory volume on
 * EPHEMERAL from 1.10 (controllers/block volume_config.go @ v1.10.5, volumeconfig/
 * system_volumes.go @ v1.12.6): up to 1.13 it "is not located"; 1.14 accepts a directory
 * volume only together with the volume it resides on, and makes ETCD, CRI, KUBELET and LOG
 * dedicated partitions when the config has a VolumeConfig of that name with `provisioning`
 * (CHANGELOG 1.14.0 "Dedicated System Volumes"): a STATE+EPHEMERAL reset keeps them, so etcd's
 * data survives. Any other label is an unknown VolumeStatus.
 *
 * Test oracle (not Talos): the fake refuses (exit 4) a reset that would wipe the whole system
 * disk (no labels, --wipe-mode all), a user disk or a user volume (u-<name>), META or
 * IMAGECACHE: the program must only wipe STATE and EPHEMERAL (and 1.14's dedicated system
 * volumes).
 */
const store = require("../store");
const { Fail, Hang, parseDuration } = require("../runtime");
const nodes = require("./nodes");
const E = require("./errors");
const client = require("./client");
const versions = require("./versions");
const { parseMachineConfig } = require("./config");
const { removeRefusal } = require("./etcd");
const { target, onNode, nodeFail, requireRole, ADMIN, connectEndpoint } = require("./remote");
const { track, clientVersionCheck } = require("./tracker");

const SYSTEM = ["STATE", "EPHEMERAL"];
const DEDICATABLE = ["ETCD", "CRI", "KUBELET", "LOG"];

/** The node's VolumeStatus for a label: {type: partition|directory, on?} or null (unknown). */
function volumeOf(n, label) {
  if (["STATE", "EPHEMERAL", "META"].includes(label)) return { type: "partition" };
  const minor = versions.minor(n.talos.version);
  if (label === "ETCD" && minor < 14) return { type: "directory", on: null };
  if (DEDICATABLE.includes(label) && minor >= 14)
    return dedicated(n).includes(label) ? { type: "partition" } : { type: "directory", on: "EPHEMERAL" };
  return null;
}

/** 1.14: the system volumes the running config provisions as partitions (VolumeConfig with provisioning). */
function dedicated(n) {
  if (!n.config || versions.minor(n.talos.version) < 14) return [];
  return parseMachineConfig(n.config.text)
    .docs.filter((d) => d && d.kind === "VolumeConfig" && DEDICATABLE.includes(d.name) && d.provisioning)
    .map((d) => d.name);
}

/** Server-side validation of --system-labels-to-wipe (v1alpha1_server.go Reset): the error text or null. */
function labelError(n, labels) {
  for (const label of labels) {
    const v = volumeOf(n, label);
    if (!v)
      return `failed to get volume status with label ${JSON.stringify(label)}: resource VolumeStatuses.block.talos.dev(runtime/${label}@undefined) doesn't exist`;
    if (v.type === "directory" && !v.on) return `failed to reset: volume ${JSON.stringify(label)} is not located`;
    if (v.type === "directory" && !labels.includes(v.on))
      return `failed to reset: volume ${JSON.stringify(label)} resides on volume ${JSON.stringify(v.on)}, and therefore ${JSON.stringify(label)} cannot be wiped without wiping ${JSON.stringify(v.on)}`;
  }
  return null;
}

function oracle(o, labels) {
  if (!labels.length || o.get("wipe-mode") === "all") {
    throw new Fail(
      "fake talosctl: REFUSED (test oracle): reset " +
        (labels.length ? "with --wipe-mode all" : "without --system-labels-to-wipe") +
        " wipes the whole system disk and needs a USB reinstall; the program must only wipe STATE and EPHEMERAL",
      4,
    );
  }
  const userData = [
    ...o.all("user-disks-to-wipe").map((d) => `user disk ${d}`),
    ...(o.get("wipe-mode") === "user-disks" ? ["--wipe-mode user-disks"] : []),
    ...labels.filter((l) => !SYSTEM.includes(l) && !DEDICATABLE.includes(l)).map((l) => `volume ${l}`),
  ];
  if (userData.length) {
    throw new Fail(
      `fake talosctl: REFUSED (test oracle): reset would wipe ${userData.join(", ")}; a safe reset wipes only STATE and EPHEMERAL, never a user disk or user volume`,
      4,
    );
  }
}

/** The reset sequence on n from now; returns the outcome text (also in n.lastReset). */
function runSequence(s, cfg, n, now, labels, graceful, reboot) {
  n.resets++;
  n.lastReset = { at: now, labels, reboot, graceful, outcome: "reset" };
  if (graceful && nodes.isControlPlane(n.config) && n.etcd && nodes.etcdListening(s, n, now)) {
    const cluster = nodes.clusterOf(s, n.etcd.cluster);
    const why = removeRefusal(s, cluster, nodes.memberOf(cluster, n.etcd.memberId), now, true);
    if (why) {
      n.lastReset.outcome = `leave failed: ${why} (the reset sequence stopped; the node keeps running)`;
      n.lastReset.error = `failed to leave cluster: failed to remove member ${BigInt(`0x${n.etcd.memberId}`)}: ${why}`;
      return n.lastReset;
    }
    nodes.removeMember(s, cluster, nodes.memberOf(cluster, n.etcd.memberId), now);
    n.etcd = null;
  }
  // The node cordons itself while resetting (k8s/node_cordoned_spec.go), and goes away.
  if (n.cordon == null) n.cordon = "talos";
  nodes.markDown(s, n, now, "reset");
  const keep = dedicated(n);
  if (labels.includes("STATE")) Object.assign(n, { config: null, pending: null });
  // etcd's data lives on EPHEMERAL, or on the dedicated ETCD partition (1.14).
  const etcdOn = keep.includes("ETCD") ? "ETCD" : "EPHEMERAL";
  if (labels.includes(etcdOn)) n.etcd = null;
  if (reboot)
    nodes.takeDown(s, n, now, "rebooting", cfg.delaysMs.reboot, n.config ? "configured" : "maintenance", "reset");
  else Object.assign(n, { phase: "off", phaseUntil: null, phaseNext: null, runningSince: null });
  return n.lastReset;
}

function reset(ctx, o) {
  const labels = o.all("system-labels-to-wipe").flatMap((l) => l.split(","));
  oracle(o, labels);
  const graceful = o.bool("graceful", true);
  const reboot = o.bool("reboot");
  const wait = o.bool("wait", true) || o.bool("debug");
  const t = target(o, "reset");
  const timeoutMs = o.has("timeout") ? parseDuration(o.get("timeout")) : 30 * 60000;
  const call = (s, n, now) => {
    requireRole(t, ADMIN);
    const why = labelError(n, labels);
    if (why) throw nodeFail(t, E.rpc("Unknown", why));
    return runSequence(s, ctx.cfg, n, now, labels, graceful, reboot);
  };
  if (!wait) {
    if (client.client().minor >= 14) clientVersionCheck(ctx, t, true);
    onNode(ctx, t, call);
    return;
  }
  // --wait: the tracker (action/tracker.go) succeeds at the stopAllServices task; with --reboot its
  // post check waits until the node answers a maintenance-mode Disks call or its boot ID changed.
  track(ctx, t, {
    timeoutMs,
    action: (s, n, now) => {
      const outcome = call(s, n, now);
      if (outcome.error) return { sequenceError: `sequence failed: ${outcome.error}` };
      return { events: [`sequence: reset action: START`, "task: stopAllServices action: START"] };
    },
    expectedEvent: "stopAllServices",
    postCheck: reboot
      ? (s, n, now, preBootId) =>
          nodes.phaseOf(n, now) === "maintenance" || (nodes.isUp(n, now) && n.bootId !== preBootId)
      : null,
  });
}

module.exports = { reset, labelError, dedicated, handlers: { reset } };
