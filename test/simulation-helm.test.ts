/**
 * Simulated execution of the Kubernetes side: Helm releases after a lost state (their create hook
 * adopts this stack's own releases in place; the miniature engine models the hook with its real
 * decision, k8s/helmAdoption.ts, and test/e2e proves it under the real engine, provider and API
 * server) and the kubectl gates (a retry always sleeps: an object that does not exist yet makes
 * `kubectl wait` fail at once, which must not become a busy loop).
 */
import { strict as assert } from "assert";
import { buildPlan, CommandStep } from "../plan";
import { callsOf, fakeWorld, fastConfig, succeeded, withTimeouts, perTest } from "./helpers/simWorld";
import { scaledMs } from "./helpers/calibration";

describe("simulated execution: Helm releases after a lost state, and kubectl gates", function () {
  this.timeout(180000);
  const worlds = perTest();

  it("a lost state with the releases in the cluster converges with no setting: adopted in place, not reinstalled; then a no-op", async () => {
    const w = worlds.open(fastConfig());
    succeeded(await w.up());
    const releases = () =>
      w
        .world()
        .k8s.objects.filter((o) => o.kind === "HelmRelease(pulumi)")
        .map((o) => `${o.metadata.namespace}/${o.metadata.name}@${o.createdAt}`);
    const installed = releases();
    assert.equal(installed.length, 3);
    w.state = { steps: {} };
    const r = await w.up();
    succeeded(r);
    assert.ok(
      ["cilium", "external-secrets", "flux-operator"].every((id) => r.ran.includes(id)),
      r.ran.join(" "),
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
