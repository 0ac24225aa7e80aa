"use strict";
// FAKE talosctl (test fixture): parses argv against the talosctl CLI reference of its own minor
// (the world's talosVersion, or the minor in the name it was called by: bin/talosctl-v1.NN; in
// end-to-end mode also against that minor's real binary), then runs local commands itself (or
// with the real binary) and simulates node-contacting ones against the nodes kept in
// $FAKE_STATE_DIR, each node answering as the Talos version it runs. The behaviour lives in
// ../talos/*.js, each citing the Talos source.
const { run, Fail, UsageFail } = require("../runtime");
const { loadSpec, parseArgs, UsageError } = require("../cli");
const E = require("../talos/errors");
const client = require("../talos/client");
const local = require("../talos/local");
const remote = require("../talos/remote");
const etcd = require("../talos/etcd");
const reset = require("../talos/reset");
const lifecycle = require("../talos/lifecycle");
const k8sUpgrade = require("../talos/k8supgrade");
const { applyConfig } = require("../talos/apply");
const { health } = require("../talos/health");
const real = require("../talos/real");

const HANDLERS = Object.assign(
  {},
  local.handlers,
  remote.handlers,
  etcd.handlers,
  reset.handlers,
  lifecycle.handlers,
  k8sUpgrade.handlers,
  { "apply-config": applyConfig, health },
);
const LOCAL = new Set(Object.keys(local.handlers));

run(
  "talosctl",
  (ctx) => {
    const me = client.init(ctx.cfg);
    const spec = loadSpec(me.version);
    client.setSpec(spec);
    let parsed;
    let usage = null;
    try {
      parsed = parseArgs(spec, ctx.argv);
    } catch (e) {
      if (!(e instanceof UsageError)) throw new Fail(e.message, 3);
      usage = e;
    }
    if (real.realBinary()) {
      real.checkWithRealParser(ctx.argv, parsed ? parsed.path : null);
      if (usage)
        throw new Fail(`fake talosctl: the CLI reference rejects what the real talosctl accepts: ${usage.message}`, 3);
    }
    if (usage) throw new UsageFail(`${usage.message}\n\nUsage:\n  talosctl ${usage.path || "[command]"} [flags]`);
    const o = local.options(parsed);
    const isLocal = LOCAL.has(parsed.path) || (parsed.path === "version" && o.bool("client"));
    ctx.setCall({
      command: parsed.path,
      nodes: isLocal ? [] : o.all("nodes"),
      flags: parsed.flags,
      args: parsed.positional,
      client: me.version,
    });
    if (parsed.help) return ctx.out(`Usage:\n  talosctl ${parsed.path} [flags]\n`);
    const warnings = client.deprecationWarnings(parsed.path, ctx.argv);
    if (warnings) ctx.err(warnings);
    const prefix = client.prefix(parsed.path, o.all("nodes")[0] || "");
    ctx.applyFaults({
      unreachable: (n) => prefix + E.refused(n || "127.0.0.1"),
      timeout: prefix + E.DEADLINE,
      cancelled: E.cancelled(prefix),
      drop: prefix + E.EOF,
    });
    if (real.realBinary() && real.runsReal(parsed.path, o)) return real.passThrough(ctx);
    const handler = HANDLERS[parsed.path];
    if (!handler) throw new Fail(`fake talosctl: not simulated: ${parsed.path}`, 3);
    handler(ctx, o, parsed.positional);
  },
  { println: true },
);
