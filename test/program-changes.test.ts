/**
 * What a second `pulumi up` would see: the program evaluated twice must give every resource the
 * same inputs (so the engine runs nothing), and a change must touch only what it should.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { homeOpsConfig } from "./helpers/stackConfigFixture";
import { CANARY_WORLD, evaluate, Evaluation } from "./helpers/program";
import { recorded, resetMocks, settle, valueOf } from "./helpers/mocks";
import { NodeConfig, StackConfig } from "../config/types";
import { asPulumiAllConfig, BAD_INPUTS, HOME_OPS_RAW_CONFIG } from "./helpers/badInputs";
import { deployStack } from "../components/stack";
import { loadStackConfig } from "../config/pulumi";
import { scratchProject } from "./helpers/simWorld";

/** Inputs by resource name, as the engine would diff them (ignoreChanges applied). */
function diffableInputs(e: Evaluation): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const r of e.resources) {
    const inputs: Record<string, unknown> = JSON.parse(JSON.stringify(r.inputs));
    for (const path of r.ignoreChanges) {
      const [head, key] = path.split(".");
      if (key === undefined) delete inputs[head];
      else if (inputs[head] && typeof inputs[head] === "object") delete (inputs[head] as Record<string, unknown>)[key];
    }
    out.set(`${r.type} ${r.name}`, inputs);
  }
  return out;
}

function changedResources(a: Evaluation, b: Evaluation): string[] {
  const ia = diffableInputs(a);
  const ib = diffableInputs(b);
  const names = new Set([...ia.keys(), ...ib.keys()]);
  return [...names].filter((n) => JSON.stringify(ia.get(n)) !== JSON.stringify(ib.get(n))).sort();
}

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

  it("changing the Cilium version changes only the Cilium release", async () => {
    const cfg = homeOpsConfig();
    const changed = { ...cfg, cilium: { ...cfg.cilium, version: "1.17.7" } };
    assert.deepEqual(changedResources(base, await evaluate(changed)), ["kubernetes:helm.sh/v3:Release cni-cilium"]);
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
