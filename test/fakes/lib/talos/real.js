"use strict";
/**
 * End-to-end mode: FAKE_TALOSCTL_REAL names the real talosctl of the stack's minor; a fake called
 * as another minor's talosctl (bin/talosctl-v1.NN, as a stack names one talosctl per minor an
 * upgrade path passes through) uses the real talosctl-v1.NN beside it instead, so each call parses
 * with the real talosctl of the minor that runs it. Every argv is
 * first checked by the real binary's own parser (`<real> <argv...> --help` must exit 0 and its
 * first "Usage:" line must name the same command path: cobra prints the parent's help, exit 0,
 * for an unknown second-level subcommand); commands that contact no node then run the real binary
 * itself, output and exit code passed through; node-contacting ones are simulated.
 *
 * FAKE_TALOSCTL_PARSE_CACHE (a directory) remembers the argvs the real parser accepted, so that an
 * argv of the same shape is not parsed again by the same binary (each parse is a start of the real
 * binary, about 0.15 CPU-s; the e2e tier makes thousands of talosctl calls, most of them repeats).
 * The shape of an argv is the argv with each absolute path (an argument, or the value of
 * `--flag=`, made only of letters, digits, `.`, `_`, `-` and `/`, and starting with `/`) replaced by
 * one placeholder: pflag gives a string or string-slice flag's value to the command untouched, and
 * every other talosctl flag type (bool, int, duration, IP) refuses any text starting with `/`
 * whatever follows it, as do talosctl's own pflag.Value types in v1.10.5-v1.14.1 (cmd/talosctl:
 * reset's WipeMode, helpers.Mode and StringChoice are enums; cluster create's Agent is an enum, its
 * Disks and Virtiofs need a `:`); a positional argument is not checked under --help, and no
 * command name starts with `/`. So two argvs of one shape parse alike. Only acceptances are kept
 * (a refusal is parsed every time, so its message stays the real one); the key names the binary by
 * path, size and modification time, as the tools cache never rewrites a built binary in place.
 */
const { spawnSync } = require("child_process");
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const { Fail, UsageFail } = require("../runtime");
const client = require("./client");

const REAL_LOCAL = new Set([
  "gen secrets",
  "gen config",
  "gen ca",
  "gen key",
  "gen csr",
  "gen crt",
  "gen keypair",
  "validate",
  "config endpoint",
  "config node",
  "config merge",
  "config context",
  "config contexts",
  "config add",
  "config info",
]);

function realBinary() {
  const given = process.env.FAKE_TALOSCTL_REAL;
  if (!given) return null;
  const m = /^talosctl-v1\.(\d+)$/.exec(path.basename(given));
  const mine = client.client().minor;
  return m && +m[1] !== mine ? path.join(path.dirname(given), `talosctl-v1.${mine}`) : given;
}

function runReal(argv) {
  const r = spawnSync(realBinary(), argv, { encoding: "utf8", env: process.env, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Fail(`fake talosctl: cannot run FAKE_TALOSCTL_REAL=${realBinary()}: ${r.error.message}`, 3);
  return r;
}

/** The command path of a "Usage:" block's first line ("talosctl gen config <name> ... [flags]" -> "gen config"). */
function usagePath(helpText) {
  const lines = helpText.split("\n");
  const i = lines.findIndex((l) => l.trim() === "Usage:");
  if (i < 0 || i + 1 >= lines.length) return null;
  const words = lines[i + 1].trim().split(/\s+/);
  const path = [];
  for (const w of words.slice(1)) {
    if (/^[[<]/.test(w)) break;
    path.push(w);
  }
  return words[0] === "talosctl" ? path.join(" ") : null;
}

const PATH_LIKE = /^\/[A-Za-z0-9._/-]*$/;

/** An argv's shape: each absolute path in it (an argument or a `--flag=` value) replaced by "/…". */
function argvShape(argv) {
  return argv.map((a) => {
    if (PATH_LIKE.test(a)) return "/…";
    const m = /^(--[A-Za-z0-9-]+=)(.*)$/s.exec(a);
    return m && PATH_LIKE.test(m[2]) ? `${m[1]}/…` : a;
  });
}

/** The parse cache's file for this binary, argv shape and command path (null: no cache). */
function parseCacheFile(argv, commandPath) {
  const dir = process.env.FAKE_TALOSCTL_PARSE_CACHE;
  if (!dir) return null;
  const bin = realBinary();
  let st;
  try {
    st = fs.statSync(bin);
  } catch {
    return null; // runReal reports the missing binary
  }
  const key = JSON.stringify([bin, st.size, st.mtimeMs, argvShape(argv), commandPath]);
  return path.join(dir, crypto.createHash("sha256").update(key).digest("hex"));
}

/**
 * Throws UsageFail when the real parser rejects argv or resolves another command than
 * `commandPath` (with FAKE_TALOSCTL_PARSE_CACHE: unless an argv of its shape was accepted before).
 */
function checkWithRealParser(argv, commandPath) {
  const cached = parseCacheFile(argv, commandPath);
  if (cached && fs.existsSync(cached)) return;
  parseWithReal(argv, commandPath);
  if (cached) {
    fs.mkdirSync(path.dirname(cached), { recursive: true });
    const tmp = `${cached}.${process.pid}`;
    fs.writeFileSync(tmp, `${JSON.stringify({ shape: argvShape(argv), commandPath })}\n`);
    fs.renameSync(tmp, cached); // atomic: a reader sees the entry whole or not at all
  }
}

function parseWithReal(argv, commandPath) {
  const r = runReal([...argv, "--help"]);
  const text = `${r.stdout || ""}${r.stderr || ""}`;
  if (r.status !== 0) throw new UsageFail(text.trim());
  const got = usagePath(text);
  if (got !== commandPath)
    throw new UsageFail(
      `the real talosctl resolves this argv to "talosctl ${got}", not "talosctl ${commandPath}":\n${text.split("\n").slice(0, 4).join("\n")}`,
    );
}

/** Whether a command path (or `version --client`) runs on the real binary in e2e mode. */
const runsReal = (path, o) => REAL_LOCAL.has(path) || (path === "version" && o.bool("client"));

/** Run the real binary with the same argv; pass stdout, stderr and the exit code through. */
function passThrough(ctx) {
  const r = runReal(ctx.argv);
  if (r.stdout) ctx.out(r.stdout);
  if (r.stderr) ctx.err(r.stderr);
  if (r.status !== 0) throw new Fail("", r.status == null ? 1 : r.status);
}

module.exports = { realBinary, usagePath, argvShape, checkWithRealParser, runsReal, passThrough };
