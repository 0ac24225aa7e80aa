"use strict";
/**
 * talosctl upgrade and talosctl reboot, per talosctl minor and per node version.
 *
 * upgrade, legacy path (talosctl <= 1.12; 1.13+ with --legacy, or when a node is outside
 * ">1.13.0-alpha.2 <2.0.0": cmd/talosctl/cmd/talos/upgrade.go @ v1.12.6, v1.13.9, v1.14.1):
 *   the node's MachineService.Upgrade (internal/app/machined/internal/server/v1alpha1/
 *   v1alpha1_server.go Upgrade @ v1.12.6) pulls the installer image; on a control plane, unless
 *   --force (1.14 node: or --preserve), takes the etcd upgrade mutex for its pre-checks
 *   (tryLockUpgradeMutex; held for delaysMs.upgradeCheck here: a second control plane inside that
 *   window gets "failed to acquire upgrade mutex") and runs ValidateForUpgrade (internal/pkg/etcd/
 *   etcd.go: exactly 2 members; a member not healthy). Then it answers "Upgrade request received"
 *   and runs the upgrade sequence: the node cordons itself, stops its services, installs (the
 *   installer refuses a host version it cannot upgrade: compatibility/talos_version.go
 *   UpgradeableFrom, versions.js) and reboots (delaysMs.upgrade + delaysMs.reboot). A refused
 *   install fails the sequence after the services were stopped: the node keeps running its old
 *   version with etcd stopped until it reboots (v1alpha1_sequencer.go Upgrade @ v1.12.6:
 *   StopServicesEphemeral precedes Upgrade). --wait (default true) follows it with the tracker
 *   (tracker.js: running+ready and a new boot ID); --wait=false prints NODE ACK STARTED.
 *
 * upgrade, LifecycleService path (talosctl 1.13/1.14, every node >= 1.13.0-alpha.3;
 * upgrade.go upgradeViaLifecycleService @ v1.14.1, internal/app/lifecycle/lifecycle.go
 * Service.Upgrade): no etcd check and no mutex; all -n nodes pull and install in parallel
 * (a second install on a node while one runs: FailedPrecondition "another installation/upgrade
 * is already in progress"); per node "<node>: upgrade completed" or "<node>: upgrade failed with
 * exit code N" (1.14: class and installer output after the code, pkg/installer/exitcode); a
 * failure ends the command ("error during upgrade: node <n>: upgrade failed with exit code N")
 * with nothing drained or rebooted. Then --drain (default true; endpoint must be a control plane
 * reachable through the Kubernetes API: drain.go drainNodes) cordons every node, every node
 * reboots (MachineService.Reboot, the tracker), and after each Node is Ready again it is
 * uncordoned (deferred, only after a successful drain). --no-reboot: installed, not booted.
 * The new version is booted at the node's next boot, whatever ends the command.
 *
 * A/B fallback (internal/app/machined/main.go handle, revert.go @ v1.14.1; nodes.js bootFails):
 * a version listed in the node's failBoot does not boot; the node reverts and boots its old
 * version again. talosctl reports success (running, ready, new boot ID): a caller must compare
 * `version --json` .version.tag with the target.
 *
 * reboot (reboot.go @ v1.12.6 ... v1.14.1): MachineService.Reboot (modes default|force|
 * powercycle), --wait (default true) with the tracker; 1.13+ --drain (default false) as above.
 *
 * Not simulated (exit 3): --insecure, --debug, --namespace other than "system".
 */
const store = require("../store");
const { Fail, parseDuration } = require("../runtime");
const nodes = require("./nodes");
const E = require("./errors");
const client = require("./client");
const versions = require("./versions");
const images = require("./images");
const world = require("../world");
const { readiness } = require("./resources");
const { target, forNode, onNode, onEndpoint, nodeFail, requireRole, ADMIN } = require("./remote");
const { track, clientVersionCheck, talosVersionCheck } = require("./tracker");

const THIRTY_MINUTES = 30 * 60000;

/** exitcode.go (pkg/installer/exitcode @ v1.14.1): the class talosctl 1.14 prints after the code. */
const EXIT_CLASS = {
  2: "invalid input",
  3: "unsupported",
  4: "environment error",
  5: "dependency",
  6: "I/O",
  7: "installation error",
};

/** What the node will run after an upgrade to `image`: {version, schematic, image}. */
function installed(image) {
  const p = images.parseInstaller(image);
  return { version: p.version, schematic: p.schematic, image };
}

/** The cluster of n's etcd (the one with quorum of its identity when it has none of its own). */
function clusterFor(s, n, now) {
  return (
    (n.etcd && nodes.clusterOf(s, n.etcd.cluster)) ||
    Object.values(s.etcd.clusters).find(
      (c) => c.identity === (n.config && n.config.identity) && nodes.hasQuorum(s, c, now),
    ) ||
    null
  );
}

