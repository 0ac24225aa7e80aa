/**
 * `pulumi destroy` under the real engine: it previews and runs (nothing is protected), leaves the
 * nodes alone unless operations.resetOnDestroy names them, and a renamed node is never reset.
 */
import { strict as assert } from "assert";
import { assertSucceeded, E2E_DELAYS, E2EStack, fakeWorld } from "./harness";

describe("real engine: destroy", function () {
  it("previews and runs; with no reset list every node stays configured", async () => {
    const s = new E2EStack({ world: { delaysMs: E2E_DELAYS } });
    try {
      assertSucceeded(await s.up(), "up");
      const preview = await s.pulumi(["destroy", "--preview-only", "--json"]);
      assertSucceeded(preview, "destroy --preview-only");
      const r = await s.destroy();
      assertSucceeded(r, "destroy");
      assert.equal(s.state().latest?.resources?.length ?? 0, 0, "the stack is empty");
      for (const n of Object.values(s.world().nodes) as any[]) {
        assert.equal(n.resets, 0, n.hostname);
        assert.equal(n.state, "configured", n.hostname);
      }
      assert.ok(!s.calls().some((c) => c.argv[0] === "reset"));
    } finally {
      s.cleanup();
    }
  });

  it("resets only the node resetOnDestroy names (STATE and EPHEMERAL, reboot, leaving etcd), and never a renamed one", async () => {
    const s = new E2EStack({ world: { delaysMs: E2E_DELAYS } });
    try {
      assertSucceeded(await s.up(), "up");
      // mini02 is renamed (same machine, new hostname) while the list still names its old name.
      s.setConfig({ "homeops:operations": { resetOnDestroy: ["mini03", "mini02"] } });
      const nodes = s.config()["homeops:nodes"] as Record<string, unknown>[];
      nodes[1] = { ...nodes[1], hostname: "mini02b" };
      s.setConfig({ "homeops:nodes": nodes, "homeops:operations": { resetOnDestroy: ["mini03", "mini02b"] } });
      const rename = await s.up();
      assertSucceeded(rename, "up with the rename");
      assert.equal(
        s.world().nodes["127.0.0.12"].resets,
        0,
        "the renamed node's old resource was deleted without a reset",
      );
      assert.equal(s.world().nodes["127.0.0.12"].appliedHostname, "mini02b");
      s.setConfig({ "homeops:operations": { resetOnDestroy: ["mini03"] } });
      assertSucceeded(await s.preview(), "preview (writes the settings)");
      const r = await s.destroy();
      assertSucceeded(r, "destroy");
      const world = s.world();
      assert.equal(world.nodes["127.0.0.13"].resets, 1);
      assert.deepEqual(world.nodes["127.0.0.13"].lastReset.labels, ["STATE", "EPHEMERAL"]);
      assert.equal(world.nodes["127.0.0.13"].lastReset.reboot, true);
      assert.equal(world.nodes["127.0.0.13"].lastReset.graceful, true, "left etcd first: two members remain");
      assert.equal(world.nodes["127.0.0.13"].state, "maintenance");
      for (const a of ["127.0.0.11", "127.0.0.12"]) {
        assert.equal(world.nodes[a].resets, 0, a);
        assert.equal(world.nodes[a].state, "configured", a);
      }
      assert.deepEqual(fakeWorld.quorumViolations(world), []);
    } finally {
      s.cleanup();
    }
  });
});
