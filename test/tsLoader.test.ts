/**
 * test/e2e/tsLoader.js, the TypeScript loader of the e2e tier's language host and 1Password
 * stand-in (the program itself loads through program.js, test/programLoad.test.ts): what it loads
 * must behave as TypeScript's own transpile (transpileModule with the project's tsconfig.json), its
 * stack traces must name the .ts lines, and its cache must follow the source.
 */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as ts from "typescript";
import { DEP, PROBE } from "./helpers/transpileProbe";

const LOADER = path.join(__dirname, "e2e", "tsLoader.js");
const REPO = path.resolve(__dirname, "..");

describe("the e2e tier's TypeScript loader", function () {
  this.timeout(60000);
  let dir: string;
  let env: NodeJS.ProcessEnv;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "homeops-tsloader-"));
    // its own cache: TMPDIR decides where the loader keeps it
    env = { ...process.env, TMPDIR: dir };
    fs.writeFileSync(path.join(dir, "dep.js"), DEP);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const viaLoader = (file: string) =>
    execFileSync(process.execPath, ["--require", LOADER, file], {
      env,
      encoding: "utf8",
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
    });

  it("runs a module as ts-node's transpile with the project's tsconfig.json does", () => {
    const file = path.join(dir, "probe.ts");
    fs.writeFileSync(file, PROBE);
    const { compilerOptions } = JSON.parse(fs.readFileSync(path.join(REPO, "tsconfig.json"), "utf8"));
    const { options } = ts.convertCompilerOptionsFromJson(compilerOptions, REPO);
    const js = ts.transpileModule(PROBE, { compilerOptions: options, fileName: file }).outputText;
    fs.writeFileSync(path.join(dir, "probe-tsc.js"), js);
    const tsc = execFileSync(process.execPath, [path.join(dir, "probe-tsc.js")], { env, encoding: "utf8" });
    const loader = viaLoader(file);
    assert.deepEqual(JSON.parse(loader), JSON.parse(tsc));
    // and the probe tells the variants apart: ES2022 class fields, strict mode
    assert.deepEqual(JSON.parse(loader), {
      strictThis: "undefined",
      field: "undefined",
      defaultImport: "cjs default",
      namespace: "function",
    });
  });

  it("names the .ts line in a stack trace", () => {
    const file = path.join(dir, "throws.ts");
    fs.writeFileSync(file, `const n: number = 1;\n\n\nthrow new Error("at line four " + n);\n`);
    const r = (() => {
      try {
        viaLoader(file);
        return "";
      } catch (e) {
        return String((e as { stderr: string }).stderr);
      }
    })();
    assert.match(r, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}:4:`));
  });

  it("caches each module by its content: a changed source is transformed anew", () => {
    const file = path.join(dir, "v.ts");
    fs.writeFileSync(file, `const v: string = "one";\nconsole.log(v);\n`);
    assert.equal(viaLoader(file), "one\n");
    const cache = path.join(
      dir,
      fs.readdirSync(dir).find((d) => d.startsWith("homeops-ts-"))!,
    );
    const entries = () => fs.readdirSync(cache).filter((f) => f.endsWith(".js"));
    assert.equal(entries().length, 1);
    // the cached output is what runs: a second start reads it (no new entry)
    fs.writeFileSync(path.join(cache, entries()[0]), `console.log("from the cache");\n`);
    assert.equal(viaLoader(file), "from the cache\n");
    fs.writeFileSync(file, `const v: string = "two";\nconsole.log(v);\n`);
    assert.equal(viaLoader(file), "two\n");
    assert.equal(entries().length, 2);
  });
});
