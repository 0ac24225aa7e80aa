"use strict";
/**
 * talosctl etcd members | status | leave | remove-member | forfeit-leadership.
 *
 * Server side (the same code in v1.10.5 ... v1.14.1: internal/app/machined/internal/server/
 * v1alpha1/v1alpha1_server.go EtcdMemberList, EtcdStatus, EtcdLeaveCluster, EtcdRemoveMemberByID,
 * EtcdForfeitLeadership; internal/pkg/etcd/etcd.go):
 * - every one is Unimplemented "<api> is only available on control plane nodes" on a worker
 *   (checkControlplane);
 * - members and status ask the node's own etcd (NewLocalClient; members with QueryLocal);
 * - leave, remove-member and forfeit-leadership use a client to every control plane's etcd
 *   (NewClientFromControlPlaneIPs) with WithRequireLeader: they need a cluster with a leader, not
 *   the node's own etcd.
 *
 * Client side, per talosctl minor (cmd/talosctl/cmd/talos/etcd.go @ v1.12.6, v1.13.9, v1.14.1; see
 * client.js): up to 1.13 one call with the node list; members/status print a node's error as a
 * warning (exit 0), leave/remove-member/forfeit return it (exit 1); 1.14 calls each node and
 * joins "error from node <n>: ..." (exit 1), `leave` refusing more than one node.
 */
const { Fail, Hang } = require("../runtime");
const nodes = require("./nodes");
const E = require("./errors");
const client = require("./client");
const { tabular } = require("./resources");
const { target, forNode, onNode, nodeFail, requireRole, ADMIN } = require("./remote");

