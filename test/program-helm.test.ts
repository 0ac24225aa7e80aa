/**
 * Helm releases and the hand-off to Flux, as the program registers them (Pulumi mocks): every
 * release marked and guarded by its create hook, no guard step and no `import`; after the gitops
 * phase completed, what Flux owns keeps its stored inputs, a bump changes nothing and warns.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { homeOpsConfig } from "./helpers/stackConfigFixture";
import { changedResources, evaluate, Evaluation } from "./helpers/program";
import { recorded, registeredHooks, resetMocks, settle, valueOf } from "./helpers/mocks";
import { CANARY_WORLD } from "./helpers/program";
import { asPulumiAllConfig, HOME_OPS_RAW_CONFIG } from "./helpers/badInputs";
import { scratchProject } from "./helpers/simWorld";
import { REPO_ROOT } from "./helpers/paths";
import { StackConfig } from "../config/types";
import { buildPlan } from "../plan";
import { handOffState } from "../plan/handOff";
import { SCRIPTS } from "../talos/scripts";

const ALL = ["talos", "cluster", "cni", "secrets", "gitops"];
const res = (e: Evaluation, name: string) => {
  const r = e.resources.find((x) => x.name === name);
  assert.ok(r, `no resource ${name}`);
  return r;
};
const ignored = (e: Evaluation) =>
  Object.fromEntries(e.resources.filter((r) => r.ignoreChanges.length).map((r) => [r.name, r.ignoreChanges]));
const bumped = (cfg: StackConfig): StackConfig => ({
  ...cfg,
  externalSecrets: { ...cfg.externalSecrets, version: "0.18.0" },
  connect: { ...cfg.connect, version: "1.8.2" },
});

/** pulumi.log.warn messages during `fn`. */
async function warnings<T>(fn: () => Promise<T>): Promise<{ value: T; warned: string[] }> {
  const warned: string[] = [];
  const log = pulumi.log as { warn: (msg: string) => Promise<void> };
  const original = log.warn;
  log.warn = async (msg: string) => void warned.push(msg);
  try {
    return { value: await fn(), warned };
  } finally {
    log.warn = original;
  }
}

