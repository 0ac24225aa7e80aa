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

const crypto = require("crypto");
const YAML = require("yaml");
const { newBootId } = require("../store");

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

/**
 * The node's etcd process listens: node up as a control plane, its data a member of a cluster,
 * and its etcd service not stopped since the last boot (`etcd leave` stops it:
 * internal/pkg/etcd/etcd.go LeaveCluster; a legacy upgrade sequence that failed after
 * StopServicesEphemeral leaves it stopped: v1alpha1_sequencer.go Upgrade @ v1.12.6).
 */
function etcdListening(state, n, now) {
  if (!isUp(n, now) || !isControlPlane(n.config) || !n.etcd || now < n.etcd.since) return false;
  if (n.servicesStopped) return false;
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
  if (n.servicesStopped) return n.servicesStopped.stage || "running";
  return n.runningSince != null && n.runningSince <= now ? "running" : "booting";
}

/**
 * The Raft leader of `cluster` now (null without quorum). Raft elects one of the voting members
 * that are up; which one is not modelled beyond this: the member leadership was handed to
 * (`etcd forfeit-leadership`: MoveLeader) while it is up, else the first voting member up in
 * member order.
 */
function leaderOf(state, cluster, now) {
  if (!hasQuorum(state, cluster, now)) return null;
  const voters = cluster.members.filter((m) => !isLearner(m, now) && memberUp(state, cluster, m, now));
  return voters.find((m) => m.id === cluster.leaderPref) || voters[0] || null;
}

