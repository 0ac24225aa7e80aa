"use strict";
/**
 * talosctl commands that contact a node: the connection (endpoint, TLS, client certificate,
 * roles, apid proxying) and version, get, bootstrap, kubeconfig, config new. apply-config,
 * health, etcd, reset, reboot/upgrade and upgrade-k8s have their own modules. Each command runs
 * under the state lock after `settle`. How an error is worded depends on this talosctl's minor
 * (client.js); what a node answers depends on the Talos version the node runs.
 */
const fs = require("fs");
const store = require("../store");
const { Fail, Hang } = require("../runtime");
const nodes = require("./nodes");
const E = require("./errors");
const client = require("./client");
const versions = require("./versions");
const { certInfo, validAt } = require("./x509");
const { parseMachineConfig } = require("./config");
const { renderKubeconfig, renderTalosconfig } = require("./gen");
const { loadTalosconfig, clientVersion, writeOut } = require("./local");
const { tabular, resolveResource, printResources } = require("./resources");
const { parseDuration } = require("../runtime");

/**
 * Who the call talks to. --insecure dials the nodes themselves with no client certificate and no
 * node metadata (cmd/talosctl/pkg/talos/global/client.go WithClientMaintenance); otherwise the
 * talosconfig's CA verifies the endpoint and --nodes (or the context's nodes) go in the metadata.
 * opts.multi: the command handles several nodes itself (t.nodes); otherwise more than one node is
 * not simulated (or refused by the command, before this, as the real one does).
 */
function target(o, command, opts) {
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
  if (list.length > 1 && !(opts && opts.multi))
    throw new Fail(`fake talosctl: ${command} against several nodes is not simulated`, 3);
  return {
    insecure,
    tc,
    nodes: list,
    node: list[0],
    endpoint: endpoints[0],
    command,
    prefix: client.prefix(command, list[0]),
  };
}

/** The same target, for another of its nodes (per-node prefixes in 1.14). */
const forNode = (t, node) => Object.assign({}, t, { node, prefix: client.prefix(t.command, node) });

/** A node's own answer, as the client reports it (client.nodeError). `direct`: COSI calls. */
function nodeFail(t, err, direct) {
  return new Fail(t.prefix + (t.insecure ? err : client.nodeError(t.node, err, direct)));
}

/**
 * The roles of the talosconfig's client certificate: its Organization values (Talos RBAC,
 * pkg/machinery/role; a certificate without any os: role is treated as os:admin here).
 */
function roles(t) {
  if (t.insecure) return [];
  const info = certInfo(t.tc.ctx && t.tc.ctx.crt);
  const rs = ((info && info.orgs) || []).filter((r) => r.startsWith("os:"));
  return rs.length ? rs : ["os:admin"];
}

/**
 * The API's role rules (internal/app/machined/pkg/system/services/machined.go rules @ v1.14.1):
 * a call outside them is PermissionDenied "not authorized" (pkg/grpc/middleware/authz
 * ErrNotAuthorized), reported as the node's error.
 */
function requireRole(t, allowed) {
  if (t.insecure) return;
  if (!roles(t).some((r) => allowed.includes(r))) throw nodeFail(t, E.rpc("PermissionDenied", "not authorized"));
}
const ADMIN = ["os:admin"];
const OPERATOR = ["os:admin", "os:operator"];

/**
 * Reach the node through the endpoint, or fail as the client would. The endpoint's apid checks
 * the client certificate (RequireAndVerifyClientCert: siderolabs/crypto tls.go Mutual, apid
 * provider.go @ v1.14.1) against the world's wall clock: an expired (or not yet valid)
 * certificate gets Go's TLS alert "expired certificate" (crypto/tls handshake_server.go
 * processCertsFromClient: x509.Expired -> alertCertificateExpired), which a TLS 1.3 client reads
 * after its handshake, while reading the server preface (see E.CERT_REQUIRED).
 */
function connect(t, s, now, cfg) {
  const e = connectEndpoint(t, s, now, cfg);
  if (t.node === t.endpoint) return e;
  const r = proxied(s, now, e, t.node);
  if (r.error) throw nodeFail(t, r.error);
  return r.n;
}

/** The endpoint's own answer to the connection (TLS, certificates), or the client's error. */
function connectEndpoint(t, s, now, cfg) {
  const e = s.nodes[t.endpoint];
  const phase = e && nodes.phaseOf(e, now);
  if (!e || !["maintenance", "configured"].includes(phase)) throw new Fail(t.prefix + E.refused(t.endpoint));
  if (t.insecure) {
    if (phase !== "maintenance") throw new Fail(t.prefix + E.CERT_REQUIRED);
  } else if (phase === "maintenance" || !e.config || e.config.identity !== t.tc.identity) {
    throw new Fail(t.prefix + E.UNKNOWN_AUTHORITY);
  } else if (!validAt(certInfo(t.tc.ctx && t.tc.ctx.crt), store.wallNow(cfg))) {
    throw new Fail(t.prefix + E.EXPIRED_CLIENT_CERT);
  }
  return e;
}

