"use strict";
/**
 * talosctl health, run on the addressed node (--server defaults to true:
 * cmd/talosctl/cmd/talos/health.go healthOnServer @ v1.10.5). The node runs the default cluster
 * checks in order (pkg/cluster/check/default.go DefaultClusterChecks), each polled until it passes
 * or --wait-timeout is over; progress goes to stderr, a failure ends with "healthcheck error: ...".
 */
const store = require("../store");
const { Fail, parseDuration } = require("../runtime");
const nodes = require("./nodes");
const world = require("../world");
const { target, onNode } = require("./remote");

const POLL_MS = 100;
const SKIP = "SKIP";

/** The checks over the world at `now`: [name, () => null | error text | SKIP]. */
function checks(s, cfg, now, identity, cps, workers) {
  const all = cps.concat(workers);
  const node = (a) => s.nodes[a];
  const down = (list) => list.filter((a) => !node(a) || !nodes.isUp(node(a), now));
  const cluster =
    Object.values(s.etcd.clusters).find((c) => c.identity === identity && nodes.hasQuorum(s, c, now)) || null;
  const memberSet = (a) => {
    const n = node(a);
    if (!n || nodes.localEtcd(s, n, now) !== "serving") return null;
    return nodes
      .clusterOf(s, n.etcd.cluster)
      .members.map((m) => m.address)
      .sort()
      .join(",");
  };
  const api = () =>
    world.reached(world.apiUpAt(s, cfg, cluster, now), now) ? null : "the Kubernetes API server is not ready";
  const k8s = cluster ? world.k8sNodes(s, cfg, cluster, now, false) : [];
  const notReady = () =>
    all
      .map(node)
      .filter((n) => !k8s.some((x) => x.n === n && world.reached(x.readyAt, now)))
      .map((n) => nodes.memberName(n));
  const list = (xs) => xs.join(", ");
  return [
    [
      "etcd to be healthy",
      () =>
        down(cps).length
          ? `${list(down(cps))}: connection refused`
          : cps.filter((a) => !memberSet(a)).length
            ? `service "etcd" not healthy on ${list(cps.filter((a) => !memberSet(a)))}`
            : null,
    ],
    [
      "etcd members to be consistent across nodes",
      () => (new Set(cps.map(memberSet)).size === 1 ? null : "etcd members are not consistent across nodes"),
    ],
    [
      "etcd members to be control plane nodes",
      () => {
        const members = (memberSet(cps[0]) || "").split(",").filter(Boolean);
        return members.join() === [...cps].sort().join()
          ? null
          : `etcd member ips ${JSON.stringify(members)} are not subset of control plane node ips ${JSON.stringify(cps)}`;
      },
    ],
    ["apid to be ready", () => (down(all).length ? `${list(down(all))}: connection refused` : null)],
    ["all nodes memory sizes", () => null],
    ["all nodes disk sizes", () => null],
    ["no diagnostics", () => null],
    ["kubelet to be healthy", () => (down(cps).length ? `${list(down(cps))}: connection refused` : null)],
    [
      "all nodes to finish boot sequence",
      () =>
        all
          .filter((a) => nodes.stageOf(node(a), now) !== "running")
          .map((a) => `node ${JSON.stringify(a)} is in stage ${JSON.stringify(nodes.stageOf(node(a), now))}`)[0] ||
        null,
    ],
    [
      "all k8s nodes to report",
      () =>
        api() || (k8s.length >= all.length ? null : `expected number of nodes to be ${all.length}, got ${k8s.length}`),
    ],
    ["all control plane static pods to be running", api],
    ["all control plane components to be ready", api],
    [
      "all k8s nodes to report ready",
      () => api() || (notReady().length ? `some nodes are not ready: [${notReady().join(" ")}]` : null),
    ],
    ["kube-proxy to report ready", () => SKIP],
    [
      "coredns to report ready",
      () =>
        api() ||
        (notReady().length === all.length
          ? 'no ready pods found for namespace "kube-system" and label selector "k8s-app=kube-dns"'
          : null),
    ],
    ["all k8s nodes to report schedulable", () => api()],
  ];
}

function health(ctx, o) {
  const cps = o.all("control-plane-nodes");
  const workers = o.all("worker-nodes");
  if (!o.bool("server", true))
    throw new Fail("fake talosctl: health --server=false (client-side checks) is not simulated", 3);
  if (!cps.length)
    throw new Fail("fake talosctl: health without --control-plane-nodes is not simulated (discovery)", 3);
  const timeoutMs = o.has("wait-timeout") ? parseDuration(o.get("wait-timeout")) : 20 * 60000;
  const t = target(o, "health");
  const identity = onNode(ctx, t, (s, n) => n.config.identity);
  const deadline = Date.now() + timeoutMs;
  const count = checks({ nodes: {}, etcd: { clusters: {} } }, ctx.cfg, 0, identity, cps, workers).length;
  for (let i = 0; i < count; i++) {
    for (;;) {
      const now = Date.now();
      const [name, check] = store.updateState(
        ctx.dir,
        (s) => checks(nodes.settle(s, ctx.cfg, now), ctx.cfg, now, identity, cps, workers)[i],
      );
      const result = check();
      if (result === null || result === SKIP) {
        ctx.err(`waiting for ${name}: ${result === SKIP ? SKIP : "OK"}\n`);
        break;
      }
      if (Date.now() >= deadline)
        throw new Fail(`waiting for ${name}: ${result}\nhealthcheck error: context deadline exceeded`);
      store.sleepMs(Math.min(POLL_MS, deadline - Date.now()));
    }
  }
}

module.exports = { health };
