/**
 * The real talosctl of each minor (built from its Go module, test/e2e/tools) against what the
 * program generates: every node's full machine config passes `talosctl validate --mode metal`, and
 * every talosctl argv written in every script parses with the binary's own flag parser.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { TalosMinor } from "../../config/types";
import { buildPlan, nodeConfigInputs } from "../../plan";
import { SCRIPTS } from "../../talos/scripts";
import { displayArgv } from "../../talos/shell";
import { talosctl } from "../../talos/talosctl";
import { homeOpsConfig, withTalosMinor } from "../helpers/stackConfigFixture";
import { talosctlInvocationsIn } from "../helpers/talosctlCli";
import { toolsDir } from "./harness";

const MINORS: TalosMinor[] = ["v1.10", "v1.11"];

function run(bin: string, argv: string[], cwd?: string): { code: number; out: string } {
  const r = spawnSync(bin, argv, { cwd, encoding: "utf8", env: { PATH: process.env.PATH, HOME: os.tmpdir() } });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/**
 * `${NAME}` references replaced by values of the kind the scripts pass: the home-ops plan's own
 * environment and settings, and the values scripts compute themselves.
 */
const SAMPLE: Record<string, string> = (() => {
  const plan = buildPlan(homeOpsConfig());
  const env: Record<string, string> = { ...plan.settings };
  for (const step of plan.steps) if (step.kind === "command") Object.assign(env, step.env);
  return { ...env, WORK: "/tmp/work", RESET_GRACEFUL: "true", HEALTH_ATTEMPT_TIMEOUT: "42s" };
})();
function withSampleValues(word: string): string {
  return word.replace(/\$\{([A-Za-z_0-9]+)\}/g, (_m, name: string) => SAMPLE[name] ?? "10.0.0.1");
}

/** The argv without its leading `--flag value` pairs: the command words first. */
function commandWords(argv: string[]): string[] {
  let i = 0;
  while (argv[i]?.startsWith("-")) i += argv[i].includes("=") ? 1 : 2;
  return argv.slice(i);
}

describe("the real talosctl", function () {
  this.timeout(120_000);
  const tools = toolsDir();

  for (const minor of MINORS) {
    const bin = path.join(tools, `talosctl-${minor}`);
    const cfg = minor === "v1.10" ? homeOpsConfig() : withTalosMinor(homeOpsConfig(), minor);

    it(`is ${minor}`, () => {
      assert.match(
        run(bin, ["version", "--client", "--short"]).out,
        new RegExp(`Talos ${minor.replace(".", "\\.")}\\.\\d+`),
      );
    });

    it(`validates every node's full machine config (gen config with the bundle and the node's patch) for ${minor} in metal mode`, () => {
      const work = fs.mkdtempSync(path.join(os.tmpdir(), "homeops-validate-"));
      try {
        assert.equal(run(bin, displayArgv(talosctl.genSecrets(), { WORK: work })).code, 0);
        for (const node of cfg.nodes) {
          const env: Record<string, string> = { ...nodeConfigInputs(cfg, node), WORK: work };
          fs.writeFileSync(path.join(work, "patch.yaml"), `${env.NODE_PATCH}\n`);
          const gen = run(bin, displayArgv(talosctl.genMachineConfig(), env));
          assert.equal(gen.code, 0, `${node.hostname}: gen config: ${gen.out}`);
          const validate = run(bin, [...displayArgv(talosctl.validate(), env), "--strict"]);
          assert.equal(validate.code, 0, `${node.hostname}: ${validate.out}`);
          assert.match(validate.out, /is valid for metal mode/);
          const text = fs.readFileSync(path.join(work, "machineconfig.yaml"), "utf8");
          assert.match(text, new RegExp(`hostname: ${node.hostname}`));
          assert.match(text, /kind: ExtensionServiceConfig/);
          assert.match(text, /kind: UserVolumeConfig/);
        }
        // A broken patch is refused by the same call (the check can fail).
        fs.writeFileSync(path.join(work, "patch.yaml"), "machine:\n  install:\n    disk: 42\n    wipe: maybe\n");
        const env = { ...nodeConfigInputs(cfg, cfg.nodes[0]), WORK: work };
        assert.notEqual(run(bin, displayArgv(talosctl.genMachineConfig(), env)).code, 0);
      } finally {
        fs.rmSync(work, { recursive: true, force: true });
      }
    });

    it(`parses every talosctl argv of every script with talosctl ${minor}'s own flags (--help exits 0 and names the command)`, () => {
      let checked = 0;
      for (const [name, text] of Object.entries(SCRIPTS)) {
        for (const raw of talosctlInvocationsIn(text)) {
          const argv = raw.map(withSampleValues);
          const r = run(bin, [...argv, "--help"]);
          assert.equal(r.code, 0, `${name}: talosctl ${argv.join(" ")}: ${r.out.split("\n")[0]}`);
          // An unknown second-level word prints its parent's help and exits 0: the Usage line must
          // name exactly the command the argv means.
          const usage = /Usage:\n\s+talosctl ([^\n]*)/.exec(r.out)?.[1] ?? "";
          const usageWords = usage.split(/\s+/).filter((w) => /^[a-z][a-z-]*$/.test(w));
          const words = commandWords(argv);
          assert.ok(usageWords.length >= 1, `${name}: no Usage line for ${argv.join(" ")}`);
          assert.deepEqual(words.slice(0, usageWords.length), usageWords, `${name}: ${argv.join(" ")} → ${usage}`);
          checked++;
        }
      }
      assert.ok(checked >= 20, `checked ${checked}`);
      // The parser really rejects: an unknown flag and a bad value fail --help.
      assert.notEqual(run(bin, ["apply-config", "--no-such-flag", "--help"]).code, 0);
      assert.notEqual(run(bin, ["apply-config", "--mode", "sometimes", "--help"]).code, 0);
    });
  }
});
