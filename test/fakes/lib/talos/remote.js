"use strict";
/**
 * talosctl commands that contact a node: the connection (endpoint, TLS, apid proxying) and
 * version, get, bootstrap, etcd members/status, kubeconfig, reset, reboot. apply-config and
 * health have their own modules. Each command runs under the state lock after `settle`.
 */
const fs = require("fs");
const store = require("../store");
const { Fail, Hang } = require("../runtime");
const nodes = require("./nodes");
const E = require("./errors");
const { parseMachineConfig } = require("./config");
const { renderKubeconfig } = require("./gen");
const { loadTalosconfig, clientVersion, writeOut } = require("./local");
const { tabular, resolveResource, printResources } = require("./resources");

/** The wrapper each command puts around an error (the cmd/talosctl/cmd/talos/*.go RunE). */
const PREFIX = {
  version: "error getting version: ",
  "apply-config": "error applying new configuration: ",
  bootstrap: "error executing bootstrap: ",
  "etcd members": "error getting members: ",
  "etcd status": "error getting status: ",
  kubeconfig: "error copying: ",
  reset: "error executing reset: ",
  reboot: "error executing reboot: ",
};

/**
 * Who the call talks to. --insecure dials the nodes themselves with no client certificate and no
 * node metadata (cmd/talosctl/pkg/talos/global/client.go WithClientMaintenance); otherwise the
 * talosconfig's CA verifies the endpoint and --nodes (or the context's nodes) go in the metadata.
 */
function target(o, command) {
  const insecure = o.bool("insecure");
  let list = o.all("nodes");
  let endpoints = o.all("endpoints");
  let tc = null;
  if (insecure) endpoints = list;
  else {
    tc = loadTalosconfig(o).tc;
    if (!list.length) list = (tc.ctx && tc.ctx.nodes) || [];
    if (!endpoints.length) endpoints = (tc.ctx && tc.ctx.endpoints) || [];
    if (!list.length)
      throw new Fail(
        "nodes are not set for the command: please use `--nodes` flag or configuration file to set the nodes to run the command against",
      );
  }
  if (!endpoints.length)
    throw new Fail(
      insecure ? "failed to determine endpoints" : "error constructing client: failed to determine endpoints",
    );
  if (list.length > 1) throw new Fail(`fake talosctl: ${command} against several nodes is not simulated`, 3);
  return { insecure, tc, node: list[0], endpoint: endpoints[0], prefix: PREFIX[command] || "" };
}

/** A node's own answer, as the client reports it (see errors.js). `direct`: COSI or insecure calls. */
function nodeFail(t, err, direct) {
  return new Fail(t.prefix + (t.insecure || direct ? err : E.nodeError(t.node, err)));
}

/** Reach the node through the endpoint, or fail as the client would. */
function connect(t, s, now) {
  const e = s.nodes[t.endpoint];
  const phase = e && nodes.phaseOf(e, now);
  if (!e || !["maintenance", "configured"].includes(phase)) throw new Fail(t.prefix + E.refused(t.endpoint));
  if (t.insecure) {
    if (phase !== "maintenance") throw new Fail(t.prefix + E.CERT_REQUIRED);
  } else if (phase === "maintenance" || !e.config || e.config.identity !== t.tc.identity) {
    throw new Fail(t.prefix + E.UNKNOWN_AUTHORITY);
  }
  if (t.node === t.endpoint) return e;
  // apid proxies to the node with its own certificate (internal/app/apid/pkg/backend/apid.go).
  const n = s.nodes[t.node];
  if (!n || !nodes.isUp(n, now)) throw nodeFail(t, E.refused(t.node));
  if (n.config.identity !== e.config.identity) throw nodeFail(t, E.UNKNOWN_AUTHORITY);
  return n;
}

/**
 * Run fn(s, node, now) under the lock after settling the world; its Fail/Hang is thrown after the
 * state (with whatever fn changed before failing) is written. A Fail with delayMs is thrown that
 * much later (the etcd client's retries), outside the lock.
 */
