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
import { recorded, resetMocks, settle } from "./helpers/mocks";
import { deployedNodesFromOutputs } from "../config/removal";

const NO_CREDENTIALS = { talosconfig: { renewals: 0 }, kubeconfig: { renewals: 0 } };
import { asPulumiAllConfig, HOME_OPS_RAW_CONFIG } from "./helpers/badInputs";
import { scratchProject } from "./helpers/simWorld";
import { homeOpsConfig } from "./helpers/stackConfigFixture";
import { schematicId } from "../talos/schematic";

/**
 * The versions every update of a program from before the `running` output exported beside
 * `nodes` (config/previousDeployment.ts reads what the nodes run from them).
 */
const LEGACY_VERSIONS = {
  talosVersion: "v1.10.5",
  schematicId: schematicId(homeOpsConfig()),
  kubernetesVersion: "v1.31.1",
};

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
    [
      "a new stack",
      {},
      { declared: [], completed: [], nodes: { nodes: [], removed: [] }, credentials: NO_CREDENTIALS },
    ],
    [
      "a stack whose last update completed the cluster phase",
      { phasesDeclared: ["talos", "cluster"], phasesCompleted: ["talos", "cluster"] },
      {
        declared: ["talos", "cluster"],
        completed: ["talos", "cluster"],
        nodes: { nodes: [], removed: [] },
        credentials: NO_CREDENTIALS,
      },
    ],
    [
      "a stack whose last update stopped after talos",
      { phasesDeclared: ["talos", "cluster"], phasesCompleted: ["talos"] },
      {
        declared: ["talos", "cluster"],
        completed: ["talos"],
        nodes: { nodes: [], removed: [] },
        credentials: NO_CREDENTIALS,
      },
    ],
    [
      "a stack whose last update removed a node (its nodes and removedNodes outputs)",
      {
        phasesDeclared: ["talos"],
        phasesCompleted: ["talos"],
        ...LEGACY_VERSIONS,
        nodes: [{ hostname: "mini01", address: "172.29.51.11", role: "controlplane", bootstrap: true, ipv6: null }],
        removedNodes: ["mini03"],
        talosconfigExpiry: "2027-12-01T10:00:00.000Z",
        kubeconfigExpiry: null,
        credentialRenewals: { talosconfig: 1, kubeconfig: 0 },
      },
      {
        declared: ["talos"],
        completed: ["talos"],
        nodes: {
          nodes: [{ hostname: "mini01", address: "172.29.51.11", role: "controlplane", bootstrap: true }],
          removed: ["mini03"],
        },
        credentials: {
          talosconfig: { expiry: "2027-12-01T10:00:00.000Z", renewals: 1 },
          kubeconfig: { renewals: 0 },
        },
      },
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

  it("deployStack records each node's bootstrap mark and the removed hostnames in the outputs", async () => {
    await resetMocks({});
    const projectDir = scratchProject("homeops-history-");
    try {
      const cfg = homeOpsConfig();
      const { outputs } = deployStack(
        { ...cfg, nodes: cfg.nodes.filter((n) => n.hostname !== "mini03") },
        { onePasswordServiceAccountToken: pulumi.secret("ops_fake") },
        { projectDir, nodesBefore: deployedNodesFromOutputs(outputsNodes(cfg), ["mini09"]) },
      );
      await settle();
      assert.deepEqual(outputs.removedNodes, ["mini03", "mini09"]);
      assert.deepEqual(
        (outputs.nodes as { hostname: string; bootstrap: boolean }[]).map((n) => [n.hostname, n.bootstrap]),
        [
          ["mini01", true],
          ["mini02", false],
        ],
      );
    } finally {
      fs.rmSync(projectDir, { recursive: true, force: true });
    }
  });

  it("the composition root judges a removal against the previous outputs: two control planes at once stop it before any resource", async () => {
    const cfg = homeOpsConfig();
    await resetMocks({
      previousOutputs: { ...LEGACY_VERSIONS, nodes: outputsNodes(cfg), phasesCompleted: ["talos", "cluster"] },
    });
    const raw = structuredClone(HOME_OPS_RAW_CONFIG) as Record<string, unknown>;
    raw.nodes = (raw.nodes as { hostname: string }[]).filter((n) => n.hostname === "mini01");
    pulumi.runtime.setAllConfig({ ...asPulumiAllConfig(raw), "homeops:onepasswordServiceAccountToken": "ops_x" }, [
      "homeops:onepasswordServiceAccountToken",
    ]);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const main = require("../index") as () => Promise<unknown>;
    try {
      await assert.rejects(main(), /removes 2 control planes in one change \(mini02, mini03\)/);
      await settle();
      assert.deepEqual(
        recorded.resources.map((r) => r.type),
        [],
        "nothing registered",
      );
    } finally {
      pulumi.runtime.setAllConfig({});
    }
  });
});

/** The `nodes` output an update of `cfg` writes (components/stack.ts). */
function outputsNodes(cfg: ReturnType<typeof homeOpsConfig>) {
  return cfg.nodes.map((n) => ({ hostname: n.hostname, address: n.address, role: n.role, bootstrap: n.bootstrap }));
}
