/**
 * `pulumi destroy` (simulated: delete scripts run with the stored environment and stdin, as the
 * command provider does; retained objects stay): never resets or wipes a node, and leaves what
 * Flux adopted in place, unless operations.resetOnDestroy names the node.
 */
import { strict as assert } from "assert";
import { callsWith, fastConfig, SimWorld } from "./helpers/simWorld";
import { destroy } from "./sim/engine";

describe("destroy (simulated)", function () {
  this.timeout(60000);
  let w: SimWorld;
  afterEach(() => w?.cleanup());

  it("leaves every node configured and every Kubernetes object in place by default", async () => {
    w = new SimWorld(fastConfig());
    assert.equal((await w.up()).failed, undefined);
    const objectsBefore = w.world().k8s.objects.length;
    const r = await destroy(w.plan, w.state, w.options);
    assert.equal(r.failed, undefined);
    assert.equal(r.deleted.length, w.plan.steps.length);
    assert.equal(callsWith(w.calls(), "talosctl", "reset").length, 0);
    for (const node of Object.values(w.world().nodes) as { state: string; resets: number }[]) {
      assert.equal(node.state, "configured");
      assert.equal(node.resets, 0);
    }
    assert.equal(w.world().k8s.objects.length, objectsBefore, "Cilium, Connect, ESO, Flux stay");
  });

  it("with resetOnDestroy: [mini03], resets only mini03, wiping STATE and EPHEMERAL with a reboot", async () => {
    const cfg = fastConfig();
    w = new SimWorld({ ...cfg, operations: { resetOnDestroy: ["mini03"], adoptHelmReleases: [] } });
    assert.equal((await w.up()).failed, undefined);
    const r = await destroy(w.plan, w.state, w.options);
    assert.equal(r.failed, undefined, r.failed);
    const resets = callsWith(w.calls(), "talosctl", "reset");
    assert.equal(resets.length, 1);
    assert.ok(resets[0].argv.includes("172.29.51.13"));
    const args = resets[0].argv.join(" ");
    assert.match(args, /--system-labels-to-wipe STATE --system-labels-to-wipe EPHEMERAL/);
    assert.match(args, /--reboot/);
    assert.doesNotMatch(args, /--wipe-mode/);
    const nodes = w.world().nodes;
    assert.equal(nodes["172.29.51.13"].resets, 1);
    assert.equal(nodes["172.29.51.11"].resets, 0);
    assert.equal(nodes["172.29.51.12"].resets, 0);
  });
});
