"use strict";
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS: it runs before any TypeScript loader */
/**
 * The program's entry as `pulumi up`, `preview` and `destroy` load it (package.json "main"):
 * Pulumi.yaml sets `typescript: false`, so @pulumi/pulumi's cmd/run requires this file as it is and
 * never registers ts-node (cmd/run/run.js of @pulumi/pulumi 3.248.0: ts-node only when
 * PULUMI_NODEJS_TYPESCRIPT is "true", which the Node.js language host sets from that option).
 *
 * It loads the program (index.ts and every module it imports, the Pulumi SDKs excepted) as one
 * CommonJS bundle, which esbuild builds into .homeops/build/ (git-ignored) and builds again only when
 * a file it was built from changed: the record beside it holds the size, inode and modification
 * and change times of every input (esbuild's metafile), of this file, tsconfig.json and esbuild's package.json, and
 * one stat of each (about 300) tells whether the bundle is current. An input changed while the
 * bundle was being built (or in the second before) leaves nothing recorded, so the next run builds
 * again. Where the build
 * cannot be written (a read-only checkout), the bundle runs from memory.
 *
 * Why: ts-node loaded index.ts in 2.3-2.6 s on every run even without its type-check (the 2-core
 * machine), and the modules one by one (about 250, zod and yaml most of them) cost the language
 * host more CPU than one bundle does. The type-check stays with `npm run build`.
 *
 * The @pulumi/* and @1password/* packages stay outside the bundle: the program shares the SDK's
 * module state (settings, the stack resource, the monitor connection) with the language host that
 * loaded it, so they must be the very modules in node_modules.
 */
const fs = require("fs");
const path = require("path");
const Module = require("module");

const ROOT = __dirname;
const BUILD_DIR = path.join(ROOT, ".homeops", "build");
const RECORD = path.join(BUILD_DIR, "program.json");
/** Files that shape the bundle besides its inputs (relative to ROOT). */
const ALSO = ["program.js", "tsconfig.json", "node_modules/esbuild/package.json"];
const FORMAT = 1;

/**
 * What git's index compares to tell a file changed without reading it: size, inode, and the
 * modification and change times (ns). A restored or copied file keeps its mtime with `cp -p` or
 * `rsync -a`, but its ctime is new; the ctime comes last (`changedSince` reads it).
 */
function stamp(file) {
  const s = fs.statSync(path.resolve(ROOT, file), { bigint: true });
  return `${s.size}:${s.ino}:${s.mtimeNs}:${s.ctimeNs}`;
}

function changedSince(stamped, ns) {
  return BigInt(stamped.slice(stamped.lastIndexOf(":") + 1)) >= ns;
}

/** The recorded bundle when every file it was built from is as it was then; else undefined. */
function currentBundle() {
  let record;
  try {
    record = JSON.parse(fs.readFileSync(RECORD, "utf8"));
  } catch {
    return undefined;
  }
  if (record.format !== FORMAT || !Array.isArray(record.inputs) || typeof record.bundle !== "string") return undefined;
  for (const [file, was] of record.inputs) {
    try {
      if (stamp(file) !== was) return undefined;
    } catch {
      return undefined; // gone
    }
  }
  return path.join(BUILD_DIR, path.basename(record.bundle));
}

function buildOptions() {
  return {
    absWorkingDir: ROOT,
    entryPoints: ["index.ts"],
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    tsconfig: path.join(ROOT, "tsconfig.json"),
    external: ["@pulumi/*", "@1password/*"],
    outdir: BUILD_DIR,
    entryNames: "program-[hash]",
    // Stack traces name the .ts lines (cmd/run registers source-map-support, which reads the map
    // when a stack is formatted); the sources themselves stay out of the map.
    sourcemap: "linked",
    sourcesContent: false,
    metafile: true,
    write: false,
    logLevel: "silent",
  };
}

/** Writes a file whole or not at all (a concurrent run reads the old one or the new one). */
function writeAtomic(file, contents) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, contents);
  fs.renameSync(tmp, file);
}

/** Builds the bundle; records it when its inputs held still; returns the program's exports. */
function build() {
  let esbuild;
  try {
    esbuild = require("esbuild");
  } catch (e) {
    throw new Error(`the program is bundled by esbuild, which did not load (${e.message}): run npm ci`);
  }
  // A second's margin: file times come from the kernel's coarse clock, which lags a few ms.
  const started = (BigInt(Date.now()) - 1000n) * 1000000n;
  let result;
  try {
    result = esbuild.buildSync(buildOptions());
  } catch (e) {
    const errors = (e.errors ?? []).map((m) =>
      m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ${m.text}` : m.text,
    );
    throw new Error(`the program does not build:\n${errors.length ? errors.join("\n") : e.message}`);
  }
  const js = result.outputFiles.find((f) => f.path.endsWith(".js"));
  const inputs = [...Object.keys(result.metafile.inputs), ...ALSO];
  let stamps;
  try {
    stamps = inputs.map((file) => [file, stamp(file)]);
  } catch {
    stamps = undefined; // an input went away during the build
  }
  // An input modified since the build started may or may not be in the bundle: record nothing.
  const stable = stamps && !stamps.some(([, s]) => changedSince(s, started));
  let written = false;
  if (stable) {
    try {
      fs.mkdirSync(BUILD_DIR, { recursive: true });
      for (const f of result.outputFiles) writeAtomic(f.path, f.contents);
      writeAtomic(RECORD, `${JSON.stringify({ format: FORMAT, bundle: path.basename(js.path), inputs: stamps })}\n`);
      written = true;
      for (const old of fs.readdirSync(BUILD_DIR)) {
        if (/^program-.*\.js(\.map)?$/.test(old) && !result.outputFiles.some((f) => path.basename(f.path) === old))
          fs.rmSync(path.join(BUILD_DIR, old), { force: true });
      }
    } catch {
      // not writable (a read-only checkout): run it from memory below
    }
  }
  if (written) {
    try {
      return require(js.path);
    } catch (e) {
      // A concurrent build of other inputs removed it as stale: run this one from memory.
      if (!(e.code === "MODULE_NOT_FOUND" && String(e.message).includes(js.path))) throw e;
    }
  }
  const m = new Module(js.path, module);
  m.filename = js.path;
  m.paths = Module._nodeModulePaths(ROOT);
  m._compile(js.text, js.path);
  return m.exports;
}

function load() {
  const bundle = currentBundle();
  if (bundle) {
    try {
      return require(bundle);
    } catch (e) {
      // Removed by a concurrent build between the record's read and this require: build again.
      if (!(e.code === "MODULE_NOT_FOUND" && String(e.message).includes(bundle))) throw e;
    }
  }
  return build();
}

module.exports = load();
