"use strict";
/**
 * Shared runner of the fake executables: command latency, fault injection on the parsed argv,
 * real hangs, calls.log (with whether a fault was delivered and where a canary appeared),
 * usage-errors.log and exit codes. A tool's main(ctx) parses its argv, reports the parsed call
 * with ctx.setCall, writes through ctx.out/ctx.err and fails by throwing Fail, UsageFail or Hang.
 */
const store = require("./store");

class Fail extends Error {
  constructor(message, code) {
    super(message);
    this.exitCode = code == null ? 1 : code;
  }
}

/** A rejected argv (unknown flag or command, bad value): logged in usage-errors.log. */
class UsageFail extends Fail {}

/**
 * A real hang: the call blocks for `ms`, then fails with `message`. SIGTERM ends it early:
 * with `onSignal` (what the tool prints when its context is cancelled) and exit 1, or, without,
 * like a process killed by the signal.
 */
class Hang extends Error {
  constructor(ms, message, onSignal) {
    super(message);
    this.ms = ms;
    this.onSignal = onSignal || null;
  }
}

const asList = (v) => (v == null ? [] : Array.isArray(v) ? v : [v]);

/** Does a flag's parsed values satisfy the fault's wanted value (true = present/true, string = equal)? */
function flagMatches(values, want) {
  const vals = asList(values).map(String);
  const last = vals[vals.length - 1];
  if (want === true) return last === "true" || (last !== undefined && last !== "false");
  if (want === false) return last === undefined || last === "false";
  return asList(want).every((w) => vals.includes(String(w)));
}

/** Faults match the parsed call: {command, nodes, flags, args}; never a substring of the argv. */
function faultMatches(f, tool, call) {
  if (f.tool !== tool) return false;
  if (f.command != null && f.command !== call.command) return false;
  if (f.node != null && !(call.nodes || []).includes(f.node)) return false;
  for (const [name, want] of Object.entries(f.flags || {}))
    if (!flagMatches((call.flags || {})[name], want)) return false;
  for (const a of f.args || []) if (!(call.args || []).includes(a)) return false;
  return f.times == null || f.times > 0;
}

/** Take (reserve) the first matching fault: its `times` is decremented until we know it was delivered. */
function takeFault(dir, tool, call) {
  return store.withLock(dir, () => {
    const cfg = store.readConfig(dir);
    const bad = cfg.faults.find((f) => f.match != null);
    if (bad)
      throw new Fail(
        `fake ${tool}: fault ${JSON.stringify(bad)} uses "match" (an argv substring); match on command/node/flags/args instead`,
        3,
      );
    const index = cfg.faults.findIndex((f) => faultMatches(f, tool, call));
    if (index < 0) return null;
    const fault = Object.assign({}, cfg.faults[index]);
    cfg.faults[index].matched = (cfg.faults[index].matched || 0) + 1;
    if (cfg.faults[index].times != null) cfg.faults[index].times -= 1;
    store.writeConfig(dir, cfg);
    return { index, fault };
  });
}

/** Settle a taken fault: count it as fired when delivered, give its `times` back when not. */
function settleFault(dir, taken, delivered) {
  store.withLock(dir, () => {
    const cfg = store.readConfig(dir);
    const f = cfg.faults[taken.index];
    if (!f) return;
    if (delivered) f.fired = (f.fired || 0) + 1;
    else if (f.times != null) f.times += 1;
    store.writeConfig(dir, cfg);
  });
}

/** Where a canary string appears in this call: "env:NAME" and "argv[i]" (never the value). */
function canaryHits(canaries, argv, env) {
  const hits = [];
  if (!canaries.length) return hits;
  const has = (s) => typeof s === "string" && canaries.some((c) => s.includes(c));
  for (const [k, v] of Object.entries(env)) if (has(v)) hits.push(`env:${k}`);
  argv.forEach((a, i) => has(a) && hits.push(`argv[${i}]`));
  return hits;
}

/**
 * What one call runs against. As a process (bin/<tool>): its argv, environment and pid, its
 * stdout/stderr and exit code, its SIGTERM. Under the fake server (lib/server.js) the same, but
 * those of the native client that made the call (lib/worker.js).
 */
function processIo() {
  return {
    argv: process.argv.slice(2),
    env: process.env,
    pid: process.pid,
    /** The call's output and status, written once at its end (a fake buffers both until then). */
    finish(out, err, code) {
      if (out) process.stdout.write(out);
      if (err) process.stderr.write(err);
      process.exitCode = code;
    },
    /** A real hang's SIGTERM handler. */
    onTerm(handler) {
      process.once("SIGTERM", handler);
    },
    /** After finish: end as a process the signal ended (no handler's message). */
    exitKilled(code) {
      process.exit(code);
    },
  };
}

/**
 * Run a fake: as this process's call, or, when a fake server's worker loads the fake
 * (globalThis.__homeopsFakeHost, lib/worker.js), register it to run once per call the worker is
 * given. opts.println: the tool prints every error with a newline added even when it ends with
 * one (talosctl: fmt.Fprintln(os.Stderr, err.Error()) in cmd/talosctl/cmd/root.go).
 */
