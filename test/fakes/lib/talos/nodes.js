"use strict";
/**
 * The nodes and their etcd, as pure functions of (state, cfg, now). Nothing runs in the
 * background: every transition has a timestamp and `settle` makes the stored state catch up.
 *
 * A node's phase: maintenance | installing | configured | rebooting | off. Installing, rebooting
 * and off are "down" (the API refuses connections). A configured node's *stage* is booting until
 * its boot sequence finishes, then running (stageOf).
 *
 * etcd, per node: `node.etcd` is the content of its /var/lib/etcd (EPHEMERAL): null (empty) or
 * {cluster, memberId, since}, the etcd cluster whose data it holds and when its etcd process
 * listens. state.etcd.clusters[id] = {id, identity, k8sIdentity, createdAt, members: [{id, name,
 * address, promoteAt, removedAt?}]}.
 */

const phaseOf = (n, now) =>
  (n.phase === "installing" || n.phase === "rebooting") && n.phaseUntil != null && now >= n.phaseUntil
    ? n.phaseNext
    : n.phase;
const isUp = (n, now) => phaseOf(n, now) === "configured";
const isControlPlane = (rec) => !!rec && (rec.type === "controlplane" || rec.type === "init");
/** The etcd member name: the node's hostname (services/etcd.go uses the node's hostname). */
const memberName = (n) => (n.config && n.config.hostname) || n.hostname;

const clusterOf = (state, id) => (id == null ? null : state.etcd.clusters[id] || null);
const memberOf = (cluster, memberId) => (cluster ? cluster.members.find((m) => m.id === memberId) || null : null);
/** A learner until promoted (services/etcd.go addMember: MemberAddAsLearner, then promoteMember). */
const isLearner = (m, now) => m.promoteAt != null && now < m.promoteAt;

/** The node's etcd process listens: node up as a control plane, its data a member of a cluster. */
function etcdListening(state, n, now) {
  if (!isUp(n, now) || !isControlPlane(n.config) || !n.etcd || now < n.etcd.since) return false;
  return !!memberOf(clusterOf(state, n.etcd.cluster), n.etcd.memberId);
}

function nodeOfMember(state, cluster, m) {
  return (
    Object.values(state.nodes).find((n) => n.etcd && n.etcd.cluster === cluster.id && n.etcd.memberId === m.id) || null
  );
}

/** A member is up when a node holds its data and that node's etcd process listens. */
function memberUp(state, cluster, m, now) {
  const n = nodeOfMember(state, cluster, m);
  return !!n && etcdListening(state, n, now);
}

/** Raft quorum: more than half of the voting members up (learners do not vote). */
function hasQuorum(state, cluster, now) {
  if (!cluster) return false;
  const voters = cluster.members.filter((m) => !isLearner(m, now));
  const up = voters.filter((m) => memberUp(state, cluster, m, now)).length;
  return voters.length > 0 && up > voters.length / 2;
}

/**
 * What the node's local etcd answers: "down" (not listening: the client waits for the
 * connection forever), "learner" (rpc not supported for learner), "no-leader", or "serving".
 */
function localEtcd(state, n, now) {
  if (!etcdListening(state, n, now)) return "down";
  const cluster = clusterOf(state, n.etcd.cluster);
  if (!hasQuorum(state, cluster, now)) return "no-leader";
  return isLearner(memberOf(cluster, n.etcd.memberId), now) ? "learner" : "serving";
}

function stageOf(n, now) {
  const p = phaseOf(n, now);
  if (p !== "configured") return p;
  return n.runningSince != null && n.runningSince <= now ? "running" : "booting";
}

/** Open a downtime interval when a voting etcd member goes down (kept in state.downtime). */
function markDown(state, n, now, reason) {
  if (!n.etcd) return;
  const cluster = clusterOf(state, n.etcd.cluster);
  const m = memberOf(cluster, n.etcd.memberId);
  if (!m || isLearner(m, now)) return;
  if (state.downtime.some((d) => d.cluster === cluster.id && d.member === m.id && d.to == null)) return;
  state.downtime.push({
    node: n.address,
    hostname: m.name,
    cluster: cluster.id,
    member: m.id,
    from: now,
    to: null,
    reason,
  });
}

/** Remove a member from its cluster (leave, or replaced by a joining node of the same name). */
function removeMember(state, cluster, m, at) {
  cluster.members = cluster.members.filter((x) => x !== m);
  for (const d of state.downtime) if (d.cluster === cluster.id && d.member === m.id && d.to == null) d.to = at;
}

/** Boot a node at `at`: the persisted config becomes the running one; the boot sequence starts. */
function boot(n, at) {
  n.phase = "configured";
  n.phaseUntil = null;
  n.phaseNext = null;
  n.upSince = at;
  n.runningSince = null;
  n.bootstrapRequested = false;
  if (n.pending) {
    n.config = n.pending;
    n.pending = null;
  }
  n.installed = true;
}

/** Take a node down now for `ms` (rebooting / installing), then `next`. */
function takeDown(state, n, now, phase, ms, next, reason) {
  markDown(state, n, now, reason);
  n.phase = phase;
  n.phaseUntil = now + (ms || 0);
  n.phaseNext = next;
  n.runningSince = null;
}

/**
 * A configured control plane with an empty data directory joins an etcd cluster of its identity
 * that has quorum (services/etcd.go buildInitialCluster/addMember @ v1.10.5: a member with the same
 * name is removed first, then it is added as a learner and promoted once in sync). Several
 * clusters of one identity (a second bootstrap) are a split brain; the model joins the one with the
 * most voting members up, the oldest on a tie.
 */
