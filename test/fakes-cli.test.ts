/**
 * The fakes' shared machinery: argv validation against the talosctl CLI reference, the usage-error
 * log, faults matched on the parsed call (and whether they were delivered), real hangs, and the
 * canary audit in calls.log.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import { at, failsWith, fake, N1, N2, ok, sleep, T, World } from "./fakes/testkit";

describe("fakes: argv, faults, logs", function () {
  this.timeout(30000);
  let w: World;
  beforeEach(() => (w = new World()));
  afterEach(() => w.done());

  describe("talosctl argv against the CLI reference", () => {
    it("rejects unknown flags, shorthands and commands like cobra, and logs each usage error", async () => {
      const f = failsWith(
        await w.talosctl("version", ...at(N1), "--insecure", "--bogus"),
        /unknown flag: --bogus/,
        "unknown flag",
      );
      assert.equal(f.stderr, "unknown flag: --bogus\n\nUsage:\n  talosctl version [flags]\n");
      failsWith(await w.talosctl("version", "-z"), /unknown shorthand flag: 'z' in -z/, "unknown shorthand");
      failsWith(await w.talosctl("frobnicate"), /unknown command "frobnicate" for "talosctl"/, "unknown command");
      const errors = fake.readUsageErrors(w.dir);
      assert.deepEqual(
        errors.map((e) => e.argv),
        [["version", "--nodes", N1, "--endpoints", N1, "--insecure", "--bogus"], ["version", "-z"], ["frobnicate"]],
      );
      assert.ok(w.calls().every((c) => c.usageError === true && c.exit === 1));
      w.expectedUsageErrors = 3;
    });

    it("v1.11 rejects node flags on local commands; v1.10 accepts them", async () => {
      await w.genSecrets();
      const gen = [...w.gen(), "--output-types", "controlplane", "--output", w.file("x.yaml")];
      failsWith(await w.talosctl(...gen, "--nodes", N1), /unknown flag: --nodes/, "v1.11 gen config --nodes");
      assert.equal(fs.existsSync(w.file("x.yaml")), false, "a rejected invocation has no effect");
      ok(await w.talosctl(...gen), "without node flags");
      failsWith(
        await w.talosctl("validate", "--config", w.file("x.yaml"), "--mode", "metal", "--endpoints", N1),
        /unknown flag: --endpoints/,
        "v1.11 validate -e",
      );
      fake.writeConfig(w.dir, { ...fake.readConfig(w.dir), talosVersion: "v1.10.5" });
      ok(await w.talosctl(...gen, "--nodes", N1, "--force"), "v1.10 gen config --nodes");
      w.expectedUsageErrors = 2;
    });

    it("checks bool, enum and duration values, missing values and positional counts; unsimulated commands are not usage errors", async () => {
      ok(await w.talosctl("version", "--client", "--short=false"), "bool =false");
      failsWith(await w.talosctl("version", "--client=maybe"), /invalid argument "maybe".*ParseBool/, "bad bool");
      failsWith(
        await w.talosctl("apply-config", ...at(N1), "--insecure", "--file", "x", "--mode", "sometimes"),
        /invalid argument "sometimes" for "-m, --mode" flag: possible options are: /,
        "bad enum",
      );
      failsWith(await w.talosctl("health", ...at(N1), "--wait-timeout", "soon"), /invalid duration/, "bad duration");
      failsWith(await w.talosctl("apply-config", "--file"), /flag needs an argument: --file/, "missing value");
      failsWith(
        await w.talosctl("gen", "config", "only-a-name"),
        /requires at least 2 arg\(s\)/,
        "too few positionals",
      );
      failsWith(
        await w.talosctl("bootstrap", "extra"),
        /unknown command "extra" for "talosctl bootstrap"/,
        "unexpected positional",
      );
      w.expectedUsageErrors = 6;
      const r = failsWith(
        await w.talosctl("dmesg", ...at(N1)),
        /fake talosctl: not simulated: dmesg/,
        "valid but not simulated",
      );
      assert.equal(r.code, 3);
    });

    it("reads the CLI reference relative to the fake, overridable by FAKE_TALOSCTL_CLI_JSON", async () => {
      failsWith(
        await w.exec("talosctl", ["version", "--client"], { FAKE_TALOSCTL_CLI_JSON: w.file("missing.json") }),
        /cannot read the CLI reference/,
        "missing reference",
      );
    });
  });

  describe("faults match the parsed call, never a substring of the argv", () => {
    it("by command, node and flags; times counts deliveries", async () => {
      await w.configured();
      fake.setFaults(w.dir, [
        {
          tool: "talosctl",
          command: "version",
          node: N2,
          flags: { short: false },
          kind: "exit",
          times: 2,
          message: "injected",
        },
      ]);
      ok(await w.talosctl("version", ...at(N1), ...w.tc()), "other node");
      ok(await w.talosctl("version", ...at(N2), ...w.tc(), "--short"), "flag excluded");
      failsWith(await w.talosctl("version", ...at(N2), ...w.tc()), /^injected\n$/, "fault 1");
      failsWith(await w.talosctl("version", ...at(N2), ...w.tc()), /^injected\n$/, "fault 2");
      ok(await w.talosctl("version", ...at(N2), ...w.tc()), "used up");
      assert.deepEqual([fake.readConfig(w.dir).faults[0].times, fake.readConfig(w.dir).faults[0].fired], [0, 2]);
      assert.equal(w.calls().filter((c) => c.fault && c.fault.delivered).length, 2);
    });

    it("a word of the argv (here inside a file path) does not trigger a fault for another command", async () => {
      await w.genSecrets("apply-config.yaml");
      fake.setFaults(w.dir, [{ tool: "talosctl", command: "apply-config", kind: "exit" }]);
      ok(
        await w.talosctl(...w.gen("c", "apply-config.yaml"), "--output-types", "talosconfig", "-o", w.file("tc")),
        "gen config",
      );
      fake.setFaults(w.dir, [{ tool: "talosctl", match: "apply-config", kind: "exit" } as never]);
      const r = failsWith(await w.talosctl("version", "--client"), /uses "match"/, "legacy substring fault");
      assert.equal(r.code, 3);
    });

    it("unreachable and timeout have no effect; a timeout really hangs, then fails; SIGTERM cancels it", async () => {
      await w.genSecrets();
      await w.genConfig("mini01");
      const apply = () => w.talosctl("apply-config", ...at(N1), "--insecure", "--file", w.file("mini01.yaml"));
      fake.setFaults(w.dir, [
        { tool: "talosctl", command: "apply-config", flags: { insecure: true }, kind: "unreachable", times: 1 },
        { tool: "talosctl", command: "apply-config", kind: "timeout", hangMs: 300, times: 1 },
        { tool: "talosctl", command: "apply-config", kind: "timeout", times: 1 },
      ]);
      failsWith(
        await apply(),
        /^error applying new configuration: rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 172\.29\.51\.11:50000: connect: connection refused"\n$/,
        "unreachable",
      );
      const t = failsWith(
        await apply(),
        /^error applying new configuration: rpc error: code = DeadlineExceeded desc = context deadline exceeded\n$/,
        "timeout",
      );
      assert.ok(t.ms >= 300, `hung ${t.ms} ms`);
      const killed = await w.execThenTerm("talosctl", [
        "apply-config",
        ...at(N1),
        "--insecure",
        "--file",
        w.file("mini01.yaml"),
      ]);
      assert.equal(
        killed.stderr,
        "Signal received, aborting, press Ctrl+C once again to abort immediately...\nerror applying new configuration: rpc error: code = Canceled desc = context canceled\n",
      );
      assert.equal(w.node(N1).state, "maintenance");
      ok(await apply(), "after the faults");
      assert.equal(w.node(N1).insecureApplies, 1);
      assert.deepEqual(
        w
          .calls()
          .slice(-4)
          .map((c) => [c.fault?.kind, c.killed]),
        [
          ["unreachable", undefined],
          ["timeout", undefined],
          ["timeout", "SIGTERM"],
          [undefined, undefined],
        ],
      );
    });

    it("drop: the effect happens, then EOF; a drop on a call that fails by itself is not delivered and is given back", async () => {
      fake.setDelays(w.dir, { install: T(300) });
      await w.genSecrets();
      await w.genConfig("mini01");
      fake.setFaults(w.dir, [{ tool: "talosctl", command: "apply-config", kind: "drop", times: 1 }]);
      fake.powerOff(w.dir, N1);
      failsWith(
        await w.talosctl("apply-config", ...at(N1), "--insecure", "--file", w.file("mini01.yaml")),
        /connection refused/,
        "node off",
      );
      assert.deepEqual(w.calls().pop()!.fault, { kind: "drop", index: 0, delivered: false });
      assert.equal(fake.readConfig(w.dir).faults[0].times, 1, "given back");
      fake.powerOn(w.dir, N1);
      const r = failsWith(
        await w.talosctl("apply-config", ...at(N1), "--insecure", "--file", w.file("mini01.yaml")),
        /EOF/,
        "drop",
      );
      assert.deepEqual(
        [r.stdout, r.stderr],
        ["", "error applying new configuration: rpc error: code = Unavailable desc = error reading from server: EOF\n"],
      );
      assert.deepEqual([w.node(N1).insecureApplies, w.node(N1).stage], [1, "installing"]);
      assert.deepEqual(w.calls().pop()!.fault, { kind: "drop", index: 0, delivered: true });
      await sleep(T(350));
    });
  });

  describe("canaries", () => {
    it("calls.log records where a canary appeared (env, argv), never the value", async () => {
      fake.writeConfig(w.dir, { ...fake.readConfig(w.dir), canaries: ["s3cr3t-canary"] });
      ok(await w.exec("talosctl", ["version", "--client"], { SOME_TOKEN: "xx-s3cr3t-canary-xx" }), "env");
      failsWith(await w.exec("op", ["read", "op://Automation/s3cr3t-canary/x"]), /isn't an item/, "argv");
      const calls = w.calls();
      assert.deepEqual(
        calls.map((c) => c.canaryHits),
        [["env:SOME_TOKEN"], ["argv[1]"]],
      );
      const log = fs.readFileSync(`${w.dir}/calls.log`, "utf8");
      assert.ok(!log.includes("xx-s3cr3t-canary-xx"), "the env value is not logged");
    });

    it("mintCanary: a bundle the fake mints carries it (cluster.secret), and so does every config made from it", async () => {
      fake.writeConfig(w.dir, { ...fake.readConfig(w.dir), mintCanary: "MINTED-CANARY" });
      await w.genSecrets();
      assert.match(fs.readFileSync(w.file("secrets.yaml"), "utf8"), /^ {4}secret: MINTED-CANARY\S+$/m);
      assert.match(await w.genConfig("mini01"), /^ {4}secret: MINTED-CANARY\S+$/m);
    });
  });
});