/** checkControlplane (v1alpha1_server.go): the etcd APIs exist on control planes only. */
function requireControlPlane(t, n, api) {
  if (!nodes.isControlPlane(n.config))
    throw nodeFail(t, E.rpc("Unimplemented", `${api} is only available on control plane nodes`));
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
    throw new Hang(ctx.cfg.nodeHangMs, `${t.prefix}${client.nodeError(t.node, E.DEADLINE)}`, E.cancelled(t.prefix));
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

/**
 * The cluster-wide etcd client of leave/remove-member/forfeit (NewClientFromControlPlaneIPs +
 * WithRequireLeader): the etcd cluster of the node's identity that has a leader; without one,
 * the client retries until its caller gives up (delaysMs.etcdRetry), then etcd's "no leader".
 */
function clusterClient(ctx, t, s, n, now, wrap) {
  const cluster =
    (n.etcd && nodes.clusterOf(s, n.etcd.cluster)) ||
    Object.values(s.etcd.clusters).find((c) => c.identity === (n.config && n.config.identity));
  if (!cluster || !nodes.hasQuorum(s, cluster, now)) {
    const f = nodeFail(t, E.rpc("Unknown", `${wrap}etcdserver: no leader`));
    f.delayMs = ctx.cfg.delaysMs.etcdRetry || 0;
    throw f;
  }
  return cluster;
}

/** etcdresource.FormatMemberID: %016x; the decimal form the MemberRemove error prints (%d). */
const decimal = (hex) => BigInt(`0x${hex}`).toString(10);

/**
 * Run fn per node as this talosctl does: <= 1.13 one call (fn per node inside it, a node's error
 * kept as {error} for the command to print), 1.14 one call per node (errors joined by the caller).
 * Returns [{node, value} | {node, error: Fail}].
 */
function perNode(ctx, t, fn) {
  return t.nodes.map((node) => {
    const tn = forNode(t, node);
    try {
      return { node, value: onNode(ctx, tn, (s, n, now) => fn(tn, s, n, now)) };
    } catch (e) {
      if (!(e instanceof Fail) || e instanceof Hang) throw e;
      return { node, error: markReply(e) };
    }
  });
}

/**
 * Print the outcome of a multi-node read (members, status): <= 1.13 a node's own error is a
 * warning (`cli.Warning("%s", err)` with the reply kept, exit 0) unless the call itself failed
 * (the connection: exit 1 with the command's prefix); 1.14 joins "error from node <n>: ..." and
 * exits 1 after printing what it has.
 */
function finishReads(ctx, results, header, prefix) {
  const c = client.client();
  const rows = results.filter((r) => !r.error).flatMap((r) => r.value);
  const errs = results.filter((r) => r.error);
  if (c.minor >= 14) {
    ctx.out(tabular([header, ...rows]));
    if (errs.length) throw new Fail(errs.map((r) => r.error.message.replace(/\n+$/, "")).join("\n"));
    return;
  }
  const fatal = errs.find((r) => !r.error.nodeReply);
  if (fatal) throw fatal.error;
  const items = errs.map((r) => `\t* ${r.node}: ${r.error.nodeReply}\n`).join("");
  const multi = `${errs.length} error${errs.length > 1 ? "s" : ""} occurred:\n${items}\n`;
  // FilterMessages (pkg/machinery/client/reply.go): when every message was an error the reply
  // is nil, so the command fails with its prefix; otherwise the errors are a warning.
  if (errs.length && errs.length === results.length) throw new Fail(`${prefix || ""}${multi}`);
  if (rows.length) ctx.out(tabular([header, ...rows]));
  if (errs.length) ctx.err(client.warning(multi));
}

/**
 * The errors of a multi-node action (leave, remove-member, forfeit-leadership): <= 1.13 the one
 * call's error (a connection error as is; the nodes' errors as one multierror: FilterMessages),
 * 1.14 each "error from node <n>: ..." joined by newlines (errors.Join).
 */
function failJoined(results, prefix) {
  const errs = results.filter((r) => r.error);
  if (!errs.length) return;
  if (client.client().minor >= 14) throw new Fail(errs.map((r) => r.error.message.replace(/\n+$/, "")).join("\n"));
  const fatal = errs.find((r) => !r.error.nodeReply);
  if (fatal) throw fatal.error;
  const items = errs.map((r) => `\t* ${r.node}: ${r.error.nodeReply}\n`).join("");
  throw new Fail(`${prefix || ""}${errs.length} error${errs.length > 1 ? "s" : ""} occurred:\n${items}\n`);
}

function etcdMembers(ctx, o) {
  const t = target(o, "etcd members", { multi: true });
  const results = perNode(ctx, t, (tn, s, n, now) => {
    requireControlPlane(tn, n, "member list");
    const cluster = localEtcdOrFail(ctx, tn, s, n, now, ["serving"]);
    return cluster.members.map((m) => [
      tn.node,
      m.id,
      m.name,
      `https://${m.address}:2380`,
      `https://${m.address}:2379`,
      String(nodes.isLearner(m, now)),
    ]);
  });
  finishReads(ctx, results, ["NODE", "ID", "HOSTNAME", "PEER URLS", "CLIENT URLS", "LEARNER"], t.prefix);
}

/** A node's own error (not the connection's): keep its bare text for the <= 1.13 warning. */
function markReply(e) {
  if (client.client().minor >= 14) return e;
  const m = /^[^\n]*?1 error occurred:\n\t\* [^:]+: ([\s\S]*?)\n\n$/.exec(e.message);
  if (m) e.nodeReply = m[1];
  return e;
}

/**
 * etcd status: the local member's status (EtcdStatus). LEADER is the leader's member ID as the
 * node's etcd knows it (0000000000000000 without a leader); the PROTOCOL and STORAGE columns
 * exist from talosctl 1.11.
 */
function etcdStatus(ctx, o) {
  const t = target(o, "etcd status", { multi: true });
  const c = client.client();
  const v11 = c.minor >= 11;
  const results = perNode(ctx, t, (tn, s, n, now) => {
    requireControlPlane(tn, n, "etcd status");
    const cluster = localEtcdOrFail(ctx, tn, s, n, now, ["serving", "learner", "no-leader"]);
    const leader = nodes.leaderOf(s, cluster, now);
    const learner = String(nodes.isLearner(nodes.memberOf(cluster, n.etcd.memberId), now));
    return [
      [
        tn.node,
        n.etcd.memberId,
        "1.2 MB",
        "610 kB (50.83%)",
        leader ? leader.id : "0000000000000000",
        "1234",
        "2",
        "1234",
        learner,
        ...(v11 ? ["3.5.0", "3.5.0"] : []),
        "",
      ],
    ];
  });
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
  finishReads(ctx, results, header, t.prefix);
}

/**
 * Why etcd refuses to remove member m now (server.go mayRemoveMember @ etcd v3.5.21), or null:
 * "re-configuration failed due to not enough started members" (ErrNotEnoughStartedMembers, also
 * for the last voting member) or "unhealthy cluster" (ErrUnhealthy: the removal would leave too
 * few active members).
 */
function removeRefusal(s, cluster, m, now, self) {
  if (!nodes.hasQuorum(s, cluster, now)) return "etcdserver: no leader";
  if (nodes.isLearner(m, now)) return null;
  const voters = cluster.members.filter((x) => !nodes.isLearner(x, now));
  // IsReadyToRemoveVotingMember: enough of the other voting members ever started (all here).
  const others = voters.length - 1;
  if (others < Math.floor(others / 2) + 1)
    return "etcdserver: re-configuration failed due to not enough started members";
  // "downed member is safe to remove since it's not part of the active quorum"
  if (!self && !nodes.memberUp(s, cluster, m, now)) return null;
  const active = voters.filter((x) => nodes.memberUp(s, cluster, x, now)).length;
  if (active - 1 < 1 + Math.floor((voters.length - 1) / 2)) return "etcdserver: unhealthy cluster";
  return null;
}

/**
 * etcd leave (EtcdLeaveCluster -> etcd.go LeaveCluster): the node's own member ID from its local
 * Member resource (waits up to 3 min when the node never ran etcd: local.go GetLocalMemberID),
 * MemberRemove retried for 5 min while etcd says Unhealthy (or Stopped), MemberNotFound counted
 * as done; then the etcd service is stopped and /var/lib/etcd emptied. Prints nothing. A later
 * boot starts etcd on an empty directory: it joins as a new member.
 */
function etcdLeave(ctx, o) {
  const t = target(o, "etcd leave", { multi: true });
  if (t.nodes.length > 1) throw new Fail(client.singleNodeError("etcd leave", t.nodes.length));
  onNode(ctx, t, (s, n, now) => {
    requireRole(t, ADMIN);
    requireControlPlane(t, n, "etcd leave");
    if (!n.etcd) {
      throw new Hang(
        Math.min(180000, ctx.cfg.nodeHangMs),
        t.prefix +
          client.nodeError(
            t.node,
            E.rpc("Unknown", "failed to leave cluster: failed to get local etcd member ID: context deadline exceeded"),
          ),
        E.cancelled(t.prefix),
      );
    }
    const cluster = nodes.clusterOf(s, n.etcd.cluster);
    const m = nodes.memberOf(cluster, n.etcd.memberId);
    if (m) {
      const why = removeRefusal(s, cluster, m, now, true);
      if (why === "etcdserver: unhealthy cluster" || why === "etcdserver: no leader") {
        throw new Hang(
          Math.min(300000, ctx.cfg.nodeHangMs),
          t.prefix +
            client.nodeError(
              t.node,
              E.rpc("Unknown", `failed to leave cluster: failed to remove member ${decimal(m.id)}: ${why}`),
            ),
          E.cancelled(t.prefix),
        );
      }
      if (why)
        throw nodeFail(
          t,
          E.rpc("Unknown", `failed to leave cluster: failed to remove member ${decimal(m.id)}: ${why}`),
        );
      nodes.markDown(s, n, now, "etcd leave");
      nodes.removeMember(s, cluster, m, now);
    }
    n.etcd = null;
    n.etcdStopped = true;
  });
}

/**
 * etcd remove-member <member ID> (EtcdRemoveMemberByID): the ID is hexadecimal, parsed before
 * any node is contacted (pkg/machinery/resources/etcd ParseMemberID: strconv.ParseUint(id, 16,
 * 64); the texts checked with the real talosctl v1.12.6 ... v1.14.1); an unknown ID is NotFound
 * with etcd's text (`failed to remove member <decimal>: etcdserver: member not found`).
 */
function etcdRemoveMember(ctx, o, [id]) {
  if (!/^[0-9a-fA-F]{1,16}$/.test(id)) {
    const why = /^[0-9a-fA-F]+$/.test(id) ? "value out of range" : "invalid syntax";
    throw new Fail(
      `error parsing member ID: error parsing etcd member id: strconv.ParseUint: parsing ${JSON.stringify(id)}: ${why}`,
    );
  }
  const hex = id.toLowerCase().padStart(16, "0");
  const t = target(o, "etcd remove-member", { multi: true });
  const results = perNode(ctx, t, (tn, s, n, now) => {
    requireRole(tn, ADMIN);
    requireControlPlane(tn, n, "etcd remove member");
    const cluster = clusterClient(ctx, tn, s, n, now, "failed to remove member: ");
    const m = nodes.memberOf(cluster, hex);
    if (!m)
      throw nodeFail(tn, E.rpc("NotFound", `failed to remove member ${decimal(hex)}: etcdserver: member not found`));
    const why = removeRefusal(s, cluster, m, now, false);
    if (why)
      throw nodeFail(tn, E.rpc("Unknown", `failed to remove member: failed to remove member ${decimal(hex)}: ${why}`));
    const holder = Object.values(s.nodes).find(
      (x) => x.etcd && x.etcd.cluster === cluster.id && x.etcd.memberId === m.id,
    );
    if (holder) nodes.markDown(s, holder, now, "etcd remove-member");
    nodes.removeMember(s, cluster, m, now);
    (cluster.removed = cluster.removed || []).push({ id: m.id, name: m.name, at: now });
  });
  failJoined(results);
}

/**
 * etcd forfeit-leadership (EtcdForfeitLeadership -> etcd.go ForfeitLeadership): "cannot forfeit
 * leadership, only one member" with one member; nothing when this member is not the leader;
 * otherwise MoveLeader to the first other member of the list (a learner there: "bad leader
 * transferee"). Prints nothing either way.
 */
function etcdForfeit(ctx, o) {
  const t = target(o, "etcd forfeit-leadership", { multi: true });
  const results = perNode(ctx, t, (tn, s, n, now) => {
    requireRole(tn, ADMIN);
    requireControlPlane(tn, n, "etcd forfeit leadership");
    const wrap = "failed to forfeit leadership: ";
    const cluster = clusterClient(ctx, tn, s, n, now, wrap);
    if (!n.etcd) throw nodeFail(tn, E.rpc("Unknown", "failed to get local etcd member ID: context deadline exceeded"));
    if (cluster.members.length === 1)
      throw nodeFail(tn, E.rpc("Unknown", `${wrap}cannot forfeit leadership, only one member`));
    const leader = nodes.leaderOf(s, cluster, now);
    if (!leader || leader.id !== n.etcd.memberId) return;
    const to = cluster.members.find((m) => m.id !== n.etcd.memberId);
    if (nodes.isLearner(to, now)) throw nodeFail(tn, E.rpc("Unknown", `${wrap}etcdserver: bad leader transferee`));
    if (!nodes.memberUp(s, cluster, to, now))
      throw nodeFail(tn, E.rpc("Unknown", `${wrap}etcdserver: request timed out, leader transfer took too long`));
    cluster.leaderPref = to.id;
  });
  failJoined(results);
}

module.exports = {
  removeRefusal,
  localEtcdOrFail,
  handlers: {
    "etcd members": etcdMembers,
    "etcd status": etcdStatus,
    "etcd leave": etcdLeave,
    "etcd remove-member": etcdRemoveMember,
    "etcd forfeit-leadership": etcdForfeit,
  },
};
