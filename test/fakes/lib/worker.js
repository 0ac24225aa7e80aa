"use strict";
/**
 * A worker of the fake server (server.js): a Node.js process with the fakes loaded once (the
 * one-file bundle of each tool, or lib/main/<tool>.js without $FAKE_BUNDLE_DIR) that runs the calls
 * the server gives it, one at a time, each as the fake's own process would run it: the caller's
 * argv, environment, working directory and umask; the caller's pid where a fake names its process
 * (hanging/<pid>, store.markHanging); the output and status sent back for the caller to write. A
 * call's SIGTERM comes to this process as a real signal (server.js): a fake in a real hang has its
 * handler installed, as a fake process does; any other call dies of it with this process.
 *
 * Nothing of one call reaches the next: a fake keeps no state in its modules beyond counters that
 * make names unique (store.js) and talosctl's client and CLI reference, which each call sets
 * anew (main/talosctl.js: client.init, client.setSpec).
 */
const path = require("path");

const TOOLS = ["talosctl", "kubectl", "op", "curl"];
const runners = {};
globalThis.__homeopsFakeHost = {
  register(tool, runner) {
    runners[tool] = runner;
  },
};
const bundle = process.env.FAKE_BUNDLE_DIR;
for (const tool of TOOLS) require(bundle ? path.join(bundle, `${tool}.js`) : `./main/${tool}.js`);
delete globalThis.__homeopsFakeHost;

/** `talosctl-v1.12` is talosctl (run under that name: lib/talos/versions.js reads argv[1]). */
const toolOf = (argv0) => {
  const name = path.basename(argv0);
  return /^talosctl(-v1\.\d+)?$/.test(name) ? "talosctl" : name;
};

function call(id, req) {
  let sent = false;
  let term = null;
  const send = (out, err, code) => {
    if (sent) return;
    sent = true;
    if (term) process.removeListener("SIGTERM", term);
    process.send({ type: "done", id, out, err, code });
  };
  const runner = runners[toolOf(req.argv0)];
  if (!runner) return send("", `fake server: no fake named ${path.basename(req.argv0)}\n`, 70);
  try {
    process.chdir(req.cwd);
  } catch (e) {
    return send("", `fake server: working directory ${req.cwd}: ${e.message}\n`, 70);
  }
  // The caller's umask: the modes of what the call creates (a directory made on the way to an
  // output file; the real talosctl's files in e2e mode) follow it, as they would in its process.
  if (typeof req.umask === "number") process.umask(req.umask);
  for (const k of Object.keys(process.env)) delete process.env[k];
  Object.assign(process.env, req.env);
  process.argv = [process.execPath, req.argv0, ...req.args];
  const io = {
    argv: req.args,
    env: process.env,
    pid: req.pid,
    finish: send,
    onTerm(handler) {
      term = handler;
      process.once("SIGTERM", handler);
    },
    exitKilled() {
      /* the status (143) went with finish; the worker lives on */
    },
  };
  try {
    runner(io);
  } catch (e) {
    send("", `fake server: internal error: ${e && e.stack ? e.stack : e}\n`, 70);
  }
}

process.on("message", (m) => {
  if (m && m.type === "call") call(m.id, m.req);
});
// The server went: so does its worker.
process.on("disconnect", () => process.exit(0));
