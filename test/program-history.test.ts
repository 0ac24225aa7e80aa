/**
 * The stack's own history reaches the rolling gate: the program reads its previous
 * `phasesCompleted` output (components/previousDeployment.ts) and writes CLUSTER_WAS_RUNNING=yes
 * to the run-time settings once an earlier update completed the cluster phase, so a silent etcd
 * makes the gate wait and refuse instead of skipping it (talos/scripts/rolling.ts gate_cluster).
 * It is a run-time setting, never a step's input: it re-runs nothing.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { deployStack } from "../components/stack";
import { phaseList, previousPhases } from "../components/previousDeployment";
import { buildPlan, runtimeSettings, settingsPath, stackHistory } from "../plan";
import { resetMocks, settle } from "./helpers/mocks";
import { scratchProject } from "./helpers/simWorld";
import { homeOpsConfig } from "./helpers/stackConfigFixture";

describe("program: the stack's history tells the rolling gate the cluster ran", function () {
  this.timeout(60000);

  it("stackHistory: the cluster ran once an update completed the cluster phase", () => {
    assert.deepEqual(stackHistory(), { clusterWasRunning: false });
    assert.deepEqual(stackHistory([]), { clusterWasRunning: false });
    assert.deepEqual(stackHistory(["talos"]), { clusterWasRunning: false });
    assert.deepEqual(stackHistory(["talos", "cluster"]), { clusterWasRunning: true });
    assert.deepEqual(stackHistory(["talos", "cluster", "cni", "secrets", "gitops"]), { clusterWasRunning: true });
  });

  it("the run-time setting, and nothing else of the plan, follows the history", () => {
    const cfg = homeOpsConfig();
    assert.equal(runtimeSettings(cfg).CLUSTER_WAS_RUNNING, "no");
    assert.equal(runtimeSettings(cfg, stackHistory(["talos", "cluster"])).CLUSTER_WAS_RUNNING, "yes");
    const before = buildPlan(cfg);
    const after = buildPlan(cfg, undefined, stackHistory(["talos", "cluster"]));
    assert.deepEqual(after.steps, before.steps, "no step's input changes");
    assert.deepEqual(
      Object.keys(after.settings).filter((k) => after.settings[k] !== before.settings[k]),
      ["CLUSTER_WAS_RUNNING"],
    );
  });

  it("phaseList keeps the strings of an output and nothing else", () => {
    assert.deepEqual(phaseList(["talos", 3, "cluster", null]), ["talos", "cluster"]);
    assert.deepEqual(phaseList(undefined), []);
    assert.deepEqual(phaseList("cluster"), []);
  });

  for (const [label, outputs, want] of [
    ["a new stack", {}, { declared: [], completed: [] }],
    [
      "a stack whose last update completed the cluster phase",
      { phasesDeclared: ["talos", "cluster"], phasesCompleted: ["talos", "cluster"] },
      { declared: ["talos", "cluster"], completed: ["talos", "cluster"] },
    ],
    [
      "a stack whose last update stopped after talos",
      { phasesDeclared: ["talos", "cluster"], phasesCompleted: ["talos"] },
      { declared: ["talos", "cluster"], completed: ["talos"] },
    ],
  ] as const) {
    it(`previousPhases reads the stack's own outputs: ${label}`, async () => {
      await resetMocks({ previousOutputs: outputs });
      assert.deepEqual(await previousPhases(), want);
    });
  }

  for (const [completedBefore, want] of [
    [undefined, "no"],
    [["talos"], "no"],
    [["talos", "cluster"], "yes"],
  ] as const) {
    it(`deployStack writes CLUSTER_WAS_RUNNING='${want}' when an earlier update completed ${JSON.stringify(completedBefore ?? [])}`, async () => {
      await resetMocks({});
      const projectDir = scratchProject("homeops-history-");
      try {
        const cfg = homeOpsConfig();
        deployStack(
          cfg,
          { onePasswordServiceAccountToken: pulumi.secret("ops_fake") },
          { projectDir, completedBefore: completedBefore === undefined ? undefined : [...completedBefore] },
        );
        await settle();
        const text = fs.readFileSync(path.join(projectDir, settingsPath(cfg.stack)), "utf8");
        assert.match(text, new RegExp(`^CLUSTER_WAS_RUNNING='${want}'$`, "m"));
      } finally {
        fs.rmSync(projectDir, { recursive: true, force: true });
      }
    });
  }
});