/** Open a downtime interval when a voting etcd member goes down (kept in state.downtime). */
function markDown(state, n, now, reason) {
  markApiServerDown(state, n, now, reason);
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

/**
 * Boot a node at `at`: the persisted config becomes the running one; the boot sequence starts; a
 * new boot ID; the version an upgrade installed is the boot loader's default entry now (see
 * bootFails for the A/B fallback). The node's own cordon (set while upgrading, shutting down or
 * resetting) is lifted once it boots (k8s/node_cordoned_spec.go @ v1.12.6: booting/running clear
 * it; node_apply.go ApplyCordoned only uncordons what Talos cordoned).
 */
function boot(n, at) {
  n.phase = "configured";
  n.bootId = newBootId();
  n.servicesStopped = null;
  n.etcdStopped = false;
  n.inactiveUntilReboot = false;
  if (n.nextTalos) {
    n.talos = { version: n.nextTalos.version, schematic: n.nextTalos.schematic };
    n.nextTalos = null;
  }
  if (n.cordon === "talos") n.cordon = null;
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
  // What takes effect only at a boot: the config at this boot (see pendingReboot).
  n.bootConfig = n.config ? n.config.text : null;
  renderControlPlane(n);
}

/**
 * The A/B fallback: the version an upgrade installed fails to boot (a test names it in
 * node.failBoot), machined's `handle` reverts the boot loader to the previous entry (META key
 * `Upgrade`) and reboots (internal/app/machined/main.go, revert.go @ v1.14.1), so the node comes
 * back on its old version after one more reboot; the failed boot counted as one (a new boot ID).
 * Returns true when the boot at `at` failed that way (the node stays down until phaseUntil).
 */
function bootFails(n, at, rebootMs) {
  if (!n.nextTalos || !(n.failBoot || []).includes(n.nextTalos.version)) return false;
  (n.fallbacks = n.fallbacks || []).push({ at, version: n.nextTalos.version, kept: n.talos.version });
  n.nextTalos = null;
  n.bootId = newBootId();
  n.phase = "rebooting";
  n.phaseUntil = at + (rebootMs || 0);
  n.phaseNext = "configured";
  return true;
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
  if (!isUp(n, now) || !isControlPlane(n.config) || n.etcd || n.etcdStopped || n.servicesStopped) return false;
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
    for (let p = phaseOf(n, now); p !== n.phase; p = phaseOf(n, now)) {
      const at = n.phaseUntil;
      if (p === "configured") {
        if (bootFails(n, at, cfg.delaysMs.reboot)) continue;
        boot(n, at);
      } else Object.assign(n, { phase: p, phaseUntil: null, phaseNext: null, upSince: at });
    }
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
  for (const d of state.apiDowntime || []) {
    const n = state.nodes[d.node];
    if (d.to == null && n && apiServerServing(state, cfg, n, now)) d.to = apiServerUpSince(state, cfg, n);
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
 * Every moment two or more of `list`'s intervals ({from, to, name}) of one group were open
 * together (`byName`: two or more distinct names): [{group, from, to, names}] (to: null = still
 * ongoing).
 */
function overlaps(list, groupOf, byName) {
  const out = [];
  const byGroup = {};
  for (const d of list) (byGroup[groupOf(d)] = byGroup[groupOf(d)] || []).push(d);
  for (const [group, items] of Object.entries(byGroup)) {
    const points = [...new Set(items.flatMap((d) => [d.from, d.to]).filter((t) => t != null))].sort((a, b) => a - b);
    const downAt = (t) => items.filter((d) => d.from <= t && (d.to == null || t < d.to));
    let open = null;
    for (const t of points) {
      const down = downAt(t);
      const names = [...new Set(down.map((d) => d.name))].sort();
      if ((byName ? names.length : down.length) >= 2) {
        if (!open || open.names.join() !== names.join()) {
          if (open) open.to = t;
          open = { group, from: t, to: null, names };
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

/**
 * Every moment two or more members of one etcd cluster were down together: [{cluster, from, to,
 * members: [hostname...]}] (to: null = still ongoing). A three-member cluster loses quorum then.
 */
function quorumViolations(state) {
  return overlaps(
    (state.downtime || []).map((d) => ({ ...d, name: d.hostname })),
    (d) => d.cluster,
  ).map((o) => ({ cluster: o.group, from: o.from, to: o.to, members: o.names }));
}

// ---------------------------------------------------------------------------------------------
// What a change applied without a reboot restarts, and when.
//
// ApplyConfiguration's no-reboot branch switches the running config and answers at once
// (internal/app/machined/internal/server/v1alpha1/v1alpha1_server.go @ v1.10.5, ApplyConfiguration:
// SetPersistedConfig, SetConfig, then the reply); the controllers react afterwards:
// - kube-apiserver, kube-controller-manager, kube-scheduler: transform controllers derive
//   APIServerConfig / ControllerManagerConfig / SchedulerConfig from the machine config
//   (internal/app/machined/pkg/controllers/k8s/control_plane.go @ v1.10.5); a COSI resource's
//   version is bumped only when its content changes (cosi-project/runtime v0.10.2 controller
//   adapter Modify: `resource.Equal(current, newResource)` returns without an update).
//   ControlPlaneStaticPodController renders each static pod with the annotation
//   `talos.dev/config-version` = that resource's version (control_plane_static_pod.go @ v1.10.5,
//   only while the node's etcd service is healthy), served to the kubelet over its static pod URL
//   (kubelet_config.go StaticPodListURL); the kubelet polls that URL (httpCheckFrequency, 20 s by
//   default) and replaces the pod: the old container is stopped, the new one started, and its
//   mirror pod (with the new annotation) is created. delaysMs.staticPodPickup: apply -> the old
//   pod stops; delaysMs.staticPodRestart: until the new one is Ready (the API server serving).
// - the kubelet: KubeletServiceController stops and starts the kubelet service on every change of
//   its KubeletSpec (kubelet_service.go @ v1.10.5), which KubeletSpecController derives from
//   `machine.kubelet` and the cluster's DNS settings (kubelet_config.go, kubelet_spec.go).
//   Running pods are containerd tasks of their own and survive the kubelet's restart; the Node
//   stays Ready unless the kubelet is gone longer than the controller manager's
//   node-monitor-grace-period (40 s for Kubernetes 1.31), which a restart is not: the node's
//   MachineStatus reports the kubelet service unhealthy meanwhile (machine_status.go
//   getReadinessChecks: kubelet among the required services). delaysMs.kubeletRestart.
// - etcd: not restarted. Its service reads the EtcdSpec once, in PreFunc, when it starts
//   (internal/app/machined/pkg/system/services/etcd.go @ v1.10.5 and v1.11.5); no controller
//   restarts it on a config change, so a live `.cluster.etcd` change waits for the next reboot.
// Certificates (talos.dev/secrets-version) are not modelled: the program changes none.
// ---------------------------------------------------------------------------------------------

const COMPONENTS = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"];

const at = (obj, path) => path.split(".").reduce((o, k) => (o && typeof o === "object" ? o[k] : undefined), obj);
const digest = (v) =>
  crypto
    .createHash("sha256")
    .update(JSON.stringify(v === undefined ? null : v))
    .digest("hex");
const withoutKey = (obj, key) => {
  if (!obj || typeof obj !== "object") return obj;
  const copy = { ...obj };
  delete copy[key];
  return copy;
};

/**
 * The parts of a machine config each restartable component is derived from (control_plane.go
 * @ v1.10.5 transforms; kubelet_config.go for the kubelet). Certificate SANs feed the secrets,
 * not the config resources.
 */
function componentInputs(configText) {
  const docs = YAML.parseAllDocuments(configText).map((d) => d.toJS());
  const v = docs.find((d) => d && d.version === "v1alpha1") || {};
  const inputs = {
    "kube-apiserver": [
      withoutKey(at(v, "cluster.apiServer"), "certSANs"),
      at(v, "cluster.controlPlane.endpoint"),
      at(v, "cluster.network.serviceSubnets"),
      at(v, "cluster.externalCloudProvider"),
      at(v, "machine.kubelet.skipNodeRegistration"),
    ],
    "kube-controller-manager": [
      at(v, "cluster.controllerManager"),
      at(v, "cluster.network.podSubnets"),
      at(v, "cluster.network.serviceSubnets"),
      at(v, "cluster.externalCloudProvider"),
      at(v, "machine.controlPlane.controllerManager"),
    ],
    "kube-scheduler": [at(v, "cluster.scheduler"), at(v, "machine.controlPlane.scheduler")],
    kubelet: [at(v, "machine.kubelet"), at(v, "cluster.network.dnsDomain"), at(v, "cluster.network.serviceSubnets")],
  };
  return Object.fromEntries(Object.entries(inputs).map(([k, parts]) => [k, digest(parts)]));
}

/**
 * The image tag (Kubernetes version, vX.Y.Z) of a component in a machine config: the 1.14 typed
 * document's `image` (KubeAPIServerConfig, KubeControllerManagerConfig, KubeSchedulerConfig,
 * KubeletConfig) where there is one, else the v1alpha1 field (.cluster.apiServer.image, ...,
 * .machine.kubelet.image), which `gen config` always writes (generate/generate.go @ v1.10.5).
 */
const IMAGE_AT = {
  "kube-apiserver": ["KubeAPIServerConfig", "cluster.apiServer.image"],
  "kube-controller-manager": ["KubeControllerManagerConfig", "cluster.controllerManager.image"],
  "kube-scheduler": ["KubeSchedulerConfig", "cluster.scheduler.image"],
  kubelet: ["KubeletConfig", "machine.kubelet.image"],
};
function componentVersion(configText, component) {
  const docs = YAML.parseAllDocuments(String(configText || "")).map((d) => d.toJS());
  const [kind, path] = IMAGE_AT[component];
  const typed = docs.find((d) => d && d.kind === kind);
  const image = (typed && typed.image) || at(docs.find((d) => d && d.version === "v1alpha1") || {}, path);
  const m = /:(v?\d+\.\d+\.\d+[^@\s]*)$/.exec(String(image || ""));
  return m ? (m[1].startsWith("v") ? m[1] : `v${m[1]}`) : null;
}

/** At boot: COSI state starts empty, so each config resource is at version 1 and its pod runs it. */
function renderControlPlane(n) {
  const inputs = n.config ? componentInputs(n.config.text) : {};
  const text = n.config ? n.config.text : "";
  n.staticPods = {};
  if (isControlPlane(n.config)) {
    for (const c of COMPONENTS)
      n.staticPods[c] = {
        hash: inputs[c],
        version: 1,
        podVersion: 1,
        restartAt: null,
        readyAt: null,
        image: componentVersion(text, c),
      };
  }
  n.kubelet = {
    hash: inputs.kubelet || null,
    restartFrom: null,
    restartTo: null,
    image: componentVersion(text, "kubelet"),
  };
}

/**
 * The Kubernetes version a component runs now: the new one once its restart began (a static pod
 * replaced at restartAt; the kubelet once restarted), the one before until then.
 */
function runningVersion(n, component, now) {
  if (component === "kubelet") {
    const k = n.kubelet;
    if (!k) return n.config ? componentVersion(n.config.text, "kubelet") : null;
    return k.restartTo != null && now < k.restartTo && k.previousImage !== undefined ? k.previousImage : k.image;
  }
  const p = n.staticPods && n.staticPods[component];
  if (!p) return null;
  return p.restartAt != null && now < p.restartAt && p.previousImage !== undefined ? p.previousImage : p.image;
}

/** A change applied without a reboot: what it restarts, from now (see above). */
function liveConfigChanged(state, cfg, n, now) {
  const d = cfg.delaysMs;
  const inputs = componentInputs(n.config.text);
  if (!n.staticPods || !n.kubelet) renderControlPlane(n);
  for (const c of Object.keys(n.staticPods)) {
    const p = n.staticPods[c];
    if (p.hash === inputs[c]) continue;
    const wasServing = c === "kube-apiserver" && apiServerServing(state, cfg, n, now);
    p.previousImage = p.image;
    p.image = componentVersion(n.config.text, c);
    p.hash = inputs[c];
    p.version += 1;
    p.restartAt = now + (d.staticPodPickup || 0);
    p.readyAt = p.restartAt + (d.staticPodRestart || 0);
    if (wasServing) {
      (state.apiDowntime = state.apiDowntime || []).push({
        node: n.address,
        hostname: memberName(n),
        from: p.restartAt,
        to: p.readyAt,
        reason: "kube-apiserver restart",
      });
    }
  }
  if (n.kubelet.hash !== inputs.kubelet) {
    n.kubelet = {
      hash: inputs.kubelet,
      restartFrom: now,
      restartTo: now + (d.kubeletRestart || 0),
      previousImage: n.kubelet.image,
      image: componentVersion(n.config.text, "kubelet"),
    };
  }
}

/** The running pod of component c on n: {version (its mirror pod's annotation), ready}. */
function staticPod(n, c, now) {
  const p = n.staticPods && n.staticPods[c];
  if (!p) return null;
  const replaced = p.restartAt == null || now >= p.restartAt;
  return {
    version: replaced ? p.version : p.podVersion,
    rendered: p.version,
    ready: p.restartAt == null || now < p.restartAt || now >= p.readyAt,
  };
}

/** talos.dev annotations of a control-plane static pod (secrets are not modelled: version 1). */
const staticPodAnnotations = (version) => ({
  "talos.dev/config-version": String(version),
  "talos.dev/secrets-version": "1",
});

const kubeletRestarting = (n, now) =>
  !!n.kubelet && n.kubelet.restartFrom != null && now >= n.kubelet.restartFrom && now < n.kubelet.restartTo;

/** When the node's kube-apiserver serves (it uses the node's own etcd: control_plane.go EtcdServers localhost). */
function apiServerUpSince(state, cfg, n) {
  const cluster = clusterOf(state, n.etcd && n.etcd.cluster);
  const d = cfg.delaysMs;
  const p = n.staticPods && n.staticPods["kube-apiserver"];
  return Math.max(
    cluster ? cluster.createdAt + (d.bootstrap || 0) + (d.apiServer || 0) : Infinity,
    n.runningSince == null ? Infinity : n.runningSince + (d.apiServer || 0),
    p && p.readyAt != null ? p.readyAt : -Infinity,
  );
}

/** Does the node's own kube-apiserver answer now? */
function apiServerServing(state, cfg, n, now) {
  if (!isUp(n, now) || !isControlPlane(n.config) || n.runningSince == null) return false;
  if (localEtcd(state, n, now) !== "serving") return false;
  const pod = staticPod(n, "kube-apiserver", now);
  if (pod && !pod.ready) return false;
  const cluster = clusterOf(state, n.etcd.cluster);
  const d = cfg.delaysMs;
  return (
    now >= cluster.createdAt + (d.bootstrap || 0) + (d.apiServer || 0) && now >= n.runningSince + (d.apiServer || 0)
  );
}

/** A control plane whose etcd listens goes down: so does its API server (closed in settle). */
function markApiServerDown(state, n, now, reason) {
  if (!isControlPlane(n.config) || !etcdListening(state, n, now)) return;
  const list = (state.apiDowntime = state.apiDowntime || []);
  if (list.some((d) => d.node === n.address && d.to == null)) return;
  list.push({ node: n.address, hostname: memberName(n), from: now, to: null, reason });
}

/**
 * Every moment two or more control planes' API servers were down together: [{from, to,
 * nodes: [hostname...]}] (to: null = still ongoing).
 */
function apiServerOverlaps(state) {
  return overlaps(
    (state.apiDowntime || []).map((d) => ({ ...d, name: d.hostname })),
    () => "cluster",
    true,
  ).map((o) => ({ from: o.from, to: o.to, nodes: o.names }));
}

/**
 * Every moment two or more control planes were down together, counting a node down while its
 * API server or its etcd member is down: [{from, to, nodes}].
 */
function controlPlaneOverlaps(state) {
  const list = [...(state.apiDowntime || []), ...(state.downtime || [])].map((d) => ({ ...d, name: d.hostname }));
  return overlaps(list, () => "cluster", true).map((o) => ({ from: o.from, to: o.to, nodes: o.names }));
}

module.exports = {
  isControlPlane,
  componentVersion,
  runningVersion,
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
  leaderOf,
  bootFails,
  markDown,
  removeMember,
  boot,
  takeDown,
  bootstrapCluster,
  settle,
  quorumViolations,
  COMPONENTS,
  componentInputs,
  renderControlPlane,
  liveConfigChanged,
  staticPod,
  staticPodAnnotations,
  kubeletRestarting,
  apiServerServing,
  apiServerUpSince,
  apiServerOverlaps,
  controlPlaneOverlaps,
};
