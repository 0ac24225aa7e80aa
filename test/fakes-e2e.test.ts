/**
 * The fake talosctl in end-to-end mode (FAKE_TALOSCTL_REAL): local commands run the real talosctl
 * (v1.10.5 and v1.11.5, built by test/e2e/tools/build.sh), every argv goes through the real
 * parser first, and the simulated nodes accept what the real talosctl generates.
 */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { at, ENDPOINT, failsWith, fake, N1, N2, NODES, ok, T, World } from "./fakes/testkit";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { certIdentity } = require("./fakes/lib/talos/config.js");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { argvShape } = require("./fakes/lib/talos/real.js");

describe("the real-parser cache's argv shape", () => {
  it("stands one placeholder for each absolute path, and for nothing else", () => {
    assert.deepEqual(argvShape(["get", "members", "--talosconfig", "/tmp/w-1/talosconfig", "--nodes", "127.0.0.11"]), [
      "get",
      "members",
      "--talosconfig",
      "/…",
      "--nodes",
      "127.0.0.11",
    ]);
    assert.deepEqual(argvShape(["--talosconfig=/a/b_c-d.e"]), ["--talosconfig=/…"]);
    // kept as they are: a shorthand with its value, a patch file reference, a slice of paths (a comma
    // is pflag's separator), a quoted or spaced text, a relative path, a JSON patch, a jsonpath
    for (const a of ["-f/a/b", "@/a/b", "/a,/b", '/a"b', "/a b", "a/b", '[{"op":"add"}]', "jsonpath={.spec}"])
      assert.deepEqual(argvShape([a]), [a], a);
    assert.deepEqual(argvShape(["-o=/a"]), ["-o=/a"], "only --long= values");
  });
});

/**
 * The tools directory holding the real talosctl of every minor, or why it cannot be had (the build
 * needs Go and the module proxy or its cache). HOMEOPS_TOOLS_DIR names one already built; otherwise
 * build.sh builds them, or, when another build.sh is building them (CI builds every tool beside
 * `npm test`, .ci/run), waits for that build. This file runs last (.mocharc.json) so that the wait
 * comes after everything else.
 */
function toolsDir(): { dir?: string; why?: string } {
  const given = process.env.HOMEOPS_TOOLS_DIR;
  if (given && fs.existsSync(path.join(given, "talosctl-v1.10"))) return { dir: given };
  try {
    const talosctls = ["v1.10", "v1.11", "v1.12", "v1.13", "v1.14"].map((m) => `talosctl-${m}`);
    const out = execFileSync("bash", [path.join(__dirname, "e2e", "tools", "build.sh"), ...talosctls], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: T(40 * 60000), // the five alone took ~25 min cold on 2 cores (2026-12-07)
    });
    const dir = out.trim().split("\n").pop()!;
    return fs.existsSync(path.join(dir, "talosctl-v1.10"))
      ? { dir }
      : { why: `build.sh printed ${dir}, which has no talosctl-v1.10` };
  } catch (e) {
    return { why: `test/e2e/tools/build.sh failed: ${(e as Error).message.split("\n")[0]}` };
  }
}

