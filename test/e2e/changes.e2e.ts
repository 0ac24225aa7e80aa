/**
 * Day-2 changes under the real engine: a node added to a running cluster previews as its own
 * steps plus the gates that list nodes (nothing replaced) and joins; a lowered stopAfter never
 * deletes a phase an earlier up built.
 */
import { strict as assert } from "assert";
import { assertSucceeded, E2E_DELAYS, E2EStack, fakeWorld, stepOps } from "./harness";

const FOUR_NODES = [
  { address: "127.0.0.11", hostname: "mini01" },
  { address: "127.0.0.12", hostname: "mini02" },
  { address: "127.0.0.13", hostname: "mini03" },
  { address: "127.0.0.14", hostname: "mini04" },
];

describe("real engine: day-2 changes", function () {
  let s: E2EStack;
  before(() => {
    s = new E2EStack({ world: { delaysMs: E2E_DELAYS, nodes: FOUR_NODES } });
  });
  after(() => s?.cleanup());

  it("adding a node: the preview shows its apply and the node-listing steps, nothing replaced; up joins it", async () => {
    assertSucceeded(await s.up(), "first up with three nodes");
    const nodes = s.config()["homeops:nodes"] as Record<string, unknown>[];
    s.setConfig({
      "homeops:nodes": [...nodes, { hostname: "mini04", address: "127.0.0.14", role: "controlplane" }],
    });
    const p = await s.preview();
    assertSucceeded(p, "preview");
    const changes = (p.events[0].steps as { op: string; urn: string }[])
      .filter((st) => st.op !== "same" && st.op !== "read")
      .map((st) => `${st.op} ${st.urn.split("::").pop()}`)
      .sort();
    assert.deepEqual(changes, ["create talos-apply-mini04", "update cluster-api-ready", "update talos-talosconfig"]);
    const r = await s.up();
    assertSucceeded(r, "up with the new node");
    const ops = stepOps(r.events);
    assert.deepEqual(ops["talos-apply-mini04"], ["create"]);
    assert.deepEqual(ops["cluster-bootstrap"], ["same"], "no bootstrap for a node joining");
    const world = s.world();
    assert.equal(world.nodes["127.0.0.14"].state, "configured");
    assert.equal(world.nodes["127.0.0.14"].identity, world.nodes["127.0.0.11"].identity);
    assert.equal(world.cluster.bootstrapCount, 1);
    assert.deepEqual(fakeWorld.quorumViolations(world), []);
  });

  it("lowering stopAfter keeps the cluster phase declared: no delete, a warning says why", async () => {
    s.setConfig({ "homeops:stopAfter": "talos" });
    const p = await s.preview(["--expect-no-changes"]);
    assertSucceeded(p, "preview with stopAfter lowered");
    const r = await s.up();
    assertSucceeded(r, "up with stopAfter lowered");
    const ops = stepOps(r.events);
    assert.ok(!Object.values(ops).some((o) => o.includes("delete")), JSON.stringify(ops));
    assert.deepEqual(ops["cluster-bootstrap"], ["same"]);
    const warnings = r.events
      .filter((e) => e.diagnosticEvent?.severity === "warning")
      .map((e) => e.diagnosticEvent.message as string);
    assert.ok(
      warnings.some((w) => /stopAfter is talos, but an earlier update deployed phases up to cluster/.test(w)),
      warnings.join("\n"),
    );
  });
});