function onNode(ctx, t, fn) {
  const outcome = store.updateState(ctx.dir, (s) => {
    const now = Date.now();
    nodes.settle(s, ctx.cfg, now);
    try {
      return { value: fn(s, connect(t, s, now), now) };
    } catch (e) {
      if (e instanceof Fail || e instanceof Hang) return { error: e };
      throw e;
    }
  });
  if (!outcome.error) return outcome.value;
  store.sleepMs(outcome.error.delayMs || 0);
  throw outcome.error;
}

function version(ctx, o) {
  clientVersion(ctx, o);
  if (o.bool("client")) return;
  ctx.out("Server:\n");
  const t = target(o, "version");
  onNode(ctx, t, (s, n) => {
    if (t.insecure) throw new Fail(t.prefix + E.MAINTENANCE_UNIMPLEMENTED);
    const v = ctx.cfg.talosVersion;
    ctx.out(
      `\tNODE:        ${n.address}\n\tTag:         ${v}\n\tSHA:         fake0000\n\tBuilt:       \n\tGo version:  go1.24 (fake)\n\tOS/Arch:     linux/amd64\n\tEnabled:     RBAC\n`,
    );
  });
}

function get(ctx, o, [type, id]) {
  if (o.bool("watch")) throw new Fail("fake talosctl: get --watch is not simulated", 3);
  const t = target(o, "get");
  const items = onNode(ctx, t, (s, n, now) => {
    const rd = resolveResource(type);
    const all = rd.read(s, ctx.cfg, n, now);
    const found = id == null ? all : all.filter((r) => r.metadata.id === id);
    if (id != null && !found.length)
      throw nodeFail(t, E.rpc("NotFound", `resource ${rd.display}(${id}) doesn't exist`), true);
    return { rd, found };
  });
  printResources(ctx, items.rd, items.found, t.insecure ? "" : t.node, o.get("output") || "table");
}

/** Bootstrap (v1alpha1_server.go Bootstrap @ v1.10.5): per node, in this order. */
function bootstrap(ctx, o) {
  const t = target(o, "bootstrap");
  onNode(ctx, t, (s, n, now) => {
    if (now < n.upSince + (ctx.cfg.delaysMs.cri || 0))
      throw nodeFail(t, E.rpc("FailedPrecondition", "bootstrap is not available yet"));
    if (!nodes.isControlPlane(n.config))
      throw nodeFail(t, E.rpc("FailedPrecondition", "bootstrap can only be performed on a control plane node"));
    if (n.etcd) {
      // os.ReadDir(/var/lib/etcd) not empty: any data, even an old cluster's, on this node only.
      n.alreadyExists++;
      s.cluster.bootstrapAlreadyExists++;
      throw nodeFail(t, E.rpc("AlreadyExists", "etcd data directory is not empty"));
    }
    nodes.bootstrapCluster(s, ctx.cfg, n, now);
    n.bootstraps++;
    s.cluster.bootstrapCount++;
  });
}

/** checkControlplane (v1alpha1_server.go): the etcd and kubeconfig APIs exist on control planes only. */
function requireControlPlane(t, n, api, direct) {
  if (!nodes.isControlPlane(n.config))
    throw nodeFail(t, E.rpc("Unimplemented", `${api} is only available on control plane nodes`), direct);
}

/**
 * The node's local etcd client (EtcdMemberList with QueryLocal, EtcdStatus: etcd.NewLocalClient).
 * Not listening: the etcd client waits for the connection (WaitForReady, go.etcd.io/etcd/client/v3
 * v3.5.21 options.go) under a context without deadline, so the call hangs until its caller gives
 * up (cfg.nodeHangMs here). No leader / learner: the client retries Unavailable (retry_interceptor.go,
 * 100 x 25 ms; delaysMs.etcdRetry here), then fails with etcd's error (rpctypes ErrGRPCNoLeader,
 * ErrGPRCNotSupportedForLearner; the server side: api/v3rpc/interceptor.go).
 */
function localEtcdOrFail(ctx, t, s, n, now, allowed) {
  const state = nodes.localEtcd(s, n, now);
  if (state === "down") {
    // After nodeHangMs the fake gives up with a deadline error; the real call has none to expire.
    throw new Hang(ctx.cfg.nodeHangMs, `${t.prefix}${E.nodeError(t.node, E.DEADLINE)}`, E.cancelled(t.prefix));
  }
  if (!allowed.includes(state)) {
    const f = nodeFail(
      t,
      E.rpc("Unavailable", state === "learner" ? "etcdserver: rpc not supported for learner" : "etcdserver: no leader"),
    );
    f.delayMs = ctx.cfg.delaysMs.etcdRetry || 0;
    throw f;
  }
  return nodes.clusterOf(s, n.etcd.cluster);
}

