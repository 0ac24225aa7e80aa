"use strict";
/**
 * Shared runner of the fake executables: command latency, fault injection, calls.log, exit codes.
 * A tool's main(ctx) writes through ctx.out/ctx.err and fails by throwing ctx.fail(...).
 */
const state = require("./state");

class Fail extends Error {
  constructor(message, code) {
    super(message);
    this.exitCode = code == null ? 1 : code;
  }
}

/** The first matching fault (decrementing its `times` persistently), or null. */
function takeFault(dir, tool, argv, nodes) {
  const joined = argv.join(" ");
  return state.withLock(dir, () => {
    const cfg = state.readConfig(dir);
    const idx = cfg.faults.findIndex(
      (f) =>
        f.tool === tool &&
        (f.match == null || joined.includes(f.match)) &&
        (f.node == null || (nodes || []).includes(f.node)) &&
        (f.times == null || f.times > 0),
    );
    if (idx < 0) return null;
    const fault = Object.assign({}, cfg.faults[idx]);
    if (cfg.faults[idx].times != null) {
      cfg.faults[idx].times -= 1;
      cfg.faults[idx].fired = (cfg.faults[idx].fired || 0) + 1;
      state.writeConfig(dir, cfg);
    } else {
      cfg.faults[idx].fired = (cfg.faults[idx].fired || 0) + 1;
      state.writeConfig(dir, cfg);
    }
    return fault;
  });
}

function run(tool, main) {
  const argv = process.argv.slice(2);
  const t = Date.now();
  const out = [];
  const err = [];
  let exit = 0;
  let dir = null;
  const ctx = {
    tool,
    argv,
    dir: null,
    cfg: null,
    out: (s) => out.push(s),
    err: (s) => err.push(s),
    fail: (msg, code) => new Fail(msg, code),
    /** Set by applyFaults when a "drop" fault fired: effects happen, then the client errors. */
    drop: null,
    /** Set by applyFaults when a "never" fault fired (kubectl conditions never become true). */
    never: false,
    faultsFired: [],
    /**
     * Evaluate faults for this invocation. `messages` maps kinds to tool-specific stderr texts.
     * Throws for exit/unreachable/timeout; records drop/never for the caller.
     */
    applyFaults(nodes, messages) {
      const f = takeFault(ctx.dir, tool, argv, nodes);
      if (!f) return;
      ctx.faultsFired.push(f.kind);
      const node = f.node || (nodes && nodes[0]) || "";
      switch (f.kind) {
        case "exit":
          throw new Fail(
            f.message ||
              messages.exit ||
              `${tool}: injected failure (fake fault "exit", match ${JSON.stringify(f.match)})`,
          );
        case "unreachable":
          throw new Fail(messages.unreachable(node));
        case "timeout":
          state.sleepMs(f.hangMs == null ? 200 : f.hangMs);
          throw new Fail(messages.timeout || "error: context deadline exceeded");
        case "drop":
          ctx.drop = messages.drop || "error: rpc error: code = Unavailable desc = error reading from server: EOF";
          return;
        case "never":
          ctx.never = true;
          return;
        default:
          throw new Fail(`fake ${tool}: unknown fault kind ${JSON.stringify(f.kind)} in config.json`, 3);
      }
    },
  };
  try {
    dir = state.requireDir();
    ctx.dir = dir;
    ctx.cfg = state.readConfig(dir);
    state.sleepMs(ctx.cfg.delaysMs.command || 0);
    main(ctx);
    if (ctx.drop) {
      out.length = 0;
      throw new Fail(ctx.drop);
    }
  } catch (e) {
    if (e instanceof Fail) {
      exit = e.exitCode;
      if (e.message) err.push(e.message.endsWith("\n") ? e.message : e.message + "\n");
    } else {
      exit = 70;
      err.push(`fake ${tool}: internal error: ${e && e.stack ? e.stack : e}\n`);
    }
  }
  if (dir) {
    try {
      const rec = { tool, argv, exit, t, ms: Date.now() - t };
      if (ctx.faultsFired.length) rec.faults = ctx.faultsFired;
      state.appendCall(dir, rec);
    } catch (_) {
      /* logging must not change the outcome */
    }
  }
  if (out.length) process.stdout.write(out.join(""));
  if (err.length) process.stderr.write(err.join(""));
  process.exitCode = exit;
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

module.exports = { run, Fail, parseDuration, takeFault };
