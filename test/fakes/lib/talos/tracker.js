"use strict";
/**
 * The client-side checks and the action tracker of reboot, reset and the legacy upgrade.
 *
 * helpers.ClientVersionCheck (cmd/talosctl/pkg/talos/helpers/checks.go): a Version call; every
 * node older than the client gets "WARNING: <node>: server version X is older than client
 * version Y" (joined by ", ", one line on stderr). Up to 1.13 the Version call's error is ignored
 * ("we are only interested in the nodes which respond", @ v1.12.6, v1.13.9); 1.14 returns
 * "<node>: error getting server version: ..." per node, joined (@ v1.14.1).
 *
 * The tracker (cmd/talosctl/pkg/talos/action/tracker.go, node.go @ v1.12.6 ... v1.14.1): per node,
 * an event watch ("waiting for actor ID"), the boot ID before the action (a post check needs it),
 * the action ("actor ID: <id>"), then events until the expected one (the node running and ready:
 * MachineReadyEventFn; or the stopAllServices task of a reset), then the post check (the boot ID
 * changed: BootIDChangedPostCheckFn). On a terminal it redraws a summary; otherwise each update is
 * one line `"<node>": <message>` on stderr. Once the tracker runs it prints the errors itself and
 * talosctl exits 1 without printing them again (common.SuppressErrors). The fake prints the
 * updates that matter, not every event; its --timeout is the real deadline.
 */
const store = require("../store");
const { Fail } = require("../runtime");
const nodes = require("./nodes");
const client = require("./client");
const versions = require("./versions");
const { readiness } = require("./resources");
const { forNode, onNode, onEndpoint, proxied } = require("./remote");

const POLL_MS = 50;

/**
 * The Version calls of ClientVersionCheck / TalosVersionCheck: [{node, version} | {node, error}]
 * (the error as the client sees it for that node).
 */
function serverVersions(ctx, t) {
  const c = client.client();
  const out = [];
  if (c.minor >= 14) {
    for (const node of t.nodes) {
      const tn = forNode(t, node);
      tn.prefix = "";
      try {
        out.push({ node, version: onNode(ctx, tn, (s, n) => n.talos.version) });
      } catch (e) {
        if (!(e instanceof Fail)) throw e;
        out.push({ node, error: e.message.replace(/\n+$/, "") });
      }
    }
    return out;
  }
  const te = Object.assign({}, t, { prefix: "" });
  try {
    return onEndpoint(ctx, te, (s, e, now) =>
      t.nodes.map((node) => {
        const r = proxied(s, now, e, node);
        return r.error ? { node, error: r.error, inReply: true } : { node, version: r.n.talos.version };
      }),
    );
  } catch (e) {
    if (!(e instanceof Fail)) throw e;
    return [{ node: null, error: e.message.replace(/\n+$/, ""), call: true }];
  }
}

/** ClientVersionCheck; `strict` (1.14) makes the Version errors fatal. */
function clientVersionCheck(ctx, t, strict) {
  const me = client.client().version;
  const results = serverVersions(ctx, t);
  const warnings = results
    .filter((r) => r.version && versions.compare(r.version, me) < 0)
    .map(
      (r) =>
        `${r.node}: server version ${versions.plain(r.version)} is older than client version ${versions.plain(me)}`,
    );
  if (warnings.length) ctx.err(`WARNING: ${warnings.join(", ")}\n`);
  if (!strict) return results;
  const errs = results.filter((r) => r.error);
  if (errs.length) throw new Fail(errs.map((r) => `${r.node}: error getting server version: ${r.error}`).join("\n"));
  return results;
}

/**
 * TalosVersionCheck against `inRange` (upgrade.go's LifecycleService range): null when every node
 * is in range, "outside" when one is not (talosctl falls back to the legacy API), or a Fail for
 * the Version call (1.13: "error getting server versions: ...", 1.14: "<node>: error getting
 * server version: ...", checks.go @ v1.13.9 / v1.14.1).
 */