/**
 * ValidateForUpgrade (internal/pkg/etcd/etcd.go @ v1.12.6): the member list through the node's
 * cluster client, then each member's status. Returns the error text or null.
 */
function validateForUpgrade(s, n, now) {
  const cluster = clusterFor(s, n, now);
  if (!cluster || !nodes.hasQuorum(s, cluster, now)) return "etcdserver: no leader";
  if (cluster.members.length === 2)
    return "etcd member count(2) is insufficient to maintain quorum if upgrade commences";
  for (const m of cluster.members) {
    if (nodes.isLearner(m, now))
      return `etcd member ${m.id} is not started, all members must be running to perform an upgrade`;
    if (!nodes.memberUp(s, cluster, m, now))
      return `etcd member ${m.id} is not healthy; all members must be healthy to perform an upgrade: context deadline exceeded`;
  }
  return null;
}

/** The legacy MachineService.Upgrade on n (see the header); returns {events} or {sequenceError}. */
function legacyUpgrade(ctx, t, s, n, now, o, image) {
  requireRole(t, ADMIN);
  if (!images.published(s, ctx.cfg, image))
    throw nodeFail(
      t,
      E.rpc("Unknown", `error validating installer image ${JSON.stringify(image)}: ${images.pullError(image)}`),
    );
  const skipChecks = o.bool("force") || (versions.minor(n.talos.version) >= 14 && o.bool("preserve"));
  if (nodes.isControlPlane(n.config) && !skipChecks) {
    const mutex = s.upgradeMutex;
    if (mutex && mutex.holder !== n.address && now < mutex.until)
      throw nodeFail(t, E.rpc("Unknown", "failed to acquire upgrade mutex: context deadline exceeded"));
    s.upgradeMutex = { holder: n.address, until: now + (ctx.cfg.delaysMs.upgradeCheck || 0) };
    const why = validateForUpgrade(s, n, now);
    if (why) throw nodeFail(t, E.rpc("Unknown", `error validating etcd for upgrade: ${why}`));
  }
  n.upgrades = (n.upgrades || 0) + 1;
  const next = installed(image);
  (n.upgradeLog = n.upgradeLog || []).push({ at: now, path: "legacy", client: client.client().version, image });
  if (n.cordon == null) n.cordon = "talos";
  const refusal = versions.upgradeableFrom(next.version, n.talos.version);
  if (refusal) {
    // The sequence stopped the services, then the installer refused: the node stays up, its
    // etcd and kubelet stopped, cordoned, until something reboots it.
    nodes.markDown(s, n, now, "upgrade sequence failed");
    n.servicesStopped = { at: now, stage: "running" };
    n.lastUpgradeError = refusal;
    return { sequenceError: `error running phase 8 in upgrade sequence: task 1/1: failed, ${refusal}` };
  }
  n.nextTalos = next;
  const d = ctx.cfg.delaysMs;
  nodes.takeDown(s, n, now, "rebooting", (d.upgrade || 0) + (d.reboot || 0), "configured", "upgrade");
  return { events: ["sequence: upgrade action: START", "task: upgrade action: START", "unavailable, retrying..."] };
}

function legacy(ctx, o, image) {
  if (o.bool("insecure")) throw new Fail("fake talosctl: upgrade --insecure is not simulated", 3);
  const c = client.client();
  // upgrade.go RunE: --debug and (1.13+) --drain force --wait.
  const wait = o.bool("wait", true) || o.bool("debug") || (c.minor >= 13 && o.bool("drain", true));
  const t = target(o, "upgrade", { multi: true });
  if (wait) {
    track(ctx, t, {
      timeoutMs: timeoutOf(o),
      action: (s, n, now, tn) => legacyUpgrade(ctx, tn, s, n, now, o, image),
      expectedEvent: "ready",
      postCheck: (s, n, now, pre) => n.bootId !== pre,
    });
    return;
  }
  clientVersionCheck(ctx, t, c.minor >= 14);
  const rows = [["NODE", "ACK", "STARTED"]];
  const errs = [];
  for (const node of t.nodes) {
    const tn = forNode(t, node);
    if (c.minor >= 14) tn.prefix = `error from node ${node}: error performing upgrade: `;
    try {
      onNode(ctx, tn, (s, n, now) => legacyUpgrade(ctx, tn, s, n, now, o, image));
      rows.push([node, "Upgrade request received", new Date().toISOString(), ""]);
    } catch (e) {
      if (!(e instanceof Fail)) throw e;
      errs.push(e.message.replace(/\n+$/, ""));
    }
  }
  ctx.out(require("./resources").tabular(rows));
  if (errs.length) throw new Fail(errs.join("\n"));
}