/** apid proxies to another node with its own certificate (internal/app/apid/pkg/backend/apid.go): {n} or {error}. */
function proxied(s, now, e, address) {
  if (address === e.address) return { n: e };
  const n = s.nodes[address];
  if (!n || !nodes.isUp(n, now)) return { error: E.refused(address) };
  if (n.config.identity !== e.config.identity) return { error: E.UNKNOWN_AUTHORITY };
  return { n };
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
      return { value: fn(s, connect(t, s, now, ctx.cfg), now) };
    } catch (e) {
      if (e instanceof Fail || e instanceof Hang) return { error: e };
      throw e;
    }
  });
  if (!outcome.error) return outcome.value;
  store.sleepMs(outcome.error.delayMs || 0);
  throw outcome.error;
}

/** onNode for a call whose per-node errors the command sorts out itself (fn gets the endpoint node). */
function onEndpoint(ctx, t, fn) {
  return onNode(ctx, Object.assign({}, t, { node: t.endpoint }), fn);
}

/**
 * The node's Version reply (v1alpha1_server.go Version; pkg/machinery/version): its Talos tag,
 * RBAC enabled. As protojson (the hidden --json): the message with `metadata.hostname` when apid
 * proxied it one-to-many (<= 1.13 clients), without when one-to-one (1.14) or direct (maintenance).
 */
function versionMessage(n, node, withMetadata) {
  const msg = {};
  if (withMetadata) msg.metadata = { hostname: node };
  msg.version = {
    tag: n.talos.version,
    sha: "fake0000",
    built: "",
    goVersion: "go1.25 (fake)",
    os: "linux",
    arch: "amd64",
  };
  msg.platform = { name: "metal", mode: "metal" };
  msg.features = { rbac: true };
  return msg;
}

function printVersion(ctx, o, node, msg) {
  if (o.bool("json")) return ctx.out(JSON.stringify(msg) + "\n");
  const v = msg.version;
  ctx.out(
    `\tNODE:        ${node}\n\tTag:         ${v.tag}\n\tSHA:         ${v.sha}\n\tBuilt:       ${v.built}\n\tGo version:  ${v.goVersion}\n\tOS/Arch:     ${v.os}/${v.arch}\n\tEnabled:     RBAC\n`,
  );
}

/**
 * version (cmd/talosctl/cmd/talos/version.go): the Client block and "Server:" first (not with
 * --json), then per node.
 * - A maintenance node asked with --insecure: up to 1.12 the separate maintenance service refuses
 *   a LAN client (internal/app/maintenance/server.go @ v1.12.6 assertAdminRole: Unimplemented);
 *   from 1.13 the normal server answers it (contracts/NOTES.md §7.9; internal/integration/
 *   provision/maintenance_basic.go TestAPI @ v1.13.9, v1.14.1), NODE being the peer address.
 * - <= 1.13: one call with the node list; an error of the call itself is "error getting version:
 *   ...", exit 1, but a node's error inside the reply only a warning (`cli.Warning`), exit 0.
 * - 1.14: one call per node; each error "error getting version from node <n>: ...", joined, exit 1.
 */
function version(ctx, o) {
  if (!o.bool("json")) clientVersion(ctx, o);
  if (o.bool("client")) return;
  if (!o.bool("json")) ctx.out("Server:\n");
  const t = target(o, "version", { multi: true });
  const c = client.client();
  const errors = [];
  const warnings = [];
  for (const node of c.minor >= 14 || t.insecure ? t.nodes : [t.node]) {
    const tn = forNode(t, node);
    const list = c.minor >= 14 || t.insecure ? [node] : t.nodes;
    try {
      const replies = onEndpoint(ctx, tn, (s, endpointNode, now) => {
        return list.map((addr) => {
          if (t.insecure) {
            if (versions.minor(endpointNode.talos.version) <= 12)
              throw new Fail(tn.prefix + E.MAINTENANCE_UNIMPLEMENTED);
            return { node: addr, msg: versionMessage(endpointNode, addr, false) };
          }
          const r = proxied(s, now, endpointNode, addr);
          if (r.error && c.minor >= 14) throw nodeFail(tn, r.error);
          if (r.error) return { node: addr, error: `${addr}: ${r.error}` };
          return { node: addr, msg: versionMessage(r.n, addr, c.minor < 14) };
        });
      });
      // FilterMessages (pkg/machinery/client/reply.go): every message an error -> the call fails.
      const bad = replies.filter((r) => r.error);
      if (bad.length && bad.length === replies.length)
        throw new Fail(
          `${tn.prefix}${bad.length} error${bad.length > 1 ? "s" : ""} occurred:\n${bad.map((r) => `\t* ${r.error}\n`).join("")}\n`,
        );
      for (const r of replies) {
        if (r.error) warnings.push(r.error);
        else printVersion(ctx, o, r.node, r.msg);
      }
    } catch (e) {
      if (!(e instanceof Fail)) throw e;
      errors.push(e.message);
    }
  }
  if (warnings.length)
    ctx.err(
      client.warning(
        `${warnings.length} error${warnings.length > 1 ? "s" : ""} occurred:\n${warnings.map((w) => `\t* ${w}\n`).join("")}\n`,
      ),
    );
  if (errors.length) throw new Fail(errors.join("\n"));
}

