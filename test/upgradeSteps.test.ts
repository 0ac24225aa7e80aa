import { strict as assert } from "assert";
import { StackConfig } from "../config/types";
import { parsePreviousDeployment, PreviousDeployment } from "../config/previousDeployment";
import { buildPlan, CommandStep, runningOutput, stackHistory, upgradeSummary } from "../plan";
import { planJson, renderStackFiles } from "../render/files";
import { schematicId } from "../talos/schematic";
import { homeOpsUpgradeTarget } from "./helpers/stackConfigFixture";

const target = homeOpsUpgradeTarget;

/** The outputs of home-ops as the current program leaves them on v1.10.5 + 1.31.1. */
function ranBefore(cfg: StackConfig, extra: Record<string, unknown> = {}): PreviousDeployment {
  const s = schematicId(cfg);
  return parsePreviousDeployment({
    phasesDeclared: ["talos", "cluster"],
    phasesCompleted: ["talos", "cluster"],
    running: {
      talos: Object.fromEntries(cfg.nodes.map((n) => [n.hostname, { version: "v1.10.5", schematic: s }])),
      kubernetes: "v1.31.1",
    },
    ...extra,
  });
}

function planFor(cfg: StackConfig, previous: PreviousDeployment) {
  return buildPlan(cfg, ["talos", "cluster"], stackHistory(previous.phasesCompleted), {
    upgrade: upgradeSummary(cfg, previous),
  });
}

const upgradeStepsOf = (steps: readonly { id: string }[]) =>
  steps.filter((s) => /^(talos|kubernetes)-upgrade-/.test(s.id)) as CommandStep[];