const timeoutOf = (o) => (o.has("timeout") ? parseDuration(o.get("timeout")) : THIRTY_MINUTES);

/** LifecycleService.Upgrade on n (lifecycle.go Service.Upgrade @ v1.14.1): the exit code (0 ok). */
function lifecycleInstall(ctx, t, s, n, now, image) {
  requireRole(t, ADMIN);
  if (n.installing && now < n.installing.until)
    throw nodeFail(t, E.rpc("FailedPrecondition", "another installation/upgrade is already in progress"), true);
  if (!n.installed) throw nodeFail(t, E.rpc("FailedPrecondition", "machine is not installed"), true);
  const next = installed(image);
  n.upgrades = (n.upgrades || 0) + 1;
  (n.upgradeLog = n.upgradeLog || []).push({ at: now, path: "lifecycle", client: client.client().version, image });
  n.installing = { until: now + (ctx.cfg.delaysMs.upgrade || 0) };
  const refusal = versions.upgradeableFrom(next.version, n.talos.version);
  // preflight.go (cmd/installer/pkg/install @ v1.14.1): a refused host version is class 4.
  if (refusal) return { code: 4, output: refusal };
  n.nextTalos = next;
  return { code: 0 };
}

/** The Node's name for n (Nodename resource: the hostname). */
const nodeName = (n) => nodes.memberName(n);

/** The Kubernetes API through the endpoint (kubeclient.FromTalosClient): null, or the reason it fails. */
function kubeApiError(s, cfg, e, now, what) {
  if (!nodes.isControlPlane(e.config))
    return `error creating Kubernetes client for ${what}: ${E.rpc("Unimplemented", "kubeconfig is only available on control plane nodes")}`;
  const cluster = clusterFor(s, e, now);
  const at = world.apiUpAt(s, cfg, cluster, now);
  if (at == null || now < at) return "api-down";
  return null;
}

/** drainNodes (drain.go @ v1.14.1): cordon + evict every node; returns the names cordoned. */
function drain(ctx, t) {
  const cordoned = onEndpoint(ctx, t, (s, e, now) => {
    const why = kubeApiError(s, ctx.cfg, e, now, "drain");
    if (why && why !== "api-down") throw new Fail(why);
    return t.nodes.map((addr) => {
      const n = s.nodes[addr];
      const name = nodeName(n);
      if (why === "api-down")
        throw new Fail(
          `error cordoning node ${JSON.stringify(name)}: ${E.refused(e.address).replace(/^rpc error.*desc = /, "")}`,
        );
      n.cordon = "talosctl";
      return { addr, name };
    });
  });
  for (const c of cordoned) ctx.err(`${c.name}: cordoned\n${c.name}: drained\n`);
  return cordoned;
}

/** uncordonNodes: wait for each Node Ready (bounded by --timeout), then uncordon it. */
function uncordon(ctx, t, cordoned, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (const c of cordoned) {
    ctx.err(`${c.name}: waiting for node to become Ready\n`);
    for (;;) {
      const ready = store.updateState(ctx.dir, (s) => {
        const now = Date.now();
        nodes.settle(s, ctx.cfg, now);
        const n = s.nodes[c.addr];
        const ok =
          nodes.isUp(n, now) && nodes.stageOf(n, now) === "running" && readiness(s, ctx.cfg, n, now).length === 0;
        if (ok && n.cordon === "talosctl") n.cordon = null;
        return ok;
      });
      if (ready) break;
      if (Date.now() >= deadline)
        throw new Fail(`error waiting for node ${JSON.stringify(c.name)} to become Ready: context deadline exceeded`);
      store.sleepMs(50);
    }
    ctx.err(`${c.name}: uncordoned\n`);
  }
}

/** MachineService.Reboot (v1alpha1_server.go Reboot): the node goes down now and boots again. */
function rebootNode(ctx, t, s, n, now) {
  requireRole(t, ["os:admin", "os:operator"]);
  n.reboots++;
  nodes.takeDown(s, n, now, "rebooting", ctx.cfg.delaysMs.reboot, "configured", "reboot");
  return { events: ["sequence: reboot action: START", "unavailable, retrying..."] };
}