describe("Helm releases and the hand-off to Flux (Pulumi mocks)", function () {
  let full: Evaluation;
  before(async () => {
    registeredHooks.clear();
    full = await evaluate(homeOpsConfig());
  });

  it("every release: this stack's mark as its description, replace, a beforeCreate and a beforeUpdate hook (never in a preview), no import", () => {
    const releases = full.resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release");
    assert.deepEqual(
      releases.map((r) => [r.name, r.inputs.description, r.inputs.replace, r.importId]),
      [
        ["cni-cilium", "homeops: homeops/home-ops cilium", true, ""],
        ["secrets-external-secrets", "homeops: homeops/home-ops external-secrets", true, ""],
        ["gitops-flux-operator", "homeops: homeops/home-ops flux-operator", true, ""],
      ],
    );
    for (const r of releases) {
      assert.deepEqual(r.hooks, { beforeCreate: [`${r.name}-guard`], beforeUpdate: [`${r.name}-unlock`] }, r.name);
      assert.deepEqual(registeredHooks.get(`${r.name}-guard`), { onDryRun: false, ignoreErrors: false }, r.name);
      assert.deepEqual(registeredHooks.get(`${r.name}-unlock`), { onDryRun: false, ignoreErrors: false }, r.name);
    }
    for (const r of full.resources.filter((x) => x.type !== "kubernetes:helm.sh/v3:Release"))
      assert.deepEqual(r.hooks, {}, r.name);
  });

  it("a preview registers the same hooks (the engine skips them in a dry run)", async () => {
    registeredHooks.clear();
    const preview = await evaluate(homeOpsConfig(), { preview: true });
    assert.deepEqual(res(preview, "cni-cilium").hooks, {
      beforeCreate: ["cni-cilium-guard"],
      beforeUpdate: ["cni-cilium-unlock"],
    });
    assert.equal(registeredHooks.get("cni-cilium-guard")?.onDryRun, false);
    assert.equal(registeredHooks.get("cni-cilium-unlock")?.onDryRun, false);
  });

  it("no helm-adoption guard step remains: not in the plan, the scripts, steps/, the product's code", () => {
    const plan = buildPlan(homeOpsConfig());
    assert.deepEqual(
      plan.steps.filter((s) => /adoption/.test(s.id)),
      [],
    );
    assert.equal("helm-adoption" in SCRIPTS, false);
    assert.equal(fs.existsSync(path.join(REPO_ROOT, "steps", "helm-adoption.sh")), false);
    assert.equal("ADOPT_HELM_RELEASES" in plan.settings, false);
    const hits: string[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true })) {
        const rel = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(rel);
        else if (/helm-adoption|-adoption`|pulumi import/.test(fs.readFileSync(path.join(REPO_ROOT, rel), "utf8")))
          hits.push(rel);
      }
    };
    for (const dir of ["components", "config", "k8s", "plan", "render", "docs", "talos", "steps", "schema", "policy"])
      walk(dir);
    assert.deepEqual(hits, []);
  });

  it("before the gitops phase completed nothing ignores changes; after, exactly what Flux takes over", async () => {
    assert.deepEqual(ignored(full), {});
    const secretsDone = await evaluate(homeOpsConfig(), { completedBefore: ALL.slice(0, 4) });
    assert.deepEqual(ignored(secretsDone), {});
    const handedOff = await evaluate(homeOpsConfig(), { completedBefore: ALL });
    assert.deepEqual(ignored(handedOff), {
      "secrets-external-secrets": ["*", "version"],
      "secrets-connect-deployment": ["*"],
      "secrets-service-onepassword-connect": ["*"],
      "secrets-service-onepassword-connect-sync": ["*"],
    });
    // The Connect Secrets stay the stack's (Flux cannot create them), Cilium and Flux's own too.
    assert.deepEqual(res(handedOff, "secrets-connect-token").ignoreChanges, []);
    assert.deepEqual(res(handedOff, "cni-cilium").ignoreChanges, []);
    // Still guarded: a create (after a partial loss of state) meets the hook, which refuses Flux's.
    assert.deepEqual(res(handedOff, "secrets-external-secrets").hooks, {
      beforeCreate: ["secrets-external-secrets-guard"],
      beforeUpdate: ["secrets-external-secrets-unlock"],
    });
  });

  it("a version bump after the hand-off changes nothing the engine would act on, and warns where to make it", async () => {
    const cfg = homeOpsConfig();
    const atHandOff = {
      "homeops:externalSecrets.version": cfg.externalSecrets.version,
      "homeops:connect.version": cfg.connect.version,
    };
    const opts = { completedBefore: ALL, fluxHandOffBefore: atHandOff };
    const { value: before, warned: quiet } = await warnings(() => evaluate(cfg, opts));
    assert.deepEqual(quiet, []);
    const { value: after, warned } = await warnings(() => evaluate(bumped(cfg), opts));
    assert.deepEqual(changedResources(before, after), []);
    assert.equal(warned.length, 2);
    warned.sort().reverse();
    assert.match(
      warned[0],
      /^homeops:externalSecrets.version is 0.18.0, but Flux owns external-secrets since the gitops phase completed, and this stack last applied 0.17.0/,
    );
    assert.match(
      warned[0],
      /Make the change in the GitOps repository \(https:\/\/github.com\/geoffdavis\/talos-gitops main, clusters\/home-ops\): the HelmRelease external-secrets-system\/external-secrets\.$/,
    );
    assert.match(
      warned[1],
      /^homeops:connect.version is 1.8.2, .* last applied 1.8.1: .*the Connect Deployment onepassword-connect\/onepassword-connect\.$/,
    );
    // The record stays what the stack applied, so the warning stays until the setting is put back.
    assert.deepEqual(after.outputs.fluxHandOff.value, atHandOff);
  });

  it("the same bump before the hand-off updates the release and the Deployment, without a warning", async () => {
    const cfg = homeOpsConfig();
    const { value: before } = await warnings(() => evaluate(cfg, { completedBefore: ALL.slice(0, 4) }));
    const { value: after, warned } = await warnings(() => evaluate(bumped(cfg), { completedBefore: ALL.slice(0, 4) }));
    assert.deepEqual(changedResources(before, after), [
      "kubernetes:apps/v1:Deployment secrets-connect-deployment",
      "kubernetes:helm.sh/v3:Release secrets-external-secrets",
    ]);
    assert.deepEqual(warned, []);
    assert.deepEqual(after.outputs.fluxHandOff.value, {
      "homeops:externalSecrets.version": "0.18.0",
      "homeops:connect.version": "1.8.2",
    });
  });

  it("operations.handedOffToFlux: the stack declares none of what Flux owns; dependants wait for what that waited for", async () => {
    const cfg = homeOpsConfig();
    const e = await evaluate({ ...cfg, operations: { ...cfg.operations, handedOffToFlux: true } });
    const names = e.resources.map((r) => r.name);
    for (const gone of [
      "secrets-external-secrets",
      "secrets-connect-deployment",
      "secrets-service-onepassword-connect",
      "secrets-service-onepassword-connect-sync",
    ])
      assert.ok(!names.includes(gone), gone);
    const deps = (name: string) =>
      res(e, name)
        .dependencies.map((u) => u.split("::").pop())
        .sort();
    // (the gate reads the kubeconfig on stdin: a data edge besides the plan's)
    assert.deepEqual(deps("secrets-eso-ready"), ["cluster-kubeconfig", "secrets-eso-namespace"]);
    assert.deepEqual(deps("secrets-cluster-secret-store"), [
      "secrets-connect-credentials",
      "secrets-connect-namespace",
      "secrets-connect-token",
      "secrets-eso-ready",
    ]);
    assert.ok(
      names.includes("secrets-connect-token") && names.includes("cni-cilium") && names.includes("gitops-flux-operator"),
    );
  });
});

describe("the hand-off, read from the stack's own last outputs (index.ts, components/previousDeployment.ts)", () => {
  async function runIndex(previousOutputs: Record<string, unknown>, raw = HOME_OPS_RAW_CONFIG) {
    await resetMocks({ ...CANARY_WORLD, previousOutputs });
    pulumi.runtime.setAllConfig(
      { ...asPulumiAllConfig(raw), "homeops:onepasswordServiceAccountToken": "ops_not_checked_here" },
      ["homeops:onepasswordServiceAccountToken"],
    );
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const main = require("../index") as () => Promise<Record<string, pulumi.Output<unknown>>>;
    const projectDir = scratchProject("homeops-index-");
    const cwd = process.cwd();
    process.chdir(projectDir);
    try {
      const { value: program, warned } = await warnings(() => main());
      const fluxHandOff = await valueOf(program.fluxHandOff);
      await settle();
      // The compatibility table's own warnings (config/compatibility.ts) are not the hand-off's.
      const handOffWarnings = warned.filter((w) => !/\(compatibility\.json "/.test(w));
      return { resources: [...recorded.resources], warned: handOffWarnings, fluxHandOff };
    } finally {
      process.chdir(cwd);
      fs.rmSync(projectDir, { recursive: true, force: true });
      pulumi.runtime.setAllConfig({});
    }
  }
  const bumpedRaw = {
    ...HOME_OPS_RAW_CONFIG,
    externalSecrets: { ...(HOME_OPS_RAW_CONFIG.externalSecrets as object), version: "0.18.0" },
  };

  it("phasesCompleted with gitops: what Flux owns ignores changes; the recorded version warns on a bump", async () => {
    const r = await runIndex(
      { phasesDeclared: ALL, phasesCompleted: ALL, fluxHandOff: { "homeops:externalSecrets.version": "0.17.0" } },
      bumpedRaw,
    );
    const eso = r.resources.find((x) => x.name === "secrets-external-secrets")!;
    assert.deepEqual(eso.ignoreChanges, ["*", "version"]);
    assert.equal(r.warned.length, 1);
    assert.match(r.warned[0], /homeops:externalSecrets.version is 0.18.0, .* last applied 0.17.0/);
    assert.equal((r.fluxHandOff as Record<string, string>)["homeops:externalSecrets.version"], "0.17.0");
  });

  it("an update from before the fluxHandOff output: the versions it exported are what it applied", async () => {
    const r = await runIndex(
      { phasesDeclared: ALL, phasesCompleted: ALL, externalSecretsVersion: "0.16.0", connectVersion: "1.8.1" },
      bumpedRaw,
    );
    assert.equal(r.warned.length, 1);
    assert.match(r.warned[0], /homeops:externalSecrets.version is 0.18.0, .* last applied 0.16.0/);
  });

  it("a new stack (no outputs) or one whose gitops phase never completed: nothing ignored, no warning", async () => {
    for (const previous of [{}, { phasesDeclared: ALL, phasesCompleted: ALL.slice(0, 4) }]) {
      const r = await runIndex(previous, bumpedRaw);
      assert.deepEqual(
        r.resources.filter((x) => x.ignoreChanges.length).map((x) => x.name),
        [],
      );
      assert.deepEqual(r.warned, []);
    }
  });
});

describe("the hand-off record (plan/handOff.ts)", () => {
  const plan = buildPlan(bumped(homeOpsConfig()));
  it("not handed off: the current values, no warning", () => {
    const s = handOffState(plan, ["talos", "cluster", "cni", "secrets"], { "homeops:connect.version": "0.1" });
    assert.equal(s.handedOff, false);
    assert.deepEqual(s.record, { "homeops:externalSecrets.version": "0.18.0", "homeops:connect.version": "1.8.2" });
    assert.deepEqual(s.warnings, []);
  });
  it("handed off: the recorded values; a setting without a record takes the current value", () => {
    const s = handOffState(plan, ALL, { "homeops:externalSecrets.version": "0.17.0" });
    assert.equal(s.handedOff, true);
    assert.deepEqual(s.record, { "homeops:externalSecrets.version": "0.17.0", "homeops:connect.version": "1.8.2" });
    assert.equal(s.warnings.length, 1);
  });
});