/**
 * get (cmd/talosctl/cmd/talos/get.go): COSI calls go to one node at a time (helpers.ForEachResource
 * WithNode), so a node's error keeps its plain status; 1.14 wraps it with "error getting resource
 * on node <n>: " (by ID) or "error listing resources on node <n>: " (get.go @ v1.14.1).
 */
function get(ctx, o, [type, id]) {
  if (o.bool("watch")) throw new Fail("fake talosctl: get --watch is not simulated", 3);
  const t = target(o, "get");
  if (client.client().minor >= 14)
    t.prefix =
      id == null ? `error listing resources on node ${t.node}: ` : `error getting resource on node ${t.node}: `;
  const items = onNode(ctx, t, (s, n, now) => {
    const rd = resolveResource(type, n);
    // Sensitive resources (MachineConfig) need os:admin (internal/app/resources/access.go AccessPolicy).
    if (rd.sensitive && !t.insecure && !roles(t).includes("os:admin"))
      throw nodeFail(t, E.rpc("PermissionDenied", "not authorized"), true);
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
  const t = target(o, "bootstrap", { multi: true });
  if (t.nodes.length > 1) throw new Fail(client.singleNodeError("bootstrap", t.nodes.length));
  onNode(ctx, t, (s, n, now) => {
    requireRole(t, ADMIN);
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

/** kubeconfig (cmd/talosctl/cmd/talos/kubeconfig.go; the node generates it from its config, on its clock). */
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
    requireRole(t, ADMIN);
    if (!nodes.isControlPlane(n.config))
      throw new Fail(
        `error initializing gzip: ${E.rpc("Unimplemented", "kubeconfig is only available on control plane nodes")}`,
      );
    return renderKubeconfig(parseMachineConfig(n.config.text).v1alpha1, store.wallNow(ctx.cfg));
  });
  if (local === "-") ctx.out(text);
  else writeOut(ctx, local, text, true);
}

/**
 * config new [<path>] --roles --crt-ttl (cmd/talosctl/cmd/talos/config.go; the node's
 * GenerateClientConfiguration, os:admin only: v1alpha1_server.go @ v1.14.1 signs a client
 * certificate for the roles with its Talos CA, valid --crt-ttl from its clock). The new
 * talosconfig keeps the calling context's endpoints and nodes.
 */
function configNew(ctx, o, [dest]) {
  const t = target(o, "config new");
  const ttl = o.has("crt-ttl") ? parseDuration(o.get("crt-ttl")) : 8760 * 3600000;
  const roleList = o.has("roles") ? o.all("roles") : ["os:admin"];
  const text = onNode(ctx, t, (s, n) => {
    requireRole(t, ADMIN);
    const v = parseMachineConfig(n.config.text).v1alpha1 || {};
    const ca = (v.machine && v.machine.ca) || {};
    if (!ca.key)
      throw nodeFail(t, E.rpc("FailedPrecondition", "the node doesn't hold the Talos CA key (not a control plane)"));
    const tc = renderTalosconfig({ certs: { os: { crt: ca.crt, key: ca.key } } }, t.tc.context || "talos", {
      roles: roleList,
      days: ttl / 86400000,
      now: store.wallNow(ctx.cfg),
      endpoints: (t.tc.ctx && t.tc.ctx.endpoints) || [],
    });
    return tc;
  });
  writeOut(ctx, dest || "talosconfig", text, true);
}

module.exports = {
  target,
  forNode,
  connect,
  connectEndpoint,
  proxied,
  onEndpoint,
  onNode,
  nodeFail,
  roles,
  requireRole,
  ADMIN,
  OPERATOR,
  handlers: {
    version,
    get,
    bootstrap,
    kubeconfig,
    "config new": configNew,
  },
};