function run(tool, main, opts) {
  const host = globalThis.__homeopsFakeHost;
  if (host) return host.register(tool, (io) => runOnce(tool, main, opts, io));
  return runOnce(tool, main, opts, processIo());
}

function runOnce(tool, main, opts, io) {
  const line = (m) => (m.endsWith("\n") && !(opts && opts.println) ? m : m + "\n");
  const argv = io.argv;
  const t = Date.now();
  const out = [];
  const err = [];
  let taken = null;
  let delivered = false;
  const ctx = {
    tool,
    argv,
    dir: null,
    cfg: null,
    call: null,
    out: (s) => out.push(s),
    err: (s) => err.push(s),
    /** Set by a "drop" fault: the effect happens, then the client sees this error. */
    drop: null,
    /** Set by a "never" fault (kubectl: conditions never become true); the tool sets neverDelivered. */
    never: false,
    neverDelivered: false,
    setCall(call) {
      ctx.call = call;
    },
    /**
     * Apply the first fault matching ctx.call. `messages`: {unreachable(node), timeout, drop}.
     * Throws for exit/unreachable/timeout; records drop/never for the tool.
     */
    applyFaults(messages) {
      taken = takeFault(ctx.dir, tool, ctx.call || {});
      if (!taken) return;
      const f = taken.fault;
      switch (f.kind) {
        case "exit":
          delivered = true;
          throw new Fail(f.message || messages.exit || `${tool}: injected failure (fake fault "exit")`);
        case "unreachable":
          delivered = true;
          throw new Fail(messages.unreachable(f.node || (ctx.call.nodes || [])[0] || ""));
        case "timeout":
          delivered = true;
          throw new Hang(f.hangMs == null ? 3600000 : f.hangMs, messages.timeout, messages.cancelled);
        case "drop":
          ctx.drop = messages.drop;
          return;
        case "never":
          ctx.never = true;
          return;
        default:
          throw new Fail(`fake ${tool}: unknown fault kind ${JSON.stringify(f.kind)} in config.json`, 3);
      }
    },
  };
  let exit = 0;
  let usage = false;
  let hang = null;
  try {
    ctx.dir = store.requireDir();
    ctx.cfg = store.readConfig(ctx.dir);
    store.sleepMs(ctx.cfg.delaysMs.command || 0);
    main(ctx);
    if (ctx.drop) {
      out.length = 0;
      err.length = 0;
      delivered = true;
      throw new Fail(ctx.drop);
    }
    if (ctx.never) delivered = ctx.neverDelivered;
  } catch (e) {
    if (ctx.never) delivered = ctx.neverDelivered;
    if (e instanceof Hang) hang = e;
    else if (e instanceof Fail) {
      exit = e.exitCode;
      usage = e instanceof UsageFail;
      if (e.message) err.push(line(e.message));
    } else {
      exit = 70;
      err.push(`fake ${tool}: internal error: ${e && e.stack ? e.stack : e}\n`);
    }
  }
  const finish = (code, extra) => {
    if (ctx.dir) {
      try {
        if (taken) settleFault(ctx.dir, taken, delivered);
        const rec = { tool, argv, exit: code, t, ms: Date.now() - t };
        if (ctx.call && ctx.call.command) rec.command = ctx.call.command;
        if (ctx.call && ctx.call.client) rec.client = ctx.call.client;
        if (taken) rec.fault = { kind: taken.fault.kind, index: taken.index, delivered };
        if (usage) rec.usageError = true;
        const hits = canaryHits(ctx.cfg ? ctx.cfg.canaries : [], argv, io.env);
        if (hits.length) rec.canaryHits = hits;
        Object.assign(rec, extra || {});
        store.appendCall(ctx.dir, rec);
        if (usage) store.appendUsageError(ctx.dir, { tool, argv, message: err.join("").trim(), t });
      } catch (_) {
        /* logging must not change the outcome */
      }
    }
    io.finish(out.join(""), err.join(""), code);
  };
  if (!hang) return finish(exit);
  // A real hang: keep the process alive until the time is up or a signal ends it. Once the
  // signal handler is in place the fake says so in hanging/<pid> (store.markHanging): a test that
  // ends the call itself waits for that instead of guessing how long a start takes.
  const timer = setTimeout(() => {
    store.unmarkHanging(ctx.dir, io.pid);
    err.push(line(hang.message));
    finish(1);
  }, hang.ms);
  io.onTerm(() => {
    clearTimeout(timer);
    store.unmarkHanging(ctx.dir, io.pid);
    if (hang.onSignal) {
      err.push(line(hang.onSignal));
      finish(1, { killed: "SIGTERM" });
    } else {
      finish(143, { killed: "SIGTERM" });
      io.exitKilled(143);
    }
  });
  store.markHanging(ctx.dir, io.pid);
}

/** Parse a Go duration ("30s", "5m", "1m30s", "250ms", "2h") to milliseconds; NaN if invalid. */
function parseDuration(s) {
  if (typeof s !== "string" || s === "") return NaN;
  if (s === "0") return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  const unit = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) return NaN;
    total += parseFloat(m[1]) * unit[m[2]];
    pos = re.lastIndex;
  }
  return total;
}

module.exports = { run, Fail, UsageFail, Hang, parseDuration, faultMatches, canaryHits };
