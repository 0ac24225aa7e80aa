/**
 * How `pulumi up` loads the program. The Node.js language host runs @pulumi/pulumi's cmd/run, which
 * registers ts-node only when PULUMI_NODEJS_TYPESCRIPT is "true" (cmd/run/run.js of @pulumi/pulumi
 * 3.248.0), which the host sets from Pulumi.yaml's `typescript` option; with no `main` in
 * Pulumi.yaml it requires package.json's "main". So `pulumi up` requires program.js with plain
 * Node.js, and program.js loads index.ts as one esbuild bundle it keeps in .homeops/build and
 * builds again when a file it was built from changes. These tests load it that way: the
 * repository's own entry, and a scratch project (program.js beside a small index.ts) for what
 * the bundle's record does.
 */
import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as ts from "typescript";
import { parse } from "yaml";
import { REPO_ROOT } from "./helpers/paths";
import { DEP, PROBE } from "./helpers/transpileProbe";
import { T } from "./fakes/testkit";

/** Requires `entry` as cmd/run does (no TypeScript loader), prints what it exports and what loaded. */
const LOADER = `
const loaded = require(require("path").resolve(process.argv[1]));
const modules = Object.keys(require.cache);
process.stdout.write(JSON.stringify({
  exported: typeof loaded === "function" ? "function" : loaded,
  esbuild: modules.some((m) => m.includes("/node_modules/esbuild/")),
  tsNode: modules.filter((m) => m.includes("/node_modules/ts-node/")),
  tsHook: typeof require.extensions[".ts"],
}));
`;

interface Loaded {
  status: number | null;
  stderr: string;
  exported?: unknown;
  esbuild?: boolean;
  tsNode?: string[];
  tsHook?: string;
}

function parseLoad(status: number | null, stdout: string, stderr: string): Loaded {
  return status === 0 ? { status, stderr, ...JSON.parse(stdout) } : { status, stderr };
}

function load(entry: string, cwd: string): Loaded {
  const r = spawnSync(process.execPath, ["-e", LOADER, entry], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, PULUMI_NODEJS_TYPESCRIPT: "" },
    timeout: T(120000),
  });
  return parseLoad(r.status, r.stdout, r.stderr);
}

/** Loads `entry` in `cwd`, which must succeed and export `expected`. */
function loadsAs(entry: string, cwd: string, expected: unknown): Loaded {
  const r = load(entry, cwd);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.exported, expected);
  return r;
}

function loadAsync(entry: string, cwd: string): Promise<Loaded> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["-e", LOADER, entry], {
      cwd,
      env: { ...process.env, PULUMI_NODEJS_TYPESCRIPT: "" },
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("close", (code) => resolve(parseLoad(code, out, err)));
  });
}

/** File times come from the kernel's coarse clock; program.js records nothing changed within 1 s. */
const settle = () => new Promise((r) => setTimeout(r, 1100));

