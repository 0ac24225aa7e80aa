import { strict as assert } from "assert";
import { SCRIPTS } from "../talos/scripts";
import { allTalosctlInvocations, MINOR_SPECIFIC_TALOSCTL } from "../talos/talosctl";
import {
  checkTalosctlArgv,
  CLI_VERSION_OF_MINOR,
  CLI_VERSIONS,
  onlyForNewer,
  talosctlInvocationsIn,
} from "./helpers/talosctlCli";
import { buildPlan } from "../plan";
import { SUPPORTED_TALOS_MINORS } from "../config/types";
import { homeOpsConfig, withTalos } from "./helpers/stackConfigFixture";

describe("talosctl CLI contract (../shared/contracts/talos/talosctl-cli.json)", () => {
  const scriptTexts = Object.entries(SCRIPTS) as [string, string][];

  it("finds the talosctl invocations in every script (the extraction works)", () => {
    const found = scriptTexts.flatMap(([, s]) => talosctlInvocationsIn(s));
    assert.ok(found.length >= 15, `found ${found.length}`);
    assert.ok(found.some((a) => a[0] === "apply-config" && a.includes("--insecure")));
    assert.ok(found.some((a) => a[0] === "reset"));
    assert.ok(
      found.some((a) => a[0] === "get" && a.includes("--insecure")),
      "the maintenance probe",
    );
  });

  it("the extraction fails on an argument it cannot read instead of stopping at it", () => {
    const mutated = SCRIPTS["apply-node"].replace('"--mode" "auto" "--dry-run"', '"--mode" "auto" --dry-run');
    assert.notEqual(mutated, SCRIPTS["apply-node"]);
    assert.throws(() => talosctlInvocationsIn(mutated), /cannot read a talosctl argument at «--dry-run/);
    assert.deepEqual(talosctlInvocationsIn('run "$TALOSCTL" "version" "--client" >/dev/null 2>&1'), [
      ["version", "--client"],
    ]);
  });

  for (const version of CLI_VERSIONS) {
    it(`every invocation in every script exists in talosctl ${version}`, () => {
      for (const [name, text] of scriptTexts) {
        for (const argv of talosctlInvocationsIn(text)) {
          if (onlyForNewer(argv, version)) continue;
          assert.deepEqual(checkTalosctlArgv(version, argv), [], `${name}: talosctl ${argv.join(" ")}`);
        }
      }
    });
    it(`every argv builder is valid for talosctl ${version}`, () => {
      for (const argv of allTalosctlInvocations())
        assert.deepEqual(checkTalosctlArgv(version, argv), [], argv.join(" "));
    });
  }

  it("the upgrade argv per minor: legacy up to 1.12, LifecycleService with an explicit drain from 1.13, one node each", () => {
    for (const [name, { oldest, argv }] of Object.entries(MINOR_SPECIFIC_TALOSCTL)) {
      for (const version of CLI_VERSIONS) {
        const problems = checkTalosctlArgv(version, argv("${NODE_ADDRESS}"));
        if (Number(version.split(".")[1]) >= Number(oldest.split(".")[1]))
          assert.deepEqual(problems, [], `${name} ${version}`);
        else assert.match(problems.join(), /unknown flag --drain/, `${name} must not run with talosctl ${version}`);
      }
    }
    const upgrades = scriptTexts.flatMap(([, t]) => talosctlInvocationsIn(t)).filter((a) => a[0] === "upgrade");
    assert.equal(upgrades.length, 2, "the legacy and the LifecycleService call");
    for (const argv of upgrades) {
      assert.equal(argv.filter((a) => a === "--nodes").length, 1, argv.join(" "));
      assert.ok(!argv.some((a) => /,/.test(a)), argv.join(" "));
      assert.ok(!argv.includes("--insecure") && !argv.includes("--force") && !argv.includes("--stage"), argv.join(" "));
    }
    assert.ok(upgrades.some((a) => a.includes("--drain=true")) && upgrades.some((a) => !a.includes("--drain=true")));
    const upgradeK8s = scriptTexts.flatMap(([, t]) => talosctlInvocationsIn(t)).filter((a) => a[0] === "upgrade-k8s");
    assert.equal(upgradeK8s.length, 1);
    assert.equal(upgradeK8s[0].filter((a) => a === "--nodes").length, 1);
    assert.ok(upgradeK8s[0].includes("--from") && upgradeK8s[0].includes("--to"));
    // The hidden version --json is accepted (NOTES §7.0); an unknown flag on version still is not.
    assert.deepEqual(checkTalosctlArgv("v1.10.9", ["version", "--nodes", "a", "--json"]), []);
    assert.match(checkTalosctlArgv("v1.14.1", ["version", "--yaml"]).join(), /unknown flag --yaml/);
  });

  it("the checker rejects what talosctl would reject", () => {
    assert.deepEqual(checkTalosctlArgv("v1.11.6", ["gen", "secretsbundle"]), ['unknown command "gen secretsbundle"']);
    assert.match(checkTalosctlArgv("v1.11.6", ["upgrade", "--nodes", "a", "--preserve"])[0], /unknown flag --preserve/);
    assert.match(
      checkTalosctlArgv("v1.11.6", ["gen", "config", "c", "https://x:6443", "--nodes", "1.2.3.4"]).join(),
      /unknown flag --nodes|node flags/,
    );
    assert.deepEqual(checkTalosctlArgv("v1.10.9", ["gen", "config", "c", "https://x:6443", "--nodes", "1.2.3.4"]), []);
    assert.match(
      checkTalosctlArgv("v1.11.6", ["validate", "--config", "f", "--talosconfig", "t"]).join(),
      /unknown flag --talosconfig|node flags/,
    );
  });

  it("has a CLI reference block for every supported minor", () => {
    for (const minor of SUPPORTED_TALOS_MINORS)
      assert.ok(CLI_VERSION_OF_MINOR[minor], `no talosctl-cli.json block for ${minor}`);
  });

  it("the flags that differ between minors differ in the reference, and no builder or script uses them", () => {
    // talosctl 1.14 dropped reset --insecure and apply-config --mode reboot; 1.11 dropped node flags on local commands.
    assert.deepEqual(checkTalosctlArgv("v1.13.9", ["reset", "--insecure"]), []);
    assert.match(checkTalosctlArgv("v1.14.1", ["reset", "--insecure"]).join(), /unknown flag --insecure/);
    for (const version of ["v1.11.6", "v1.12.6", "v1.13.9", "v1.14.1"]) {
      assert.match(
        checkTalosctlArgv(version, ["validate", "--config", "f", "--nodes", "n"]).join(),
        /unknown flag --nodes|node flags/,
      );
    }
    const argvs = [...allTalosctlInvocations(), ...scriptTexts.flatMap(([, text]) => talosctlInvocationsIn(text))];
    for (const argv of argvs) {
      assert.ok(!(argv[0] === "reset" && argv.includes("--insecure")), argv.join(" "));
      const mode = argv.indexOf("--mode");
      assert.ok(mode < 0 || !["reboot", "interactive"].includes(argv[mode + 1]), argv.join(" "));
    }
  });

  for (const minor of SUPPORTED_TALOS_MINORS) {
    it(`plan argv of home-ops on Talos ${minor} (contract v1.10) is valid for talosctl ${CLI_VERSION_OF_MINOR[minor]}`, () => {
      const plan = buildPlan(withTalos(homeOpsConfig(), minor, "v1.10"));
      for (const s of plan.steps) {
        if (s.kind !== "command" || !s.argv) continue;
        assert.deepEqual(checkTalosctlArgv(CLI_VERSION_OF_MINOR[minor], s.argv.slice(1)), [], s.argv.join(" "));
      }
    });
  }

  it("plan.json shows each step's main invocation, valid for the stack's version and without secrets", () => {
    const plan = buildPlan(homeOpsConfig());
    const withArgv = plan.steps.filter((s) => s.kind === "command" && s.argv);
    assert.ok(withArgv.length >= 8);
    for (const s of withArgv) {
      if (s.kind !== "command" || !s.argv) continue;
      assert.equal(s.argv[0], "talosctl");
      assert.deepEqual(checkTalosctlArgv("v1.10.9", s.argv.slice(1)), [], s.argv.join(" "));
    }
  });
});
