"use strict";
/**
 * The fake server (test fixture): runs the fakes' calls in long-lived Node.js processes instead of
 * one new process per call. A test run (test/helpers/processEnv.ts) starts it once, with its
 * socket and the directory of native-client links (bin/ of the server's directory: talosctl,
 * talosctl-v1.NN, kubectl, op, curl, all the client built from test/e2e/tools/fake-client), and
 * puts that directory first on the PATH of what it runs (state.js binDir). Why: a suite makes
 * thousands of fake calls, and each Node.js start costs more CPU than most calls' work.
 *
 *   node server.js <socket> <client binary>
 *
 * Protocol, one connection per call, lines of JSON: the client sends {argv0, args, env, cwd,
 * pid, umask}, then {signal} for each signal it gets; the server answers once {stdout, stderr (base64),
 * code} or {signal} (the call died of it). A call runs in an idle worker (worker.js), or in one
 * started for it: calls never wait for each other, as the fakes' processes never did. A signal
 * goes to the worker as a real signal; the client's connection closing before the answer (the
 * client was killed) kills the worker, as the kill ended the fake's process. A worker that dies
 * is not reused. The server ends when the process that started it does (its IPC channel).
 */
const { execFileSync, fork, spawn } = require("child_process");
const fs = require("fs");
const net = require("net");
const os = require("os");
const path = require("path");

/** The names the client stands for: every launcher in bin/ (talosctl, talosctl-v1.NN, kubectl, op, curl). */
const TOOL_NAMES = fs.readdirSync(path.join(__dirname, "..", "bin"));
/** Idle workers kept ready: a script's calls to three nodes at once start none. */
const SPARE = 3;
/**
 * An idle worker beyond the spares leaves once idle this long. Not sooner: calls come in bursts
 * (the fault matrix's cells, three nodes each), and a worker ended between two bursts is one
 * started again for the next (each start loads the bundles: about 0.1 CPU-s).
 */
const IDLE_MS = 60000;

const idle = [];
const all = new Set();
let nextId = 1;

