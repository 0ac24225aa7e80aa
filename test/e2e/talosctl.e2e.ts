/**
 * The real talosctl of each minor (built from its Go module, test/e2e/tools) against what the
 * program generates: every node's full machine config, for the contracts that minor runs here
 * (home-ops' pinned v1.10, and a new stack's own minor), passes `talosctl validate --mode metal
 * --strict`, and every talosctl argv written in every script parses with the binary's own flag
 * parser. Each binary is looked up by name (`talosctl-<minor>`) in the tools directory: a missing
 * one fails its tests (CI builds them all: test/e2e/tools/build.sh).
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SUPPORTED_TALOS_MINORS, TalosMinor, talosMinorAtLeast } from "../../config/types";
import { buildPlan, nodeConfigInputs } from "../../plan";
import { SCRIPTS } from "../../talos/scripts";
import { displayArgv } from "../../talos/shell";
import { talosctl } from "../../talos/talosctl";
import { documentsToYaml, renderNodeDocuments, type TalosDocument } from "../../talos/machineconfig";
import { homeOpsConfig, withTalos } from "../helpers/stackConfigFixture";
import { onlyForNewer, talosctlInvocationsIn } from "../helpers/talosctlCli";
import { toolsDir } from "./harness";

/** The contracts checked on a minor: home-ops' v1.10 (upgraded in place) and a new stack's own. */
function contractsOn(minor: TalosMinor): TalosMinor[] {
  return [...new Set<TalosMinor>(["v1.10", minor])];
}

interface Run {
  readonly code: number;
  readonly out: string;
}