function etcdMembers(ctx, o) {
  const t = target(o, "etcd members");
  const rows = onNode(ctx, t, (s, n, now) => {
    requireControlPlane(t, n, "member list");
    const cluster = localEtcdOrFail(ctx, t, s, n, now, ["serving"]);
    return cluster.members.map((m) => [
      t.node,
      m.id,
      m.name,
      `https://${m.address}:2380`,
      `https://${m.address}:2379`,
      String(nodes.isLearner(m, now)),
    ]);
  });
  ctx.out(tabular([["NODE", "ID", "HOSTNAME", "PEER URLS", "CLIENT URLS", "LEARNER"], ...rows]));
}

function etcdStatus(ctx, o) {
  const t = target(o, "etcd status");
  const row = onNode(ctx, t, (s, n, now) => {
    requireControlPlane(t, n, "etcd status");
    const cluster = localEtcdOrFail(ctx, t, s, n, now, ["serving", "learner", "no-leader"]);
    // Status needs no leader: a member without quorum reports leader 0.
    const leader = nodes.hasQuorum(s, cluster, now)
      ? cluster.members.find((m) => !nodes.isLearner(m, now) && nodes.memberUp(s, cluster, m, now)).id
      : "0000000000000000";
    const learner = String(nodes.isLearner(nodes.memberOf(cluster, n.etcd.memberId), now));
    const v11 = /^v?1\.(1[1-9]|[2-9]\d)/.test(ctx.cfg.talosVersion);
    return [
      t.node,
      n.etcd.memberId,
      "1.2 MB",
      "610 kB (50.83%)",
      leader,
      "1234",
      "2",
      "1234",
      learner,
      ...(v11 ? ["3.5.0", "3.5.0"] : []),
      "",
    ];
  });
  const v11 = row.length === 12;
  const header = [
    "NODE",
    "MEMBER",
    "DB SIZE",
    "IN USE",
    "LEADER",
    "RAFT INDEX",
    "RAFT TERM",
    "RAFT APPLIED INDEX",
    "LEARNER",
    ...(v11 ? ["PROTOCOL", "STORAGE"] : []),
    "ERRORS",
  ];
  ctx.out(tabular([header, row]));
}

/** kubeconfig (cmd/talosctl/cmd/talos/kubeconfig.go; the node generates it from its config). */
function kubeconfig(ctx, o, [dest]) {
  const t = target(o, "kubeconfig");
  const local = dest == null ? null : dest;
  if (local == null) throw new Fail("fake talosctl: kubeconfig without a path is not simulated", 3);
  // Merging needs an existing file: "-" does not exist, so it is written to stdout unmerged.
  const exists = local !== "-" && fs.existsSync(local);
  if (exists && !(o.bool("force") || o.bool("merge", true)))
    throw new Fail(`kubeconfig file already exists, use --force to overwrite: ${JSON.stringify(local)}`);
  if (exists && o.bool("merge", true))
    throw new Fail("fake talosctl: merging into an existing kubeconfig is not simulated", 3);
  const text = onNode(ctx, t, (s, n) => {
    if (!nodes.isControlPlane(n.config))
      throw new Fail(
        `error initializing gzip: ${E.rpc("Unimplemented", "kubeconfig is only available on control plane nodes")}`,
      );
    return renderKubeconfig(parseMachineConfig(n.config.text).v1alpha1);
  });
  if (local === "-") ctx.out(text);
  else writeOut(ctx, local, text, true);
}

/**
 * reset with --system-labels-to-wipe (v1alpha1_server.go Reset; sequencer Reset @ v1.10.5): the
 * reply comes first, then the sequence: a graceful reset of a control plane leaves etcd (LeaveEtcd:
 * only when its etcd runs; etcd refuses to remove the last member or one whose removal would lose
 * quorum, server.go mayRemoveMember; then the sequence stops and the node is left as it was), the
 * labelled volumes are wiped (STATE: the config; EPHEMERAL: /var/lib/etcd), then reboot or power off.
 */
