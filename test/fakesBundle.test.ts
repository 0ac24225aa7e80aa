/**
 * The fakes as a test run starts them (test/helpers/processEnv.ts): from their one-file bundle
 * (test/fakes/lib/bundle.js), without NODE_EXTRA_CA_CERTS. The bundle is a start-up saving only:
 * every call answers exactly as the fake loaded module by module does.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const fakeWorld = require("./fakes/lib/state.js");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const bundle = require("./fakes/lib/bundle.js");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const cli = require("./fakes/lib/cli.js");

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
  calls: unknown[];
}

describe("fakes: the one-file bundle a test run uses", function () {
  this.timeout(120000);
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  function world(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homeops-bundle-test-"));
    dirs.push(dir);
    fakeWorld.initFakeWorld(dir, {});
    return dir;
  }

  /** One call in a fresh world, bundled or module by module; what it printed and logged. */
  function run(tool: string, args: string[], bundled: boolean): Ran {
    const dir = world();
    const env: NodeJS.ProcessEnv = { ...fakeWorld.fakeEnv(dir), OP_FORMAT: "json" };
    if (!bundled) delete env.FAKE_BUNDLE_DIR;
    const r = spawnSync(path.join(fakeWorld.BIN_DIR, tool), args, { env, encoding: "utf8" });
    const calls = fakeWorld.readCalls(dir).map((c: Record<string, unknown>) => {
      const rest = { ...c };
      for (const k of ["t", "ms"]) delete rest[k];
      return rest;
    });
    // the fake op stamps its errors with the wall clock, as op does: two runs can straddle a second
    const clock = (t: string) => t.replace(/\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d/g, "<time>");
    return { status: r.status, stdout: clock(r.stdout), stderr: clock(r.stderr), calls };
  }

  it("a test process starts its children without NODE_EXTRA_CA_CERTS and with the bundle", () => {
    assert.equal(process.env.NODE_EXTRA_CA_CERTS, undefined);
    assert.equal(process.env.FAKE_BUNDLE_DIR, bundle.ensureBundle());
    for (const tool of bundle.TOOLS)
      assert.ok(fs.existsSync(path.join(process.env.FAKE_BUNDLE_DIR!, `${tool}.js`)), tool);
  });

  it("the end-to-end tier's engine, and so its scripts, get the bundle too (harness baseEnv)", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { baseEnv } = require("./e2e/harness");
    assert.equal(baseEnv(os.tmpdir()).FAKE_BUNDLE_DIR, process.env.FAKE_BUNDLE_DIR);
    assert.equal(baseEnv(os.tmpdir()).NODE_EXTRA_CA_CERTS, undefined);
  });

  it("the end-to-end tier's mocha loads the same environment first (test/e2e/.mocharc.json)", () => {
    const rc = JSON.parse(fs.readFileSync(path.join(__dirname, "e2e", ".mocharc.json"), "utf8"));
    const required: string[] = rc.require;
    assert.ok(required.includes("test/helpers/processEnv.ts"), "the e2e tier requires processEnv.ts");
    assert.ok(required.indexOf("test/helpers/processEnv.ts") < required.indexOf("test/helpers/rootHooks.ts"));
  });

  it("the simulated engine's scripts get the bundle too (sim/engine.ts scriptBaseEnv)", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { scriptBaseEnv } = require("./sim/engine");
    const env = scriptBaseEnv({ fakeDir: os.tmpdir() });
    assert.equal(env.FAKE_BUNDLE_DIR, process.env.FAKE_BUNDLE_DIR);
    assert.equal(env.FAKE_STATE_DIR, os.tmpdir());
  });

  it("a bin loads the bundle when FAKE_BUNDLE_DIR is set, its own modules when not", () => {
    // a stand-in bundle that only says it ran: proves which file the launcher loads
    const fakeBundle = fs.mkdtempSync(path.join(os.tmpdir(), "homeops-bundle-stub-"));
    dirs.push(fakeBundle);
    fs.writeFileSync(path.join(fakeBundle, "talosctl.js"), 'process.stdout.write("stub bundle\\n");');
    const dir = world();
    const stub = spawnSync(path.join(fakeWorld.BIN_DIR, "talosctl"), ["version", "--client"], {
      env: { ...fakeWorld.fakeEnv(dir), FAKE_BUNDLE_DIR: fakeBundle },
      encoding: "utf8",
    });
    assert.equal(stub.stdout, "stub bundle\n");
    const real = run("talosctl", ["version", "--client"], false);
    assert.equal(real.status, 0);
    assert.match(real.stdout, /Client:\n\tTag:/);
  });

  it("every minor's CLI reference read from its slice equals the one read from the whole file", () => {
    const ref = JSON.parse(fs.readFileSync(cli.cliReferencePath(), "utf8"));
    const saved = process.env.FAKE_BUNDLE_DIR;
    try {
      for (const version of Object.keys(ref.versions)) {
        process.env.FAKE_BUNDLE_DIR = saved;
        const sliced = cli.loadSpec(version);
        assert.ok(fs.existsSync(path.join(saved!, "cli", `${cli.minorOf(version)}.json`)), `${version}: a slice`);
        delete process.env.FAKE_BUNDLE_DIR;
        assert.deepEqual(sliced, cli.loadSpec(version), version);
      }
      process.env.FAKE_BUNDLE_DIR = saved;
      assert.throws(() => cli.loadSpec("v1.99.0"), /has no version matching v1\.99\.0/);
    } finally {
      process.env.FAKE_BUNDLE_DIR = saved;
    }
  });

  const cases: [string, string[]][] = [
    ["talosctl", ["version", "--client"]],
    ["talosctl-v1.10", ["version", "--client"]],
    ["talosctl-v1.14", ["version", "--client"]],
    ["talosctl", ["version", "--bogus"]],
    ["talosctl", ["get", "members", "--nodes", "172.29.51.11", "--endpoints", "172.29.51.11"]],
    ["talosctl", ["gen", "secrets", "--output-file", "/dev/null", "--force"]],
    ["kubectl", ["get", "nodes", "-o", "name"]],
    ["kubectl", ["frobnicate"]],
    ["op", ["--version"]],
    ["op", ["vault", "list"]],
    ["curl", ["-f", "-s", "https://factory.talos.dev/versions"]],
  ];
  for (const [tool, args] of cases) {
    it(`${tool} ${args.join(" ")}: the same answer and the same calls.log entry, bundled or not`, () => {
      const bundled = run(tool, args, true);
      const modules = run(tool, args, false);
      assert.deepEqual(bundled, modules);
    });
  }
});
