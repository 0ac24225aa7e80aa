/**
 * Deleting nodes' applies (simulated): `pulumi destroy`, or a node renamed in the stack (the old
 * resource is deleted at the end of the update). Delete scripts run with the environment and stdin
 * stored at the last apply, as the command provider does; the reset list is read from the settings
 * file at run time. A node is reset only when operations.resetOnDestroy names it and it still runs
 * the config its resource applied; a reset wipes STATE and EPHEMERAL, reboots, and is done only
 * once the node answers in maintenance mode. What Flux adopts stays.
 */
import { strict as assert } from "assert";
import { writeRuntimeSettings } from "../components/runtimeFiles";
import { StackConfig } from "../config/types";
import { callsOf, fastConfig, hasFlag, nodeOf, succeeded, withTimeouts, perTest } from "./helpers/simWorld";

const N3 = "172.29.51.13";

const resetting = (cfg: StackConfig, hostnames: string[]): StackConfig => ({
  ...cfg,
  operations: { ...cfg.operations, resetOnDestroy: hostnames },
});

describe("destroy and deleted nodes (simulated)", function () {
  this.timeout(120000);
  const worlds = perTest();

  it("by default resets nothing: every node stays configured and running, every Kubernetes object stays", async () => {
    const w = worlds.open(fastConfig());
    succeeded(await w.up());
    const objectsBefore = w.world().k8s.objects.length;
    const r = await w.destroy();
    assert.equal(r.failed, undefined, r.failed);
    assert.equal(r.deleted.length, w.plan.steps.length);
    assert.deepEqual(callsOf(w.calls(), "talosctl", "reset"), []);
    for (const n of Object.values(w.world().nodes)) {
      assert.deepEqual([n.stage, n.resets], ["running", 0], n.hostname);
      assert.match(
        r.output[`apply-${n.hostname}`].stderr,
        /leaving mini0\d as it is \(not listed in operations\.resetOnDestroy\)/,
      );
    }
    assert.equal(w.world().k8s.objects.length, objectsBefore, "Cilium, Connect, ESO, Flux stay");
  });

  it("the reset list is read at run time: listed after the apply, mini03 alone is reset (STATE and EPHEMERAL, reboot, graceful), and destroy waits until it answers in maintenance mode", async () => {
    const w = worlds.open(withTimeouts(fastConfig(), { poll: 0.1 }), { reboot: 1500 });
    succeeded(await w.up());
    // Listing the node changes no input: the next up runs nothing but writes the settings.
    w.cfg = resetting(w.cfg, ["mini03"]);
    assert.deepEqual((await w.up()).ran, []);
    const mark = w.calls().length;
    const r = await w.destroy();
    const endedAt = Date.now();
    assert.equal(r.failed, undefined, r.failed);
    const fresh = w.calls().slice(mark);
    const resets = callsOf(fresh, "talosctl", "reset");
    assert.deepEqual(resets.map(nodeOf), [N3]);
    const argv = resets[0].argv.join(" ");
    assert.match(argv, /--system-labels-to-wipe STATE --system-labels-to-wipe EPHEMERAL/);
    assert.ok(hasFlag(resets[0], "reboot"));
    assert.match(argv, /--graceful=true/, "other etcd members remain: leave gracefully");
    assert.doesNotMatch(argv, /--wipe-mode/);
    const probes = callsOf(fresh, "talosctl", "get", { node: N3, flags: { insecure: true } }).filter(
      (c) => c.t > resets[0].t,
    );
    assert.ok(probes.length >= 2 && probes[0].exit !== 0, "the node was rebooting at first");
    assert.equal(probes[probes.length - 1].exit, 0, "then answered in maintenance mode");
    assert.ok(probes[probes.length - 1].t + probes[probes.length - 1].ms <= endedAt);
    const nodes = w.world().nodes;
    assert.deepEqual([nodes[N3].stage, nodes[N3].resets, nodes[N3].config], ["maintenance", 1, null]);
    assert.deepEqual(nodes[N3].lastReset?.labels, ["STATE", "EPHEMERAL"]);
    for (const a of ["172.29.51.11", "172.29.51.12"])
      assert.deepEqual([nodes[a].stage, nodes[a].resets], ["running", 0]);
    const [cluster] = Object.values(w.world().etcd.clusters);
    assert.deepEqual(cluster.members.map((m) => m.name).sort(), ["mini01", "mini02"], "mini03 left etcd");
  });

  it("and listed at the apply but unlisted before destroy, no node is reset (the last evaluation's list counts)", async () => {
    const w = worlds.open(resetting(fastConfig(), ["mini03"]));
    succeeded(await w.up());
    w.cfg = resetting(w.cfg, []);
    writeRuntimeSettings(w.projectDir, w.plan); // a preview of the new config
    const r = await w.destroy();
    assert.equal(r.failed, undefined, r.failed);
    assert.deepEqual(callsOf(w.calls(), "talosctl", "reset"), []);
    assert.equal(w.node("mini03").stage, "running");
  });

  it("a node renamed in the stack (same address, the old name still listed) is never reset: not when its old resource is deleted, not on destroy", async () => {
    const w = worlds.open(resetting(fastConfig(), ["mini03"]));
    succeeded(await w.up());
    const nodes = w.cfg.nodes.map((n) => (n.hostname === "mini03" ? { ...n, hostname: "mini04" } : n));
    w.cfg = resetting({ ...w.cfg, nodes }, ["mini03"]);
    const r = await w.up();
    succeeded(r);
    assert.ok(r.ran.includes("apply-mini04"));
    assert.deepEqual(r.deleted, ["apply-mini03"], "the old resource is deleted at the end of the update");
    assert.match(
      r.output["apply-mini03"].stderr,
      /leaving mini03 \(172\.29\.51\.13\): it no longer runs the config this stack applied as mini03/,
    );
    assert.deepEqual([w.node("mini04").appliedHostname, w.node("mini04").stage], ["mini04", "running"]);
    const d = await w.destroy();
    assert.equal(d.failed, undefined, d.failed);
    assert.deepEqual(callsOf(w.calls(), "talosctl", "reset"), []);
    assert.deepEqual([w.node("mini04").stage, w.node("mini04").resets], ["running", 0]);
  });
});
