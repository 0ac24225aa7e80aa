/**
 * What a second `pulumi up` would see: the program evaluated twice must give every resource the
 * same inputs (so the engine runs nothing), and a change must touch only what it should.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { homeOpsConfig } from "./helpers/stackConfigFixture";
import { CANARY_WORLD, changedResources, diffableInputs, evaluate, Evaluation } from "./helpers/program";
import { recorded, resetMocks, settle, valueOf } from "./helpers/mocks";
import { NodeConfig, StackConfig } from "../config/types";
import { asPulumiAllConfig, BAD_INPUTS, HOME_OPS_RAW_CONFIG } from "./helpers/badInputs";
import { deployStack } from "../components/stack";
import { phasesToDeclare } from "../components/headStart";
import { staleStepFiles, writeRuntimeSettings, writeStepFiles } from "../components/runtimeFiles";
import { buildPlan, CommandStep, nodeConfigHash, nodeConfigInputs, settingsFileText } from "../plan";
import { REPO_ROOT } from "./helpers/paths";
import { execFileSync } from "child_process";
import * as os from "os";
import * as path from "path";
import { loadStackConfig } from "../config/pulumi";
import { scratchProject } from "./helpers/simWorld";

const withNode = (cfg: StackConfig, hostname: string, change: (n: NodeConfig) => NodeConfig): StackConfig => ({
  ...cfg,
  nodes: cfg.nodes.map((n) => (n.hostname === hostname ? change(n) : n)),
});

describe("re-evaluation: no-op and blast radius (Pulumi mocks)", () => {
  let base: Evaluation;
  before(async () => {
    base = await evaluate(homeOpsConfig());
  });

  it("evaluating the full stack twice gives every resource identical inputs (zero commands would run)", async () => {
    const again = await evaluate(homeOpsConfig());
    assert.equal(again.resources.length, base.resources.length);
    assert.deepEqual(changedResources(base, again), []);
    assert.deepEqual([...diffableInputs(again).keys()].sort(), [...diffableInputs(base).keys()].sort());
  });

  it("the comparison sees real changes (it can fail)", async () => {
    const other = await evaluate({ ...homeOpsConfig(), kubernetes: { version: "v1.31.2" } });
    assert.ok(changedResources(base, other).length > 0);
  });

  it("changing one node's setting changes only that node's apply", async () => {
    const cfg = withNode(homeOpsConfig(), "mini02", (n) => ({
      ...n,
      sysctls: { ...n.sysctls, "vm.swappiness": "10" },
    }));
    assert.deepEqual(changedResources(base, await evaluate(cfg)), ["command:local:Command talos-apply-mini02"]);
  });

  it("changing a node's kernel args changes only that node's apply", async () => {
    const cfg = withNode(homeOpsConfig(), "mini03", (n) => ({
      ...n,
      extraKernelArgs: [...n.extraKernelArgs, "mitigations=auto"],
    }));
    assert.deepEqual(changedResources(base, await evaluate(cfg)), ["command:local:Command talos-apply-mini03"]);
  });

  it("changing a cluster-wide setting changes each node's apply once, and nothing else", async () => {
    const cfg = homeOpsConfig();
    const changed = {
      ...cfg,
      machine: {
        ...cfg.machine,
        udevRules: [...cfg.machine.udevRules, 'SUBSYSTEM=="net", ACTION=="add", ATTR{mtu}="1500"'],
      },
    };
    assert.deepEqual(changedResources(base, await evaluate(changed)), [
      "command:local:Command talos-apply-mini01",
      "command:local:Command talos-apply-mini02",
      "command:local:Command talos-apply-mini03",
    ]);
  });

  it("changing wait tuning (timeouts, poll) changes nothing the engine would act on", async () => {
    const cfg = homeOpsConfig();
    const tuned = { ...cfg, timeouts: { ...cfg.timeouts, nodeReady: 1800, poll: 10 } };
    assert.deepEqual(changedResources(base, await evaluate(tuned)), []);
  });

  it("changing the talosctl path, the reset list or the Helm adoption list changes nothing the engine would act on", async () => {
    const cfg = homeOpsConfig();
    const other: StackConfig = {
      ...cfg,
      talos: { ...cfg.talos, talosctl: "/opt/talos/bin/talosctl-1.10" },
      operations: { ...cfg.operations, resetOnDestroy: ["mini03"], adoptHelmReleases: ["cilium"], renewBefore: "45d" },
    };
    assert.deepEqual(changedResources(base, await evaluate(other)), []);
  });

  it("adding a node: its apply, the operator talosconfig's endpoints and the gates that list nodes; nothing replaced", async () => {
    const cfg = homeOpsConfig();
    const mini04 = { ...cfg.nodes[2], hostname: "mini04", address: "172.29.51.14", ipv6: "fd47:25e1:2f96:51::14" };
    const grown = await evaluate({ ...cfg, nodes: [...cfg.nodes, mini04] });
    assert.deepEqual(changedResources(base, grown), [
      "command:local:Command cluster-api-ready",
      "command:local:Command cni-talos-health",
      "command:local:Command talos-apply-mini04",
      "command:local:Command talos-talosconfig",
    ]);
    // The provider's identity does not hang on the kubeconfig (unknown in such a preview).
    const provider = grown.resources.find((r) => r.name === "cni-kubernetes")!;
    assert.equal(provider.inputs.clusterIdentifier, "home-ops");
  });

  it("changing the Cilium version changes only the Cilium release", async () => {
    const cfg = homeOpsConfig();
    const changed = { ...cfg, cilium: { ...cfg.cilium, version: "1.17.7" } };
    assert.deepEqual(changedResources(base, await evaluate(changed)), ["kubernetes:helm.sh/v3:Release cni-cilium"]);
  });
});

describe("a node's apply step and its config hash", () => {
  it("carries exactly the node's config inputs and the hash of them (nodeConfigHash: what drives a re-apply)", () => {
    const cfg = homeOpsConfig();
    const plan = buildPlan(cfg);
    for (const node of cfg.nodes) {
      const step = plan.steps.find(
        (s) => s.kind === "command" && s.node === node.hostname && s.script === "apply-node",
      ) as CommandStep | undefined;
      assert.ok(step, `the apply step of ${node.hostname}`);
      for (const [key, value] of Object.entries(nodeConfigInputs(cfg, node))) assert.equal(step.env[key], value, key);
      assert.equal(step.env.CONFIG_SHA256, nodeConfigHash(cfg, node));
      assert.equal(step.configHash, nodeConfigHash(cfg, node));
    }
  });
});

describe("stopAfter, settings and script files (Pulumi mocks)", () => {
  it("a lowered stopAfter never undeclares phases an earlier update declared (a warning says so)", async () => {
    const cfg = { ...homeOpsConfig(), stopAfter: "cluster" as const };
    const e = await evaluate(cfg, { declaredBefore: ["talos", "cluster", "cni", "secrets", "gitops"] });
    const phases = e.resources.filter((r) => r.type.startsWith("homeops:")).map((r) => r.name);
    assert.deepEqual(phases, ["talos", "cluster", "cni", "secrets", "gitops"]);
    assert.deepEqual(e.outputs.phasesDeclared.value, ["talos", "cluster", "cni", "secrets", "gitops"]);
    const first = await evaluate(cfg, { declaredBefore: [] });
    assert.deepEqual(first.outputs.phasesDeclared.value, ["talos", "cluster"]);
    assert.equal(first.resources.filter((r) => r.type.startsWith("homeops:")).length, 2);
  });

  it("phasesToDeclare: the later of stopAfter and the phases declared before; unknown names ignored", () => {
    const cfg = { ...homeOpsConfig(), stopAfter: "talos" as const };
    assert.deepEqual(phasesToDeclare(cfg, []), ["talos"]);
    assert.deepEqual(phasesToDeclare(cfg, ["talos", "cluster", "cni"]), ["talos", "cluster", "cni"]);
    assert.deepEqual(phasesToDeclare(cfg, ["bogus"]), ["talos"]);
    assert.deepEqual(phasesToDeclare({ ...cfg, stopAfter: "gitops" }, ["talos"]).length, 5);
  });

  it("every evaluation writes the run-time settings the scripts read (tools, waits, inventory, reset list)", () => {
    const dir = scratchProject("homeops-settings-");
    try {
      const cfg = homeOpsConfig();
      const tuned = {
        ...cfg,
        talos: { ...cfg.talos, talosctl: "/opt/bin/talosctl" },
        timeouts: { ...cfg.timeouts, nodeReady: 1234 },
        operations: { ...cfg.operations, resetOnDestroy: ["mini02"] },
      };
      const file = writeRuntimeSettings(dir, buildPlan(tuned));
      assert.equal(path.relative(dir, file), ".homeops/home-ops/settings.env");
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      const text = fs.readFileSync(file, "utf8");
      assert.match(text, /^TALOSCTL='\/opt\/bin\/talosctl'$/m);
      assert.match(text, /^TIMEOUT_NODE_READY='1234'$/m);
      assert.match(text, /^RESET_ON_DESTROY='mini02'$/m);
      // sh reads it back exactly, quotes included
      const shOut = execFileSync("/bin/sh", ["-c", `. "$1"; printf '%s' "$NODE_ADDRESSES"`, "sh", file], {
        encoding: "utf8",
      });
      assert.equal(shOut, "172.29.51.11 172.29.51.12 172.29.51.13");
      const quoted = settingsFileText({ X: 'it\'s "quoted" $HOME' });
      assert.equal(
        execFileSync("/bin/sh", ["-c", `${quoted}\nprintf '%s' "$X"`], { encoding: "utf8" }),
        `it's "quoted" $HOME`,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("no step's environment shares a name with the settings (the settings file is sourced after it)", () => {
    const plan = buildPlan(homeOpsConfig());
    for (const step of plan.steps) {
      if (step.kind !== "command") continue;
      const clash = Object.keys(step.env).filter((k) => k in plan.settings);
      assert.deepEqual(clash, [], step.id);
    }
  });

  it("refuses to run with a step script that differs from talos/scripts/, before any resource", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homeops-stale-"));
    try {
      writeStepFiles(dir);
      assert.deepEqual(staleStepFiles(dir), []);
      fs.appendFileSync(path.join(dir, "steps/apply-node.sh"), "\n# edited by hand\n");
      assert.deepEqual(staleStepFiles(dir), ["steps/apply-node.sh"]);
      await resetMocks();
      assert.throws(
        () => deployStack(homeOpsConfig(), {}, { projectDir: dir }),
        /steps\/apply-node\.sh are missing or differ from talos\/scripts\/: run `npm run gen:steps`/,
      );
      await settle();
      assert.equal(recorded.resources.length, 0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the committed steps/ files are the generated ones", () => {
    assert.deepEqual(staleStepFiles(REPO_ROOT), []);
  });
});

describe("bad input is rejected before anything is created", () => {
  it(`every one of the ${BAD_INPUTS.length} catalogued configs stops the program with the key named, before any resource or invoke`, async () => {
    assert.ok(BAD_INPUTS.length >= 25);
    for (const bad of BAD_INPUTS) {
      await resetMocks();
      pulumi.runtime.setAllConfig(asPulumiAllConfig(bad.raw));
      let error: Error | undefined;
      try {
        deployStack(loadStackConfig(), {}, { projectDir: "/nonexistent-never-reached" });
      } catch (e) {
        error = e as Error;
      }
      await settle();
      assert.ok(error instanceof pulumi.RunError, `${bad.name}: expected a RunError, got ${error}`);
      assert.ok(error.message.includes(bad.path), `${bad.name}: message names ${bad.path}:\n${error.message}`);
      assert.equal(recorded.resources.length, 0, bad.name);
      assert.equal(recorded.calls.length, 0, bad.name);
    }
    pulumi.runtime.setAllConfig({});
  });

  it("the composition root (index.ts) with the real stack's config creates the stack and exports its outputs", async () => {
    await resetMocks(CANARY_WORLD);
    const all = {
      ...asPulumiAllConfig(HOME_OPS_RAW_CONFIG),
      "homeops:onepasswordServiceAccountToken": "ops_not_checked_here",
    };
    pulumi.runtime.setAllConfig(all, ["homeops:onepasswordServiceAccountToken"]);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const main = require("../index") as () => Promise<Record<string, pulumi.Output<unknown>>>;
    const projectDir = scratchProject("homeops-index-");
    const cwd = process.cwd();
    process.chdir(projectDir);
    let program: Record<string, pulumi.Output<unknown>>;
    try {
      program = await main();
    } finally {
      process.chdir(cwd);
    }
    const outputs = Object.fromEntries(
      await Promise.all(Object.entries(program).map(async ([k, o]) => [k, await valueOf(o)])),
    );
    await settle();
    assert.equal(outputs.clusterName, "home-ops");
    assert.deepEqual(outputs.phasesCompleted, ["talos", "cluster", "cni", "secrets", "gitops"]);
    assert.equal(await pulumi.isSecret(program.kubeconfig), true);
    // The 34 resources of the five phases (the read of the stack's own previous outputs is a read,
    // not a registration).
    assert.equal(recorded.resources.length, 34);
    fs.rmSync(projectDir, { recursive: true, force: true });
    pulumi.runtime.setAllConfig({});
  });
});
