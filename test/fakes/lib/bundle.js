"use strict";
/**
 * The fakes as one file each, for test runs (test/setup.ts sets FAKE_BUNDLE_DIR to this
 * directory; bin/<tool> loads <dir>/<tool>.js when it is set, else lib/main/<tool>.js).
 *
 * Why: a suite makes thousands of fake calls, each a fresh Node.js process. Loaded module by
 * module, a `talosctl version --client` cost 0.23 CPU-s where `node -e 0` costs 0.05 (perf stat,
 * idle, 2026-12-07): the rest went to resolving and reading ~100 module files (the fakes and the
 * `yaml` package) and to parsing the CLI reference of all five minors. The bundle is the same code
 * (esbuild, CommonJS, nothing minified or transformed beyond joining the modules); the CLI
 * reference is also written here split per minor (cli/<minor>.json), which lib/cli.js reads
 * instead of the whole file.
 *
 * The directory is named by a hash of everything it is built from (this directory's files, the
 * CLI reference, the yaml and esbuild versions, Node's version), under the OS temp dir: a second
 * run, or a second mocha process, reuses it; a changed source gets a new one.
 */
const crypto = require("crypto");
const fs = require("fs");
const os = require("os");
const path = require("path");

const LIB_DIR = __dirname;
const TOOLS = ["talosctl", "kubectl", "op", "curl"];

function listFiles(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p));
    else if (e.isFile()) out.push(p);
  }
  return out.sort();
}

function packageVersion(name) {
  return JSON.parse(fs.readFileSync(require.resolve(`${name}/package.json`), "utf8")).version;
}

function bundleKey(cliReference) {
  const h = crypto.createHash("sha256");
  h.update(`node ${process.version} yaml ${packageVersion("yaml")} esbuild ${packageVersion("esbuild")}\n`);
  for (const f of listFiles(LIB_DIR)) h.update(`${path.relative(LIB_DIR, f)}\n`).update(fs.readFileSync(f));
  h.update(cliReference);
  return h.digest("hex").slice(0, 16);
}

const minorOf = (v) => {
  const m = /^v?(\d+)\.(\d+)/.exec(v || "");
  return m ? `${m[1]}.${m[2]}` : null;
};

function build(dest, cliReference) {
  const esbuild = require("esbuild");
  const result = esbuild.buildSync({
    entryPoints: TOOLS.map((t) => path.join(LIB_DIR, "main", `${t}.js`)),
    outdir: dest,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: `node${process.versions.node.split(".")[0]}`,
    // The only __dirname in the fakes is lib/'s own (cli.js, state.js); the check below keeps it so.
    define: { __dirname: JSON.stringify(LIB_DIR) },
    // lib/bundle.js itself is reached through state.js (bin/op): its esbuild is never called there
    external: ["esbuild"],
    metafile: true,
    logLevel: "silent",
  });
  for (const input of Object.keys(result.metafile.inputs)) {
    const file = path.resolve(input);
    if (path.dirname(file) !== LIB_DIR && /\b__dirname\b/.test(fs.readFileSync(file, "utf8")))
      throw new Error(`fakes bundle: ${input} uses __dirname outside ${LIB_DIR}: it cannot be bundled as it is`);
  }
  const ref = JSON.parse(cliReference);
  const byMinor = {};
  for (const [key, spec] of Object.entries(ref.versions)) {
    const minor = minorOf(key);
    byMinor[minor] = byMinor[minor] || { versions: {} };
    byMinor[minor].versions[key] = spec;
  }
  fs.mkdirSync(path.join(dest, "cli"));
  for (const [minor, slice] of Object.entries(byMinor))
    fs.writeFileSync(path.join(dest, "cli", `${minor}.json`), JSON.stringify(slice));
}

let cached;

/** Builds the bundle unless it exists; returns its directory. */
function ensureBundle() {
  if (cached) return cached;
  const cliReference = fs.readFileSync(require("./cli").cliReferencePath());
  const dir = path.join(os.tmpdir(), `homeops-fakes-${bundleKey(cliReference)}`);
  if (!fs.existsSync(path.join(dir, "talosctl.js"))) {
    const tmp = fs.mkdtempSync(`${dir}.tmp-`);
    try {
      build(tmp, cliReference);
      try {
        fs.renameSync(tmp, dir);
      } catch (e) {
        // another process built it first: theirs is the same
        if (!fs.existsSync(path.join(dir, "talosctl.js"))) throw e;
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  cached = dir;
  return dir;
}

module.exports = { ensureBundle, TOOLS };