function reset(ctx, o) {
  const labels = o.all("system-labels-to-wipe").flatMap((l) => l.split(","));
  if (!labels.length || o.get("wipe-mode") === "all") {
    throw new Fail(
      "fake talosctl: REFUSED (test oracle): reset " +
        (labels.length ? "with --wipe-mode all" : "without --system-labels-to-wipe") +
        " wipes the whole system disk and needs a USB reinstall; the program must only wipe STATE and EPHEMERAL",
      4,
    );
  }
  // A reset wipes the disks --user-disks-to-wipe names and every labelled volume, user volumes
  // u-<name> included (v1alpha1_server.go Reset @ v1.10.5): the USB SSD with Longhorn's data.
  const userData = [
    ...o.all("user-disks-to-wipe").map((d) => `user disk ${d}`),
    ...(o.get("wipe-mode") === "user-disks" ? ["--wipe-mode user-disks"] : []),
    ...labels.filter((l) => !["STATE", "EPHEMERAL"].includes(l)).map((l) => `volume ${l}`),
  ];
  if (userData.length) {
    throw new Fail(
      `fake talosctl: REFUSED (test oracle): reset would wipe ${userData.join(", ")}; a safe reset wipes only STATE and EPHEMERAL, never a user disk or user volume`,
      4,
    );
  }
  if (o.bool("wait", true))
    throw new Fail("fake talosctl: reset --wait (the event tracker) is not simulated; pass --wait=false", 3);
  const t = target(o, "reset");
  onNode(ctx, t, (s, n, now) => {
    const graceful = o.bool("graceful", true);
    const reboot = o.bool("reboot");
    n.resets++;
    n.lastReset = { at: now, labels, reboot, graceful, outcome: "reset" };
    if (graceful && nodes.isControlPlane(n.config) && n.etcd && nodes.etcdListening(s, n, now)) {
      const cluster = nodes.clusterOf(s, n.etcd.cluster);
      const why = leaveRefusal(s, cluster, nodes.memberOf(cluster, n.etcd.memberId), now);
      if (why) {
        n.lastReset.outcome = `leave failed: ${why} (the reset sequence stopped; the node keeps running)`;
        return;
      }
      nodes.removeMember(s, cluster, nodes.memberOf(cluster, n.etcd.memberId), now);
      n.etcd = null;
    }
    nodes.markDown(s, n, now, "reset");
    if (labels.includes("STATE")) Object.assign(n, { config: null, pending: null });
    if (labels.includes("EPHEMERAL")) n.etcd = null;
    if (reboot)
      nodes.takeDown(s, n, now, "rebooting", ctx.cfg.delaysMs.reboot, n.config ? "configured" : "maintenance", "reset");
    else Object.assign(n, { phase: "off", phaseUntil: null, phaseNext: null, runningSince: null });
  });
}

/** Why etcd refuses to remove member m now (server.go mayRemoveMember @ etcd v3.5.21), or null. */
function leaveRefusal(s, cluster, m, now) {
  if (!nodes.hasQuorum(s, cluster, now)) return "etcdserver: no leader";
  if (nodes.isLearner(m, now)) return null;
  const voters = cluster.members.filter((x) => !nodes.isLearner(x, now));
  const others = voters.length - 1;
  if (others < Math.floor(others / 2) + 1)
    return "etcdserver: re-configuration failed due to not enough started members";
  const active = voters.filter((x) => nodes.memberUp(s, cluster, x, now)).length;
  if (active - 1 < 1 + Math.floor((voters.length - 1) / 2)) return "etcdserver: unhealthy cluster";
  return null;
}

function reboot(ctx, o) {
  const t = target(o, "reboot");
  onNode(ctx, t, (s, n, now) => {
    n.reboots++;
    nodes.takeDown(s, n, now, "rebooting", ctx.cfg.delaysMs.reboot, "configured", "reboot");
  });
}

module.exports = {
  PREFIX,
  target,
  connect,
  onNode,
  nodeFail,
  handlers: {
    version,
    get,
    bootstrap,
    "etcd members": etcdMembers,
    "etcd status": etcdStatus,
    kubeconfig,
    reset,
    reboot,
  },
};
