/**
 * Simulated execution of the Kubernetes side: the Helm adoption guard (a release that exists
 * without a record in the state is refused with the one command that adopts it; adopted, the
 * re-run converges) and the kubectl gates (a retry always sleeps: an object that does not exist
 * yet makes `kubectl wait` fail at once, which must not become a busy loop).
 */
import { strict as assert } from "assert";
import { buildPlan, CommandStep, Plan, Step } from "../plan";
import { callsOf, fakeWorld, fastConfig, succeeded, withTimeouts, perTest } from "./helpers/simWorld";
import { scaledMs } from "./helpers/calibration";
import { StackConfig } from "../config/types";

const adopting = (cfg: StackConfig, ids: string[]): StackConfig => ({
  ...cfg,
  operations: { ...cfg.operations, adoptHelmReleases: ids as StackConfig["operations"]["adoptHelmReleases"] },
});

/** The plan without the adoption guards (each release depends on what its guard depended on). */
function withoutGuards(plan: Plan): Plan {
  const guards = new Map(plan.steps.filter((s) => s.id.endsWith("-adoption")).map((s) => [s.id, s.dependsOn]));
  const steps: Step[] = plan.steps
    .filter((s) => !guards.has(s.id))
    .map((s) => ({ ...s, dependsOn: s.dependsOn.flatMap((d) => guards.get(d) ?? [d]) }));
  return { ...plan, steps };
}

describe("simulated execution: Helm adoption and kubectl gates", function () {
  this.timeout(180000);
  const worlds = perTest();

  it("a lost state with the releases in the cluster: each guard refuses with the command that adopts its release; adopted, the re-run converges without reinstalling", async () => {
    const w = worlds.open(fastConfig());
    const r0 = await w.up();
    succeeded(r0);
    assert.match(r0.output["cilium-adoption"].stdout, /Helm release kube-system\/cilium is new/);
    const releases = () =>
      w
        .world()
        .k8s.objects.filter((o) => o.kind === "HelmRelease(pulumi)")
        .map((o) => `${o.metadata.namespace}/${o.metadata.name}@${o.createdAt}`);
    const installed = releases();
    assert.equal(installed.length, 3);

    w.state = { steps: {} };
    // Without its guard, the release's create meets the name in use (what Helm does): the engine's
    // model of it is not vacuous.
    const unguarded = await w.up({ plan: withoutGuards(w.plan) });
    assert.equal(unguarded.failed?.id, "cilium");
    assert.match(unguarded.failed!.message, /cannot re-use a name that is still in use/);

    w.state = { steps: {} };
    const adopted: string[] = [];
    for (const [index, id, namespace] of [
      [0, "cilium", "kube-system"],
      [1, "external-secrets", "external-secrets-system"],
      [2, "flux-operator", "flux-system"],
    ] as const) {
      const r = await w.up();
      assert.equal(r.failed?.id, `${id}-adoption`, JSON.stringify(r.failed));
      assert.ok(
        r.failed!.message.includes(
          `Helm release ${namespace}/${id} already exists in the cluster, but this stack has no record of it`,
        ),
        r.failed!.message,
      );
      assert.ok(
        r.failed!.message.endsWith(
          `Adopt it with: pulumi config set --path 'homeops:operations.adoptHelmReleases[${index}]' ${id} && pulumi up`,
        ),
        r.failed!.message,
      );
      adopted.push(id);
      w.cfg = adopting(w.cfg, adopted);
    }
    const r = await w.up();
    succeeded(r);
    assert.match(
      r.output["flux-operator-adoption"].stdout,
      /adopting the existing Helm release flux-system\/flux-operator/,
    );
    assert.deepEqual(releases(), installed, "adopted, not reinstalled");
    assert.deepEqual((await w.up()).ran, []);
  });

  it("a gate on an object that does not exist yet sleeps between attempts (no busy loop on NotFound)", async () => {
    const cfg = withTimeouts(fastConfig({ stopAfter: "cluster" }), { poll: 0.2, storeReady: 6 });
    const w = worlds.open(cfg);
    succeeded(await w.up());
    // A gate of the plan (eso-ready's script and settings), on an object that appears later.
    const esoReady = buildPlan({ ...cfg, stopAfter: "gitops" }).steps.find((s) => s.id === "eso-ready") as CommandStep;
    const id = "late-app-ready";
    const gate: CommandStep = {
      ...esoReady,
      id,
      dependsOn: ["api-ready"],
      env: { ...esoReady.env, STEP_ID: id, GATE_NAME: id, WAIT_FOR: "Available:default:deployment/late-app" },
    };
    const plan = { ...w.plan, steps: [...w.plan.steps, gate] };
    // Times scaled to the machine (helpers/calibration.ts), the poll by withTimeouts.
    const appearsAfterMs = scaledMs(1500);
    const pollMs = cfg.timeouts.poll * 1000;
    const timer = setTimeout(
      () =>
        fakeWorld.createK8sObject(w.dir, {
          kind: "Deployment",
          metadata: { name: "late-app", namespace: "default" },
        }),
      appearsAfterMs,
    );
    const r = await w.up({ plan }).finally(() => clearTimeout(timer));
    succeeded(r);
    assert.deepEqual(r.ran, ["late-app-ready"]);
    const waits = callsOf(w.calls(), "kubectl", "wait").filter((c) => c.argv.includes("deployment/late-app"));
    const failed = waits.filter((c) => c.exit !== 0);
    assert.ok(failed.length >= 3, `it retried (${failed.length} failed attempts)`);
    assert.ok(
      failed.length <= Math.ceil(appearsAfterMs / pollMs) + 2,
      `${failed.length} attempts in ${appearsAfterMs} ms`,
    );
    for (let i = 1; i < waits.length; i++) {
      const gap = waits[i].t - (waits[i - 1].t + waits[i - 1].ms);
      assert.ok(gap >= 0.75 * pollMs, `attempt ${i} came ${gap} ms after the previous one ended (poll: ${pollMs} ms)`);
    }
    assert.equal(waits[waits.length - 1].exit, 0);
  });
});