describe("fake talosctl in end-to-end mode (the real talosctl's parser and local commands)", function () {
  this.timeout(120000);
  let tools: { dir?: string; why?: string } = {};
  before(function () {
    this.timeout(T(41 * 60000));
    tools = toolsDir();
    if (!tools.dir) {
      console.log(`      skipped: the real talosctl binaries are not available (${tools.why})`);
      this.skip();
    }
  });

  for (const [minor, version, fakeVersion] of [
    ["v1.10", "v1.10.5", "v1.10.5"],
    ["v1.11", "v1.11.5", "v1.11.5"],
  ]) {
    describe(`talosctl ${version}`, () => {
      let w: World;
      let real: string;
      beforeEach(() => {
        w = new World({ talosVersion: fakeVersion });
        real = path.join(tools.dir!, `talosctl-${minor}`);
      });
      afterEach(() => w.done());
      const t = (...args: string[]) => w.exec("talosctl", args, { FAKE_TALOSCTL_REAL: real });

      it("runs local commands on the real binary, output and exit code passed through", async () => {
        assert.match(
          ok(await t("version", "--client"), "version --client").stdout,
          new RegExp(`Tag: +${version.replace(/\./g, "\\.")}\\n`),
        );
        ok(await t("gen", "secrets", "-o", w.file("secrets.yaml")), "gen secrets");
        const again = failsWith(
          await t("gen", "secrets", "-o", w.file("secrets.yaml")),
          /already exists/,
          "real refusal",
        );
        assert.equal(again.stderr, `file "${w.file("secrets.yaml")}" already exists, use --force to overwrite\n`);
        const gen = ok(
          await t(
            ...w.gen("home-ops", "secrets.yaml"),
            "--output-types",
            "controlplane",
            "-o",
            w.file("cp.yaml"),
            "--with-docs=false",
            "--with-examples=false",
          ),
          "gen config",
        );
        assert.equal(gen.stderr, `generating PKI and tokens\nCreated ${w.file("cp.yaml")}\n`);
        assert.match(
          ok(await t("validate", "--config", w.file("cp.yaml"), "--mode", "metal"), "validate").stdout,
          /is valid for metal mode/,
        );
        assert.ok(w.calls().every((c) => c.exit === 0 || c.argv[0] === "gen"));
      });

      it("checks every argv with the real parser; a usage error is logged", async () => {
        failsWith(await t("etcd", "members", ...at(N1), "--bogus"), /unknown flag: --bogus/, "unknown flag");
        const sub = failsWith(
          await t("etcd", "frobnicate", ...at(N1)),
          /resolves this argv to "talosctl etcd"/,
          "unknown subcommand (cobra prints the parent's help)",
        );
        assert.equal(sub.code, 1);
        failsWith(
          await t("apply-config", ...at(N1), "--insecure", "--file", "x", "--mode", "sometimes"),
          /possible options are: auto, interactive, no-reboot, reboot, staged, try/,
          "bad enum",
        );
        const local = ["gen", "config", "c", ENDPOINT, "--output-types", "talosconfig", "-o", "-", "--nodes", N1];
        if (minor === "v1.11") failsWith(await t(...local), /unknown flag: --nodes/, "v1.11 gen config --nodes");
        else ok(await t(...local), "v1.10 accepts --nodes on gen config");
        w.expectedUsageErrors = minor === "v1.11" ? 4 : 3;
        assert.equal(fake.readUsageErrors(w.dir).length, w.expectedUsageErrors);
      });

      it("simulated nodes take the real talosctl's configs and talosconfig: install, bootstrap, apply modes", async () => {
        ok(await t("gen", "secrets", "-o", w.file("secrets.yaml")), "gen secrets");
        const gen = (host: string, out: string, patch: string) => {
          fs.writeFileSync(w.file(`${out}.patch`), `machine:\n  network:\n    hostname: ${host}\n${patch}`);
          return t(
            ...w.gen("home-ops", "secrets.yaml"),
            "--config-patch",
            `@${w.file(`${out}.patch`)}`,
            "--output-types",
            "controlplane",
            "-o",
            w.file(out),
            "--with-docs=false",
            "--with-examples=false",
            "--force",
          );
        };
        ok(
          await t(
            ...w.gen("home-ops", "secrets.yaml"),
            "--output-types",
            "talosconfig",
            "-o",
            w.file("talosconfig"),
            "--force",
          ),
          "talosconfig",
        );
        for (const [i, a] of NODES.entries()) {
          ok(await gen(`mini0${i + 1}`, `mini0${i + 1}.yaml`, ""), "gen config");
          ok(await t("apply-config", ...at(a), "--insecure", "--file", w.file(`mini0${i + 1}.yaml`)), "install");
        }
        await w.until(() => NODES.every((a) => w.node(a).stage === "booting"), "booting");
        const bundle = YAML.parse(fs.readFileSync(w.file("secrets.yaml"), "utf8"));
        assert.equal(w.node(N1).identity, certIdentity(bundle.certs.os.crt));
        ok(await t("bootstrap", ...at(N1), ...w.tc()), "bootstrap");
        await w.until(() => NODES.every((a) => w.node(a).etcdState === "serving"), "etcd");
        assert.equal(
          ok(await t("etcd", "members", ...at(N2), ...w.tc()), "members")
            .stdout.trim()
            .split("\n").length,
          4,
        );
        ok(await gen("mini01", "live.yaml", '  sysctls:\n    vm.dirty_ratio: "5"\n'), "live change");
        assert.match(
          ok(await t("apply-config", ...at(N1), ...w.tc(), "--file", w.file("live.yaml"), "--dry-run"), "dry").stderr,
          /^Dry run summary:\nApplied configuration without a reboot \(skipped in dry-run\)\./,
        );
        ok(await gen("mini01", "udev.yaml", '  udev:\n    rules:\n      - ACTION=="add"\n'), "reboot change");
        assert.match(
          ok(await t("apply-config", ...at(N1), ...w.tc(), "--file", w.file("udev.yaml"), "--dry-run"), "dry").stderr,
          /^Dry run summary:\nApplied configuration with a reboot \(skipped in dry-run\)\.[\s\S]*\+ {4}udev:/,
        );
        const status = ok(
          await t("get", "machinestatus", ...at(N1), ...w.tc(), "-o", "jsonpath={.spec.stage} {.spec.status.ready}"),
          "status",
        );
        assert.equal(status.stdout, "running\n \nfalse\n");
      });
    });
  }

  it("with FAKE_TALOSCTL_PARSE_CACHE an accepted argv shape is parsed once per binary; refusals every time", async () => {
    const w = new World({ talosVersion: "v1.10.5" });
    try {
      // The real v1.10 binary behind a wrapper that logs each start: the parses are its --help starts.
      const wrapped = w.file("wrapped");
      fs.mkdirSync(wrapped);
      const log = w.file("starts.log");
      const real = path.join(wrapped, "talosctl-v1.10");
      fs.writeFileSync(
        real,
        `#!/bin/sh\necho "$*" >> '${log}'\nexec '${path.join(tools.dir!, "talosctl-v1.10")}' "$@"\n`,
        { mode: 0o755 },
      );
      const parses = () =>
        fs.existsSync(log)
          ? fs
              .readFileSync(log, "utf8")
              .split("\n")
              .filter((l) => l.endsWith(" --help")).length
          : 0;
      const cache = w.file("parse-cache");
      const t = (args: string[], cached = true) =>
        w.exec("talosctl", args, { FAKE_TALOSCTL_REAL: real, ...(cached ? { FAKE_TALOSCTL_PARSE_CACHE: cache } : {}) });
      const secrets = (file: string, ...more: string[]) => ["gen", "secrets", "-o", w.file(file), "--force", ...more];

      ok(await t(secrets("a.yaml")), "first");
      assert.equal(parses(), 1);
      ok(await t(secrets("b.yaml")), "another path, the same shape");
      ok(await t(["gen", "secrets", `--output-file=${w.file("c.yaml")}`, "--force"]), "--flag=/path");
      ok(await t(["gen", "secrets", `--output-file=${w.file("d.yaml")}`, "--force"]), "--flag=/path again");
      assert.equal(parses(), 2, "one parse per shape");
      assert.ok(fs.existsSync(w.file("b.yaml")) && fs.existsSync(w.file("d.yaml")), "the commands still ran");
      ok(await t(secrets("e.yaml", "--talos-version", "v1.10")), "a new flag: a new shape");
      assert.equal(parses(), 3);
      ok(await t(secrets("f.yaml"), false), "without the cache");
      assert.equal(parses(), 4, "every call is parsed without the cache");
      // the key names the binary: another build of it (a new modification time) parses anew
      const later = new Date(fs.statSync(real).mtimeMs + 5000);
      fs.utimesSync(real, later, later);
      ok(await t(secrets("g.yaml")), "a rebuilt binary");
      assert.equal(parses(), 5, "a rebuilt binary parses the shape again");

      // Refusals are never remembered: each one is the real parser's own message.
      for (let i = 0; i < 2; i++)
        failsWith(await t(["etcd", "members", ...at(N1), "--bogus"]), /unknown flag: --bogus/, "unknown flag");
      assert.equal(parses(), 7);
      // What makes a path's text irrelevant: a flag of any type but string refuses every text starting
      // with "/" (an enum, a bool, a duration), so no accepted shape can stand for a refused argv.
      for (const bad of [
        ["apply-config", ...at(N1), ...w.tc(), "--file", w.file("x"), "--mode", w.file("x")],
        ["apply-config", ...at(N1), ...w.tc(), "--file", w.file("x"), `--insecure=${w.file("x")}`],
        ["health", ...at(N1), ...w.tc(), "--wait-timeout", w.file("x")],
      ])
        failsWith(await t(bad), /invalid argument|possible options|parse/, bad.slice(-2).join(" "));
      w.expectedUsageErrors = 5;
    } finally {
      w.done();
    }
  });

  it("a fake called as another minor's talosctl parses and runs with that minor's real binary", async () => {
    // A stack names one talosctl per minor an upgrade path passes through (talosctl-v1.12, ...);
    // FAKE_TALOSCTL_REAL names the stack's own minor's real binary, its siblings the others.
    const w = new World({ talosVersion: "v1.10.5" });
    try {
      const real = path.join(tools.dir!, "talosctl-v1.10");
      const v12 = await w.exec(path.join(fake.BIN_DIR, "talosctl-v1.12"), ["version", "--client"], {
        FAKE_TALOSCTL_REAL: real,
      });
      assert.match(ok(v12, "talosctl-v1.12 version --client").stdout, /Tag: +v1\.12\.6\n/);
      // `upgrade --drain` exists from talosctl 1.13 on: the real v1.12 parser refuses it
      const drain = ["upgrade", ...at(N1), "--image", "x", "--drain"];
      failsWith(
        await w.exec(path.join(fake.BIN_DIR, "talosctl-v1.12"), drain, { FAKE_TALOSCTL_REAL: real }),
        /unknown flag: --drain/,
        "v1.12 parser",
      );
      w.expectedUsageErrors = 1;
    } finally {
      w.done();
    }
  });
});