describe("upgrade path as plan steps (plan/upgrades.ts)", () => {
  const cfg = target();
  const plan = planFor(cfg, ranBefore(cfg));
  const upgrades = upgradeStepsOf(plan.steps);

  it("the issue's example, hop by hop and node by node, with stable ids from the versions", () => {
    assert.deepEqual(
      upgrades.map((s) => s.id),
      [
        "talos-upgrade-v1.12.6-mini01",
        "talos-upgrade-v1.12.6-mini02",
        "talos-upgrade-v1.12.6-mini03",
        "kubernetes-upgrade-v1.32.13",
        "talos-upgrade-v1.14.1-mini01",
        "talos-upgrade-v1.14.1-mini02",
        "talos-upgrade-v1.14.1-mini03",
        "kubernetes-upgrade-v1.33.13",
        "kubernetes-upgrade-v1.34.1",
      ],
    );
  });

  it("each step depends on the one before (control planes strictly one at a time), the applies on the last", () => {
    for (let i = 1; i < upgrades.length; i++)
      assert.ok(upgrades[i].dependsOn.includes(upgrades[i - 1].id), `${upgrades[i].id} after ${upgrades[i - 1].id}`);
    assert.ok(upgrades[0].dependsOn.includes("talos-secrets") && upgrades[0].dependsOn.includes("schematic"));
    const ids = plan.steps.map((s) => s.id);
    for (const n of cfg.nodes) {
      const apply = plan.steps.find((s) => s.id === `apply-${n.hostname}`)!;
      assert.ok(apply.dependsOn.includes("kubernetes-upgrade-v1.34.1"), apply.id);
      assert.ok(ids.indexOf(apply.id) > ids.indexOf("kubernetes-upgrade-v1.34.1"));
    }
  });

  it("a Talos hop installs the node's schematic at the hop's version with the talosctl of its minor", () => {
    const s = schematicId(cfg);
    const first = upgrades[0];
    assert.equal(first.script, "talos-upgrade");
    assert.equal(first.env.INSTALL_IMAGE, `factory.talos.dev/installer/${s}:v1.12.6`);
    assert.equal(first.env.TALOSCTL_SETTING, "TALOSCTL_V1_12");
    assert.deepEqual(
      [first.env.FROM_VERSION, first.env.TO_VERSION, first.env.NODE_ROLE],
      ["v1.10.5", "v1.12.6", "controlplane"],
    );
    assert.ok(!first.argv!.includes("--drain=true"), "talosctl 1.12: the legacy call");
    const last = upgrades.find((u) => u.id === "talos-upgrade-v1.14.1-mini03")!;
    assert.equal(last.env.INSTALL_IMAGE, `factory.talos.dev/metal-installer/${s}:v1.14.1`);
    assert.equal(last.env.TALOSCTL_SETTING, "TALOSCTL_V1_14");
    assert.ok(last.argv!.includes("--drain=true"), "talosctl 1.14: LifecycleService, drain explicit");
    assert.equal(last.argv!.filter((a) => a === "--nodes").length, 1);
  });

  it("a Kubernetes hop runs upgrade-k8s --from --to with the talosctl of the minor the nodes run", () => {
    const k = upgrades.find((u) => u.id === "kubernetes-upgrade-v1.32.13")!;
    assert.equal(k.script, "kubernetes-upgrade");
    assert.deepEqual(
      [k.env.FROM_VERSION, k.env.TO_VERSION, k.env.TALOSCTL_SETTING],
      ["1.31.1", "1.32.13", "TALOSCTL_V1_12"],
    );
    const l = upgrades.find((u) => u.id === "kubernetes-upgrade-v1.34.1")!;
    assert.deepEqual(
      [l.env.FROM_VERSION, l.env.TO_VERSION, l.env.TALOSCTL_SETTING],
      ["1.33.13", "1.34.1", "TALOSCTL_V1_14"],
    );
  });

  it("the run-time settings name the talosctl of every configured minor (the stack's own for its minor)", () => {
    assert.equal(plan.settings.TALOSCTL_V1_12, "talosctl-1.12");
    assert.equal(plan.settings.TALOSCTL_V1_14, "talosctl-1.14");
    assert.equal(plan.settings.TALOSCTL_V1_10, undefined);
  });

  it("resumable: the same previous outputs give the same steps, inputs included", () => {
    assert.deepEqual(upgradeStepsOf(planFor(cfg, ranBefore(cfg)).steps), upgrades);
  });

  it("a second up after success declares the same steps with the same inputs (nothing changes)", () => {
    const after = parsePreviousDeployment({
      phasesDeclared: ["talos", "cluster"],
      phasesCompleted: ["talos", "cluster"],
      running: runningOutput(cfg),
      upgradePath: JSON.parse(JSON.stringify(plan.upgrade.path)),
    });
    const second = planFor(cfg, after);
    assert.equal(second.upgrade.planned, false);
    assert.deepEqual(upgradeStepsOf(second.steps), upgrades);
    assert.deepEqual(second.steps, plan.steps);
  });

  it("a new path replaces the kept one; a new stack has no upgrade step", () => {
    const after = parsePreviousDeployment({
      phasesCompleted: ["talos", "cluster"],
      running: runningOutput(cfg),
      upgradePath: JSON.parse(JSON.stringify(plan.upgrade.path)),
    });
    const next: StackConfig = { ...cfg, kubernetes: { version: "v1.35.2" } };
    const ids = upgradeStepsOf(planFor(next, after).steps).map((s) => s.id);
    assert.deepEqual(ids, ["kubernetes-upgrade-v1.35.2"]);
    assert.deepEqual(upgradeStepsOf(buildPlan(cfg).steps), []);
    assert.equal(buildPlan(cfg).upgrade.running, undefined);
  });

  it("the offline render writes the path in plan.json (with --previous), and nothing of it without", () => {
    const json = JSON.parse(planJson(plan, cfg.talos.minor));
    assert.equal(json.upgrade.running.kubernetes, "v1.31.1");
    assert.equal(json.upgrade.hops.length, 5);
    assert.ok(json.steps.some((s: { id: string }) => s.id === "talos-upgrade-v1.12.6-mini02"));
    const files = renderStackFiles(cfg, ranBefore(cfg));
    assert.ok(files.has("scripts/talos-upgrade-v1.14.1-mini01.sh"));
    assert.equal(JSON.parse(renderStackFiles(cfg).get("plan.json")!).upgrade, undefined);
  });
});