function viaLifecycle(ctx, o, image) {
  const t = target(o, "upgrade", { multi: true });
  const noReboot = o.bool("no-reboot");
  const drainOn = o.bool("drain", true) && !noReboot;
  const wait = o.bool("wait", true) || o.bool("debug") || drainOn;
  // imagePullInternal: every node pulls first.
  for (const node of t.nodes) {
    const tn = Object.assign(forNode(t, node), { prefix: "" });
    try {
      onNode(ctx, tn, (s, n) => {
        requireRole(tn, ADMIN);
        if (!images.published(s, ctx.cfg, image)) throw nodeFail(tn, E.rpc("Unknown", images.pullError(image)), true);
      });
    } catch (e) {
      if (!(e instanceof Fail)) throw e;
      throw new Fail(`error pulling upgrade image: error from node ${node}: ${e.message.replace(/\n+$/, "")}`);
    }
  }
  // upgradeInternal: the installs, all nodes.
  const c = client.client();
  const lines = [];
  const errs = [];
  for (const node of t.nodes) {
    const tn = Object.assign(forNode(t, node), { prefix: "" });
    try {
      const r = onNode(ctx, tn, (s, n, now) => lifecycleInstall(ctx, tn, s, n, now, image));
      if (r.code === 0) lines.push(`${node}: upgrade completed`);
      else {
        const cls = c.minor >= 14 && EXIT_CLASS[r.code] ? ` (${EXIT_CLASS[r.code]})` : "";
        const code = c.minor >= 14 ? r.code : 1;
        lines.push(`${node}: upgrade failed with exit code ${code}${cls}`);
        errs.push(`node ${node}: upgrade failed with exit code ${code}${cls}${c.minor >= 14 ? `\n${r.output}` : ""}`);
      }
    } catch (e) {
      if (!(e instanceof Fail)) throw e;
      errs.push(`error from node ${node}: ${e.message.replace(/\n+$/, "")}`);
    }
  }
  if (lines.length) ctx.err(lines.join("\n") + "\n");
  if (errs.length) throw new Fail(`error during upgrade: ${errs.join("\n")}`);
  let cordoned = [];
  if (drainOn) cordoned = drain(ctx, t);
  let failure = null;
  if (!noReboot) {
    try {
      if (wait)
        track(ctx, t, {
          timeoutMs: timeoutOf(o),
          action: (s, n, now, tn) => rebootNode(ctx, tn, s, n, now),
          expectedEvent: "ready",
          postCheck: (s, n, now, pre) => n.bootId !== pre,
        });
      else for (const node of t.nodes) onNode(ctx, forNode(t, node), (s, n, now) => rebootNode(ctx, t, s, n, now));
    } catch (e) {
      if (!(e instanceof Fail)) throw e;
      failure = new Fail(e.message ? `error during upgrade: ${e.message}` : "");
    }
  }
  if (cordoned.length) {
    try {
      uncordon(ctx, t, cordoned, timeoutOf(o));
    } catch (e) {
      if (!(e instanceof Fail)) throw e;
      failure = new Fail([failure && failure.message, e.message].filter(Boolean).join("\n"));
    }
  }
  if (failure) throw failure;
}

function upgrade(ctx, o) {
  if (o.bool("debug")) throw new Fail("fake talosctl: upgrade --debug is not simulated", 3);
  if (o.has("namespace") && o.get("namespace") !== "system")
    throw new Fail("fake talosctl: upgrade --namespace other than system is not simulated", 3);
  const c = client.client();
  const image = o.get("image") || client.flagDefault("upgrade", "image");
  if (c.minor <= 12) return legacy(ctx, o, image);
  if (o.bool("legacy")) {
    ctx.err(
      client.warning(
        "Forcing use of legacy upgrade method. This flag is deprecated and will be removed in Talos 1.18.",
      ),
    );
    return legacy(ctx, o, image);
  }
  const t = target(o, "upgrade", { multi: true });
  if (talosVersionCheck(ctx, t, versions.lifecycleApi) === "outside") {
    ctx.err("New upgrade API is not available, falling back to legacy\n");
    return legacy(ctx, o, image);
  }
  return viaLifecycle(ctx, o, image);
}

function reboot(ctx, o) {
  if (o.bool("debug")) throw new Fail("fake talosctl: reboot --debug is not simulated", 3);
  const c = client.client();
  const t = target(o, "reboot", { multi: true });
  const drainOn = c.minor >= 13 && o.bool("drain");
  const wait = o.bool("wait", true) || drainOn;
  const cordoned = drainOn ? drain(ctx, t) : [];
  let failure = null;
  try {
    if (wait)
      track(ctx, t, {
        timeoutMs: timeoutOf(o),
        action: (s, n, now, tn) => rebootNode(ctx, tn, s, n, now),
        expectedEvent: "ready",
        postCheck: (s, n, now, pre) => n.bootId !== pre,
      });
    else {
      if (c.minor >= 14) clientVersionCheck(ctx, t, true);
      for (const node of t.nodes) {
        const tn = forNode(t, node);
        onNode(ctx, tn, (s, n, now) => rebootNode(ctx, tn, s, n, now));
      }
    }
  } catch (e) {
    if (!(e instanceof Fail)) throw e;
    failure = e;
  }
  if (cordoned.length) uncordon(ctx, t, cordoned, timeoutOf(o));
  if (failure) throw failure;
}

module.exports = { validateForUpgrade, handlers: { upgrade, reboot } };