function joinIfPossible(state, cfg, n, now) {
  if (!isUp(n, now) || !isControlPlane(n.config) || n.etcd) return false;
  const candidates = Object.values(state.etcd.clusters)
    .filter((c) => c.identity === n.config.identity && hasQuorum(state, c, now))
    .map((c) => ({ c, up: c.members.filter((m) => !isLearner(m, now) && memberUp(state, c, m, now)).length }))
    .sort((a, b) => b.up - a.up || a.c.createdAt - b.c.createdAt);
  if (!candidates.length) return false;
  const cluster = candidates[0].c;
  const servingSince = Math.min(
    ...cluster.members
      .map((m) => nodeOfMember(state, cluster, m))
      .filter((x) => x && etcdListening(state, x, now))
      .map((x) => x.etcd.since),
  );
  const joinAt = Math.min(now, Math.max(n.upSince, servingSince));
  for (const m of cluster.members.filter((x) => x.name === memberName(n))) removeMember(state, cluster, m, joinAt);
  const member = {
    id: newMemberId(state),
    name: memberName(n),
    address: n.address,
    promoteAt: joinAt + (cfg.delaysMs.etcdJoin || 0),
  };
  cluster.members.push(member);
  n.etcd = { cluster: cluster.id, memberId: member.id, since: joinAt };
  return true;
}

function newMemberId(state) {
  state.etcd.seq = (state.etcd.seq || 0) + 1;
  return (0x8e9c1f0000000000n + BigInt(state.etcd.seq) * 0x1000193n).toString(16).padStart(16, "0");
}

/** Start a new etcd cluster on `n` (BootstrapEtcd in services/etcd.go). */
function bootstrapCluster(state, cfg, n, now) {
  state.etcd.seq = (state.etcd.seq || 0) + 1;
  const id = `etcd-${state.etcd.seq}`;
  const cluster = { id, identity: n.config.identity, k8sIdentity: n.config.k8sIdentity, createdAt: now, members: [] };
  const member = { id: newMemberId(state), name: memberName(n), address: n.address, promoteAt: null };
  cluster.members.push(member);
  state.etcd.clusters[id] = cluster;
  n.etcd = { cluster: id, memberId: member.id, since: now + (cfg.delaysMs.bootstrap || 0) };
  // BootstrapEtcd marks the waiting etcd service Finished, which unblocks the boot sequence's
  // StartAllServices wait at once (system/service_runner.go inStateLocked: Finished counts as up).
  n.bootstrapRequested = true;
  n.runningSince = now;
  return cluster;
}

/** Make the stored state catch up with `now` (call under the lock before reading or mutating). */
function settle(state, cfg, now) {
  const nodes = Object.values(state.nodes);
  for (const n of nodes) {
    const p = phaseOf(n, now);
    if (p === n.phase) continue;
    const at = n.phaseUntil;
    if (p === "configured") boot(n, at);
    else Object.assign(n, { phase: p, phaseUntil: null, phaseNext: null, upSince: at });
  }
  for (let changed = true; changed;) {
    changed = false;
    for (const n of nodes) changed = joinIfPossible(state, cfg, n, now) || changed;
  }
  for (const n of nodes) {
    if (!isUp(n, now) || n.runningSince != null) continue;
    if (!isControlPlane(n.config)) n.runningSince = n.upSince;
    else if (localEtcd(state, n, now) === "serving") {
      // StartAllServices waits for etcd to be up: its health check is a quorum read
      // (services/etcd.go HealthFunc -> ValidateQuorum), which a learner cannot serve.
      const m = memberOf(clusterOf(state, n.etcd.cluster), n.etcd.memberId);
      n.runningSince = Math.max(n.upSince, n.etcd.since, m.promoteAt || 0);
    }
  }
  for (const d of state.downtime) {
    if (d.to != null) continue;
    const n = state.nodes[d.node];
    if (n && n.etcd && n.etcd.cluster === d.cluster && n.etcd.memberId === d.member && etcdListening(state, n, now)) {
      d.to = Math.max(n.upSince, n.etcd.since);
    }
  }
  return state;
}

/**
 * Every moment two or more members of one etcd cluster were down together: [{cluster, from, to,
 * members: [hostname...]}] (to: null = still ongoing). A three-member cluster loses quorum then.
 */
function quorumViolations(state) {
  const out = [];
  const byCluster = {};
  for (const d of state.downtime || []) (byCluster[d.cluster] = byCluster[d.cluster] || []).push(d);
  for (const [cluster, list] of Object.entries(byCluster)) {
    const points = [...new Set(list.flatMap((d) => [d.from, d.to]).filter((t) => t != null))].sort((a, b) => a - b);
    const downAt = (t) => list.filter((d) => d.from <= t && (d.to == null || t < d.to));
    let open = null;
    for (const t of points) {
      const down = downAt(t);
      if (down.length >= 2) {
        const names = [...new Set(down.map((d) => d.hostname))].sort();
        if (!open || open.members.join() !== names.join()) {
          if (open) open.to = t;
          open = { cluster, from: t, to: null, members: names };
          out.push(open);
        }
      } else if (open) {
        open.to = t;
        open = null;
      }
    }
  }
  return out;
}

module.exports = {
  phaseOf,
  isUp,
  isControlPlane,
  memberName,
  clusterOf,
  memberOf,
  isLearner,
  etcdListening,
  memberUp,
  hasQuorum,
  localEtcd,
  stageOf,
  markDown,
  removeMember,
  boot,
  takeDown,
  bootstrapCluster,
  settle,
  quorumViolations,
};