describe("the program as `pulumi up` loads it (program.js: one esbuild bundle, no ts-node)", function () {
  this.timeout(300000);

  it("Pulumi.yaml turns ts-node off and names no main; package.json's main is program.js", () => {
    const project = parse(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8"));
    assert.equal(project.runtime.options.typescript, false);
    assert.equal(project.main, undefined);
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"));
    assert.equal(pkg.main, "program.js");
    // It runs whenever the program does, so it is a dependency, not a devDependency.
    assert.ok(pkg.dependencies.esbuild, "esbuild is a dependency");
  });

  it("the repository's program.js exports the program function without registering ts-node", () => {
    const r = load("program.js", REPO_ROOT);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.exported, "function");
    // Nothing registered a TypeScript loader (the SDK loads the typescript package itself, for its
    // closure serialization: @pulumi/pulumi typescript-shim.js).
    assert.deepEqual(r.tsNode, []);
    assert.equal(r.tsHook, "undefined");
  });

  describe("the bundle and its record (a scratch project)", () => {
    let dir: string;
    const write = (rel: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), text);
    };
    beforeEach(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "homeops-entry-"));
      fs.copyFileSync(path.join(REPO_ROOT, "program.js"), path.join(dir, "program.js"));
      fs.copyFileSync(path.join(REPO_ROOT, "tsconfig.json"), path.join(dir, "tsconfig.json"));
      fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(dir, "node_modules"));
      write(
        "index.ts",
        'import { word } from "./lib/word";\nimport { z } from "zod";\nexport = { word: z.string().parse(word) };\n',
      );
      write("lib/word.ts", 'export const word: string = "first";\n');
      await settle();
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("the first load builds and records it; the next loads the recorded bundle without esbuild", () => {
      const first = loadsAs("program.js", dir, { word: "first" });
      assert.equal(first.esbuild, true);
      const record = JSON.parse(fs.readFileSync(path.join(dir, ".homeops/build/program.json"), "utf8"));
      const inputs = record.inputs.map(([f]: [string]) => f);
      for (const f of ["index.ts", "lib/word.ts", "program.js", "tsconfig.json", "node_modules/esbuild/package.json"])
        assert.ok(inputs.includes(f), `${f} is recorded`);
      assert.ok(
        inputs.some((f: string) => /node_modules\/zod\//.test(f)),
        "the bundled packages' files are recorded",
      );
      assert.ok(fs.existsSync(path.join(dir, ".homeops/build", record.bundle)));
      const second = loadsAs("program.js", dir, { word: "first" });
      assert.equal(second.esbuild, false, "the second load built again");
    });

    it("an edited module is built again; the stale bundle is removed", async () => {
      assert.equal(load("program.js", dir).status, 0);
      const old = JSON.parse(fs.readFileSync(path.join(dir, ".homeops/build/program.json"), "utf8")).bundle;
      write("lib/word.ts", 'export const word: string = "second";\n');
      const r = loadsAs("program.js", dir, { word: "second" });
      assert.equal(r.esbuild, true);
      await settle();
      assert.deepEqual(load("program.js", dir).exported, { word: "second" });
      const now = JSON.parse(fs.readFileSync(path.join(dir, ".homeops/build/program.json"), "utf8")).bundle;
      assert.notEqual(now, old);
      assert.ok(!fs.existsSync(path.join(dir, ".homeops/build", old)), "the old bundle is gone");
    });

    it("a module restored with its old size and modification time (cp -p, rsync -a) is still seen as changed", async () => {
      const file = path.join(dir, "lib/word.ts");
      // A whole second as the mtime, so that setting it again restores it to the nanosecond.
      fs.utimesSync(file, 1_700_000_000, 1_700_000_000);
      await settle();
      const before = fs.statSync(file, { bigint: true });
      assert.equal(load("program.js", dir).status, 0);
      // Same length, other text, the old mtime back: only the change time tells.
      fs.writeFileSync(file, 'export const word: string = "third";\n');
      fs.utimesSync(file, 1_700_000_000, 1_700_000_000);
      const after = fs.statSync(file, { bigint: true });
      assert.equal(after.size, before.size);
      assert.equal(after.mtimeNs, before.mtimeNs);
      assert.equal(after.ino, before.ino);
      loadsAs("program.js", dir, { word: "third" });
    });

    it("a module changed less than a second before the build leaves no record: the next load builds again", () => {
      write("lib/word.ts", 'export const word: string = "fresh";\n');
      loadsAs("program.js", dir, { word: "fresh" });
      assert.ok(!fs.existsSync(path.join(dir, ".homeops/build/program.json")), "recorded while an input was settling");
    });

    it("the bundle runs a module as TypeScript's transpile with the project's tsconfig.json does", () => {
      write("index.ts", PROBE);
      write("dep.js", DEP);
      const { compilerOptions } = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "tsconfig.json"), "utf8"));
      const { options } = ts.convertCompilerOptionsFromJson(compilerOptions, dir);
      write("probe-tsc.js", ts.transpileModule(PROBE, { compilerOptions: options, fileName: "index.ts" }).outputText);
      const tsc = spawnSync(process.execPath, ["probe-tsc.js"], { cwd: dir, encoding: "utf8" });
      assert.equal(tsc.status, 0, tsc.stderr);
      // The probe prints its report as it loads.
      const r = spawnSync(process.execPath, ["-e", 'require("./program.js")'], {
        cwd: dir,
        encoding: "utf8",
        timeout: T(120000),
      });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), JSON.parse(tsc.stdout));
      // and the probe tells the variants apart: ES2022 class fields, strict mode
      assert.deepEqual(JSON.parse(r.stdout), {
        strictThis: "undefined",
        field: "undefined",
        defaultImport: "cjs default",
        namespace: "function",
      });
    });

    it("a stack trace names the .ts line under cmd/run's source-map-support", async () => {
      write("lib/word.ts", 'export function word(): string {\n  throw new Error("from word");\n}\n');
      write("index.ts", 'import { word } from "./lib/word";\nexport = () => word();\n');
      await settle();
      // cmd/run requires source-map-support/register before the program (@pulumi/pulumi 3.248.0 cmd/run/index.js)
      const script =
        'require("source-map-support/register"); try { require("./program.js")(); } catch (e) { process.stdout.write(e.stack); }';
      for (const round of ["built", "recorded"]) {
        const r = spawnSync(process.execPath, ["-e", script], { cwd: dir, encoding: "utf8", timeout: T(120000) });
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /Error: from word\n\s+at word \(.*lib\/word\.ts:2:\d+\)/, `${round}: ${r.stdout}`);
      }
    });

    it("a syntax error fails the load with the file and line, before the program runs", () => {
      write("lib/word.ts", 'export const word: string = "unterminated;\n');
      const r = load("program.js", dir);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /the program does not build:\nlib\/word\.ts:1:\d+: Unterminated string literal/);
    });

    it("a type error does not stop the load (the type-check is `npm run build`'s)", () => {
      write("index.ts", 'const n: number = "forty-two";\nexport = { n };\n');
      loadsAs("program.js", dir, { n: "forty-two" });
    });

    it("where the build cannot be written, the bundle runs from memory", () => {
      write(".homeops/build", "a file where the build directory would be\n");
      loadsAs("program.js", dir, { word: "first" });
      assert.equal(
        fs.readFileSync(path.join(dir, ".homeops/build"), "utf8"),
        "a file where the build directory would be\n",
      );
    });

    it("runs started together each load the program (the build is written whole or not at all)", async () => {
      const all = await Promise.all([1, 2, 3, 4].map(() => loadAsync("program.js", dir)));
      for (const r of all) {
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(r.exported, { word: "first" });
      }
      await settle();
      const again = load("program.js", dir);
      assert.deepEqual(again.exported, { word: "first" });
      assert.equal(again.esbuild, false);
      const left = fs.readdirSync(path.join(dir, ".homeops/build")).filter((f) => f.endsWith(".tmp"));
      assert.deepEqual(left, []);
    });
  });
});