function talosVersionCheck(ctx, t, inRange) {
  const results = serverVersions(ctx, t);
  const c = client.client();
  const call = results.find((r) => r.call);
  if (call) throw new Fail(`error checking Talos version compatibility: error getting server versions: ${call.error}`);
  const errs = results.filter((r) => r.error);
  if (errs.length && c.minor >= 14)
    throw new Fail(
      `error checking Talos version compatibility: ${errs.map((r) => `${r.node}: error getting server version: ${r.error}`).join("\n")}`,
    );
  return results.some((r) => r.version && !inRange(r.version)) ? "outside" : null;
}

/**
 * Track an action on every node of t. spec.action(s, n, now) runs the call under the lock and
 * returns {events: [lines], sequenceError?} or throws the call's Fail; spec.expectedEvent is
 * "ready" (running and ready after a boot) or "stopAllServices"; spec.postCheck(s, n, now,
 * preBootId) -> boolean. Throws an empty Fail (exit 1) when any node failed.
 */
function track(ctx, t, spec) {
  const me = client.client();
  clientVersionCheck(ctx, t, me.minor >= 14);
  const deadline = Date.now() + spec.timeoutMs;
  const line = (node, msg) => ctx.err(`"${node}": ${msg}\n`);
  let failed = false;
  const pending = [];
  for (const node of t.nodes) {
    // The tracker talks to each node one-to-one (client.WithNode): plain errors, no prefix.
    const tn = Object.assign(forNode(t, node), { prefix: "", oneToOne: true });
    let pre;
    try {
      pre = onNode(ctx, tn, (s, n) => n.bootId);
    } catch (e) {
      if (!(e instanceof Fail)) throw e;
      line(node, e.message.replace(/\n+$/, ""));
      line(node, "unavailable, retrying...");
      failed = true;
      continue;
    }
    line(node, "waiting for actor ID");
    let r;
    try {
      r = onNode(ctx, tn, (s, n, now) => spec.action(s, n, now, tn));
    } catch (e) {
      if (!(e instanceof Fail)) throw e;
      line(node, e.message.replace(/\n+$/, ""));
      failed = true;
      continue;
    }
    line(node, `actor ID: ${require("crypto").randomUUID()}`);
    for (const ev of r.events || []) line(node, ev);
    if (r.sequenceError) {
      line(node, `sequence error: ${r.sequenceError}`);
      failed = true;
      continue;
    }
    pending.push({ node, pre, sawDown: false, met: false });
  }
  while (pending.some((p) => !p.done)) {
    if (Date.now() >= deadline) {
      for (const p of pending.filter((x) => !x.done)) line(p.node, "context deadline exceeded");
      failed = true;
      break;
    }
    const now = Date.now();
    store.updateState(ctx.dir, (s) => {
      nodes.settle(s, ctx.cfg, now);
      for (const p of pending.filter((x) => !x.done)) {
        const n = s.nodes[p.node];
        const reachable = n && ["configured", "maintenance"].includes(nodes.phaseOf(n, now));
        if (!reachable && !p.sawDown) {
          line(p.node, "unavailable, retrying...");
          p.sawDown = true;
        }
        if (!p.met) {
          p.met =
            spec.expectedEvent === "stopAllServices" ||
            (n &&
              nodes.isUp(n, now) &&
              n.bootId !== p.pre &&
              nodes.stageOf(n, now) === "running" &&
              readiness(s, ctx.cfg, n, now).length === 0);
          if (p.met) line(p.node, "events check condition met");
        }
        if (p.met && (!spec.postCheck || spec.postCheck(s, n, now, p.pre))) {
          if (spec.postCheck) line(p.node, "post check passed");
          p.done = true;
        }
      }
    });
    if (pending.some((p) => !p.done)) store.sleepMs(Math.min(POLL_MS, Math.max(1, deadline - Date.now())));
  }
  if (failed) throw new Fail("");
}

module.exports = { serverVersions, clientVersionCheck, talosVersionCheck, track };
