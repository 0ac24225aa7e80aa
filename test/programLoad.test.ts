/**
 * How `pulumi up` loads the program. The Node.js language host runs @pulumi/pulumi's cmd/run,
 * which registers ts-node for a TypeScript project (@pulumi/pulumi 3.248.0 cmd/run/run.ts: the
 * project's tsconfig.json; `transpileOnly` from PULUMI_NODEJS_TRANSPILE_ONLY, else the tsconfig's
 * `noCheck`, else left unset; its compilerOptions target ES2020 and module nodenext, then the
 * tsconfig's own compilerOptions over them). ts-node ignores an unset option, so the tsconfig's
 * "ts-node" section decides (ts-node 10.9.2 src/index.ts create(): DEFAULTS, then the tsconfig's
 * "ts-node" options, then the API options, merged by util.ts `assign`, which skips undefined).
 * With "transpileOnly" there, `pulumi up` does not type-check the program on every run (about
 * 5 s on the 2-core machine; `npm run build` type-checks it, and the e2e tier runs it untyped
 * through tsx too). These tests load the program the way cmd/run does.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT } from "./helpers/paths";
import { T } from "./fakes/testkit";

/** Registers ts-node as cmd/run does for this project, requires `file`, prints its export as JSON. */
const LOADER = `
const path = require("path");
const ts = require("typescript");
const tsconfig = path.resolve("tsconfig.json");
const read = ts.readConfigFile(tsconfig, ts.sys.readFile);
if (read.error) throw new Error("tsconfig.json: " + ts.flattenDiagnosticMessageText(read.error.messageText, "\\n"));
const env = process.env.PULUMI_NODEJS_TRANSPILE_ONLY;
const transpileOnly = env ? env === "true" : (read.config.compilerOptions || {}).noCheck;
require("ts-node").register({
  compiler: "typescript",
  transpileOnly,
  project: tsconfig,
  skipProject: false,
  compilerOptions: {
    target: "ES2020",
    module: "nodenext",
    moduleResolution: "nodenext",
    sourceMap: "true",
    ...(read.config.compilerOptions || {}),
  },
});
const loaded = require(path.resolve(process.argv[1]));
process.stdout.write(JSON.stringify(typeof loaded === "function" ? "function" : loaded));
`;

function load(file: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, ["-e", LOADER, file], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    env: { ...process.env, PULUMI_NODEJS_TRANSPILE_ONLY: "", ...env },
    timeout: T(120000),
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("the program as `pulumi up` loads it (ts-node, registered as @pulumi/pulumi's cmd/run does)", function () {
  this.timeout(300000);
  let dir: string;
  let mistyped: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "homeops-load-"));
    mistyped = path.join(dir, "mistyped.ts");
    fs.writeFileSync(mistyped, 'const n: number = "forty-two" as unknown as string;\nexport = { n };\n');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("index.ts loads and exports the program function", () => {
    const r = load("index.ts");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '"function"');
  });

  it("transpiles only: the tsconfig's ts-node section turns the per-run type-check off", () => {
    const r = load(mistyped);
    assert.equal(r.status, 0, `a type error stopped the load, so ts-node type-checked:\n${r.stderr}`);
    assert.deepEqual(JSON.parse(r.stdout), { n: "forty-two" });
  });

  it("the control: asked to type-check (PULUMI_NODEJS_TRANSPILE_ONLY=false), the same file is refused", () => {
    const r = load(mistyped, { PULUMI_NODEJS_TRANSPILE_ONLY: "false" });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /TS2322/);
  });
});
