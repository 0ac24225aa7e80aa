/**
 * Moving the `bootstrap: true` mark (as removing the bootstrap node requires, config/removal.ts)
 * re-runs the bootstrap step with the new node, and that step never bootstraps a second etcd: it
 * sees the running cluster's etcd serve members (talos/scripts/bootstrap.ts), simulated on the
 * fake nodes (test/fakes).
 */
import { strict as assert } from "assert";
import { StackConfig } from "../config/types";
import { callsOf, fastConfig, perTest, succeeded } from "./helpers/simWorld";

const movingMark = (cfg: StackConfig, to: string): StackConfig => ({
  ...cfg,
  nodes: cfg.nodes.map((n) => ({ ...n, bootstrap: n.hostname === to })),
});

describe("moving the bootstrap mark on a running cluster (simulated)", function () {
  this.timeout(600000);
  const worlds = perTest();

  it("re-runs the bootstrap step for mini02, which calls no talosctl bootstrap: etcd serves", async () => {
    const w = worlds.open(fastConfig());
    succeeded(await w.up());
    assert.equal(callsOf(w.calls(), "talosctl", "bootstrap").length, 1, "the first up bootstrapped once");
    const mark = w.calls().length;
    w.cfg = movingMark(w.cfg, "mini02");
    const r = await w.up();
    succeeded(r);
    assert.ok(r.ran.includes("bootstrap"), `the bootstrap step re-ran: ${r.ran.join(", ")}`);
    assert.deepEqual(callsOf(w.calls().slice(mark), "talosctl", "bootstrap"), []);
    assert.match(r.output.bootstrap.stderr, /etcd serves members on .*: the cluster is bootstrapped/);
  });
});