function startWorker() {
  const w = fork(path.join(__dirname, "worker.js"), [], {
    serialization: "advanced",
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  w.current = null;
  w.idleSince = Date.now();
  all.add(w);
  w.on("message", (m) => {
    if (!m || m.type !== "done" || !w.current || w.current.id !== m.id) return;
    const c = w.current;
    w.current = null;
    c.answer({
      stdout: Buffer.from(m.out).toString("base64"),
      stderr: Buffer.from(m.err).toString("base64"),
      code: m.code,
    });
    w.idleSince = Date.now();
    idle.push(w);
  });
  w.on("exit", (code, signal) => {
    all.delete(w);
    const i = idle.indexOf(w);
    if (i >= 0) idle.splice(i, 1);
    const c = w.current;
    w.current = null;
    if (!c) return;
    if (signal) c.answer({ signal });
    else
      c.answer({
        stdout: "",
        stderr: Buffer.from(`fake server: the worker running this call exited with status ${code}\n`).toString(
          "base64",
        ),
        code: code || 1,
      });
  });
  return w;
}

function take() {
  const w = idle.pop() || startWorker();
  while (idle.length < SPARE) idle.unshift(startWorker());
  return w;
}

function serve(sock) {
  let buf = "";
  let call = null;
  const answer = (r) => {
    if (call) call.answered = true;
    sock.end(JSON.stringify(r) + "\n");
  };
  sock.setEncoding("utf8");
  sock.on("data", (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      let msg;
      try {
        msg = JSON.parse(buf.slice(0, nl));
      } catch (e) {
        const err = `fake server: not a call: ${e.message}\n`;
        return answer({ stdout: "", stderr: Buffer.from(err).toString("base64"), code: 70 });
      }
      buf = buf.slice(nl + 1);
      if (msg.signal) {
        if (call && !call.answered) call.worker.kill(msg.signal);
      } else if (!call) {
        const env = {};
        for (const kv of msg.env) {
          const eq = kv.indexOf("=");
          if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
        }
        const worker = take();
        call = { id: nextId++, worker, answered: false, answer };
        worker.current = call;
        worker.send({
          type: "call",
          id: call.id,
          req: { argv0: msg.argv0, args: msg.args, env, cwd: msg.cwd, pid: msg.pid, umask: msg.umask },
        });
      }
    }
  });
  sock.on("error", () => {});
  sock.on("close", () => {
    // The client was killed before its answer: so is the call.
    if (call && !call.answered) call.worker.kill("SIGKILL");
  });
}

/**
 * Tells start() the server listens: the `ready` file, holding the client's directory, appears
 * whole or not at all (written beside it, then renamed): start() polls for it, and a file it saw
 * created but not yet written gave it an empty directory (a CI run of ab4f809 failed so).
 */
function announce(dir, bin) {
  const tmp = path.join(dir, `ready.${process.pid}.tmp`);
  fs.writeFileSync(tmp, bin);
  fs.renameSync(tmp, path.join(dir, "ready"));
}

function main() {
  const [socket, client] = process.argv.slice(2);
  const bin = path.join(path.dirname(socket), "bin");
  fs.mkdirSync(bin, { recursive: true });
  for (const name of TOOL_NAMES) fs.symlinkSync(client, path.join(bin, name));
  for (let i = 0; i < SPARE; i++) idle.push(startWorker());
  // idle is oldest first: the spares kept are the most recently used.
  setInterval(() => {
    while (idle.length > SPARE && Date.now() - idle[0].idleSince > IDLE_MS) idle.shift().disconnect();
  }, IDLE_MS / 4).unref();
  const server = net.createServer(serve);
  server.listen(socket, () => announce(path.dirname(socket), bin));
  process.on("disconnect", () => {
    // Idle workers leave on their own (worker.js); one still in a call is killed, as its call's
    // process would be with the test run.
    for (const w of all)
      if (w.current) w.kill("SIGKILL");
      else w.disconnect();
    server.close();
    fs.rmSync(path.dirname(socket), { recursive: true, force: true });
    process.exit(0);
  });
}

/** Is process `pid` gone (or a zombie: ended, not yet reaped by its parent)? */
function gone(pid) {
  try {
    return / Z /.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\)/, ""));
  } catch {
    return true;
  }
}

/**
 * Start the fake server for this process and wait until it listens: {socket, bin} for the
 * environment (FAKE_SERVER_SOCKET, and bin first on PATH), or null, with the reason on stderr,
 * when it cannot run (the fakes then run as processes, as without it). The native client is built
 * by the tools' build (test/e2e/tools/build.sh fake-client: Go, cached by content). The server
 * ends when this process does. Synchronous: the environment is set before the first test loads.
 */
function start() {
  let client;
  try {
    const repo = path.resolve(__dirname, "..", "..", "..");
    const dir = execFileSync("bash", [path.join(repo, "test/e2e/tools/build.sh"), "fake-client"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    }).trim();
    client = fs.realpathSync(path.join(dir, "fake-client"));
  } catch (e) {
    process.stderr.write(
      `fake server: the native client could not be built (${e.message}): the fakes run as processes\n`,
    );
    return null;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homeops-fake-server-"));
  const socket = path.join(dir, "socket");
  const child = spawn(process.execPath, [__filename, socket, client], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  child.unref();
  child.channel.unref();
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const ready = path.join(dir, "ready");
  while (!fs.existsSync(ready)) {
    if (gone(child.pid)) {
      process.stderr.write(`fake server: it ended as it started: the fakes run as processes\n`);
      return null;
    }
    Atomics.wait(cell, 0, 0, 5);
  }
  return { socket, bin: fs.readFileSync(ready, "utf8") };
}

module.exports = { start, announce };

if (require.main === module) main();