function run(bin: string, argv: string[], cwd?: string): Run {
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

/** Generates and validates one node's full config; returns the generated machine config text. */
function genAndValidate(
  bin: string,
  work: string,
  env: Record<string, string>,
): { gen: Run; validate: Run; text: string } {
  fs.writeFileSync(path.join(work, "patch.yaml"), `${env.NODE_PATCH}\n`);
  const gen = run(bin, displayArgv(talosctl.genMachineConfig(), { ...env, WORK: work }));
  const validate = run(bin, [...displayArgv(talosctl.validate(), { ...env, WORK: work }), "--strict"]);
  const file = path.join(work, "machineconfig.yaml");
  const text = gen.code === 0 && fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  return { gen, validate, text };
}

describe("the real talosctl", function () {
  this.timeout(300_000);
  const tools = toolsDir();

  for (const minor of SUPPORTED_TALOS_MINORS) {
    const bin = path.join(tools, `talosctl-${minor}`);
    const present = (): void =>
      assert.ok(
        fs.existsSync(bin),
        `talosctl-${minor} is missing from the tools directory ${tools}: CI must build it (test/e2e/tools/build.sh)`,
      );

    it(`talosctl-${minor} is in the tools directory and is ${minor}`, () => {
      present();
      assert.match(
        run(bin, ["version", "--client", "--short"]).out,
        new RegExp(`Talos ${minor.replace(".", "\\.")}\\.\\d+`),
      );
    });

    for (const contract of contractsOn(minor)) {
      it(`${minor}, contract ${contract}: every node's full machine config (gen config with the bundle and the node's patch) passes validate --mode metal --strict`, () => {
        present();
        const cfg = withTalos(homeOpsConfig(), minor, contract);
        const work = fs.mkdtempSync(path.join(os.tmpdir(), "homeops-validate-"));
        try {
          assert.equal(run(bin, displayArgv(talosctl.genSecrets(), { WORK: work })).code, 0);
          for (const node of cfg.nodes) {
            const env = nodeConfigInputs(cfg, node);
            assert.equal(env.TALOS_CONTRACT, contract);
            const { gen, validate, text } = genAndValidate(bin, work, env);
            assert.equal(gen.code, 0, `${node.hostname}: gen config: ${gen.out}`);
            assert.equal(validate.code, 0, `${node.hostname}: ${validate.out}`);
            assert.match(validate.out, /is valid for metal mode/);
            assertGenerated(text, node.hostname, contract);
          }
          // A broken patch is refused by the same call (the check can fail).
          const broken = {
            ...nodeConfigInputs(cfg, cfg.nodes[0]),
            NODE_PATCH: "machine:\n  install:\n    disk: 42\n    wipe: maybe\n",
          };
          assert.notEqual(genAndValidate(bin, work, broken).gen.code, 0);
        } finally {
          fs.rmSync(work, { recursive: true, force: true });
        }
      });
    }

    it(`${minor}: refuses what the renderer avoids (the Talos-side rules are real on this binary)`, () => {
      present();
      const cfg = withTalos(homeOpsConfig(), minor, minor);
      const node = cfg.nodes[0];
      const base = nodeConfigInputs(cfg, node);
      const documents = renderNodeDocuments(cfg, node);
      const refusals = talosSideRefusals(minor, documents);
      const work = fs.mkdtempSync(path.join(os.tmpdir(), "homeops-refuse-"));
      try {
        assert.equal(run(bin, displayArgv(talosctl.genSecrets(), { WORK: work })).code, 0);
        for (const { label, patched, message } of refusals) {
          const { gen, validate } = genAndValidate(bin, work, { ...base, NODE_PATCH: documentsToYaml(patched) });
          const out = `${gen.out}${validate.out}`;
          assert.ok(gen.code !== 0 || validate.code !== 0, `${label}: accepted`);
          assert.match(out, message, label);
        }
      } finally {
        fs.rmSync(work, { recursive: true, force: true });
      }
    });

    it(`parses every talosctl argv of every script with talosctl ${minor}'s own flags (--help exits 0 and names the command)`, () => {
      present();
      let checked = 0;
      for (const [name, text] of Object.entries(SCRIPTS)) {
        for (const raw of talosctlInvocationsIn(text)) {
          // an argv the scripts run only with a newer talosctl (talos/talosctl.ts MINOR_SPECIFIC_TALOSCTL)
          if (onlyForNewer(raw, minor)) continue;
          const argv = raw.map(withSampleValues);
          const r = run(bin, [...argv, "--help"]);
          assert.equal(r.code, 0, `${name}: talosctl ${argv.join(" ")}: ${r.out.split("\n")[0]}`);
          // An unknown second-level word prints its parent's help and exits 0: the Usage line must
          // name exactly the command the argv means.
          const usage = /Usage:\n\s+talosctl ([^\n]*)/.exec(r.out)?.[1] ?? "";
          const usageWords = usage.split(/\s+/).filter((w) => /^[a-z][a-z0-9-]*$/.test(w));
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

/** What the generated config must show for the contract (gen config's own part included). */
function assertGenerated(text: string, hostname: string, contract: TalosMinor): void {
  const typed = talosMinorAtLeast(contract, "v1.12");
  assert.match(text, /kind: ExtensionServiceConfig/);
  assert.match(text, /kind: UserVolumeConfig/);
  if (typed) {
    // off is quoted as a string however the minor's YAML encoder quotes it: v1.14.1 prints 'off'.
    assert.match(text, new RegExp(`kind: HostnameConfig\\n(?:.*\\n)*?auto: ["']?off["']?\\nhostname: ${hostname}\\n`));
  } else {
    assert.match(text, new RegExp(`hostname: ${hostname}\\n`));
    assert.doesNotMatch(text, /kind: HostnameConfig/, "a legacy contract gets no HostnameConfig from gen config");
  }
  if (contract === "v1.14") {
    assert.doesNotMatch(text, /kind: KubeFlannelCNIConfig/);
    assert.match(text, /kind: KubeProxyConfig\n(?:.*\n)*?enabled: false/);
    assert.match(text, /kind: SecurityProfileConfig\nworkloadIsolation: false/);
    assert.match(text, /kind: UnattendedInstallConfig/);
    assert.doesNotMatch(text, /^ {4}taints:/m);
  } else {
    assert.doesNotMatch(text, /kind: Kube/);
  }
}

/** Patches the renderer never writes, each with what this minor's talosctl answers. */
function talosSideRefusals(
  minor: TalosMinor,
  documents: TalosDocument[],
): { label: string; patched: TalosDocument[]; message: RegExp }[] {
  const [patch, ...rest] = documents;
  const machine = patch.machine as Record<string, unknown>;
  const refusals: { label: string; patched: TalosDocument[]; message: RegExp }[] = [];
  if (minor === "v1.12" || minor === "v1.13") {
    const install = { ...(machine.install as Record<string, unknown>) };
    delete install.grubUseUKICmdline;
    refusals.push({
      label: "extraKernelArgs next to the generated grubUseUKICmdline: true",
      patched: [{ ...patch, machine: { ...machine, install } }, ...rest],
      message: /install\.extraKernelArgs and install\.grubUseUKICmdline can't be used together/,
    });
  }
  // --strict turns v1alpha1 warnings into errors (v1alpha1_validation.go): a deprecated field on every minor.
  refusals.push(
    minor === "v1.14"
      ? {
          label: "machine.files (deprecated on v1.14)",
          patched: [
            {
              ...patch,
              machine: { ...machine, files: [{ content: "x", path: "/var/f", op: "create", permissions: 0o644 }] },
            },
            ...rest,
          ],
          message: /\.machine\.files is deprecated/,
        }
      : {
          label: "machine.install.extensions (deprecated)",
          patched: [
            {
              ...patch,
              machine: {
                ...machine,
                install: { ...(machine.install as object), extensions: [{ image: "ghcr.io/x/y:1" }] },
              },
            },
            ...rest,
          ],
          message: /\.machine\.install\.extensions is deprecated/,
        },
  );
  if (talosMinorAtLeast(minor, "v1.12")) {
    const network = { ...(machine.network as Record<string, unknown>), hostname: "n1" };
    refusals.push({
      label: "machine.network.hostname next to HostnameConfig",
      patched: [{ ...patch, machine: { ...machine, network } }, ...rest],
      message: /static hostname is already set in v1alpha1 config/,
    });
  }
  if (minor === "v1.14") {
    refusals.push({
      label: "cluster.proxy next to KubeProxyConfig",
      patched: [{ ...patch, cluster: { ...(patch.cluster as object), proxy: { disabled: true } } }, ...rest],
      message: /KubeProxyConfig/,
    });
  }
  return refusals;
}
