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
import { runScript } from "./sim/engine";
import { userDataWipes } from "../policy/rules/reset";
import { SCRIPTS } from "../talos/scripts";
import { allTalosctlInvocations } from "../talos/talosctl";
import { callsOf, fastConfig, hasFlag, nodeOf, succeeded, withTimeouts, perTest, SimWorld } from "./helpers/simWorld";
import { scaledMs } from "./helpers/calibration";

const N3 = "172.29.51.13";

/**
 * The delete scripts of every node's apply at once, as the engine runs the deletes of independent
 * resources (pulumi destroy runs them in parallel), each with its stored environment and stdin.
 */
async function deleteAllAtOnce(w: SimWorld) {
  const ids = w.cfg.nodes.map((n) => `apply-${n.hostname}`);
  return Promise.all(
    ids.map((id) => {
      const st = w.state.steps[id];
      return runScript(st.deleteScript!, st.env, st.stdin, { ...w.options, stepTimeoutMs: scaledMs(300000) });
    }),
  );
}

const resetting = (cfg: StackConfig, hostnames: string[]): StackConfig => ({
  ...cfg,
  operations: { ...cfg.operations, resetOnDestroy: hostnames },
});

describe("safe reset never wipes user data (the USB SSD holding Longhorn's data)", () => {
  it("no script's talosctl reset, and no reset argv the program builds, names a user disk, a user volume or another wipe mode", () => {
    const lines = Object.entries(SCRIPTS).flatMap(([name, text]) =>
      text
        .split("\n")
        .filter((l) => /"\$TALOSCTL" "reset"|talosctl reset /.test(l) && !/^\s*#/.test(l))
        .map((l) => ({ name, l })),
    );
    assert.ok(
      lines.some((x) => x.name === "node-reset"),
      "the reset script was found",
    );
    for (const { name, l } of lines) assert.deepEqual(userDataWipes(l), [], `${name}: ${l}`);
    const argvs = allTalosctlInvocations().filter((a) => a[0] === "reset");
    assert.equal(argvs.length, 1);
    for (const a of argvs) {
      assert.deepEqual(userDataWipes(a.map((x) => `"${x}"`).join(" ")), [], a.join(" "));
      assert.ok(a.includes("--system-labels-to-wipe"), "labels given: never the whole disk");
    }
  });
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

  it("every control plane listed, deletes at once: reset one at a time under the rolling lock, each after the previous answered in maintenance mode; graceful while other etcd members remain, the last member not", async function () {
    this.timeout(scaledMs(900000));
    // A reset node takes 15 s to come back in maintenance mode: far longer than the next script's
    // own calls, so a lock given up before that shows whatever the machine's load.
    const w = worlds.open(withTimeouts(fastConfig(), { nodeReady: 60, apiReady: 60, health: 60 }), { reboot: 15000 });
    succeeded(await w.up());
    w.cfg = resetting(w.cfg, ["mini01", "mini02", "mini03"]);
    assert.deepEqual((await w.up()).ran, []);
    const mark = w.calls().length;
    const results = await deleteAllAtOnce(w);
    assert.deepEqual(
      results.map((r) => r.code),
      [0, 0, 0],
      results.map((r) => r.stderr).join("\n"),
    );
    const fresh = w.calls().slice(mark);
    const resets = callsOf(fresh, "talosctl", "reset").sort((a, b) => a.t - b.t);
    assert.equal(resets.length, 3);
    for (let i = 1; i < resets.length; i++) {
      const prev = nodeOf(resets[i - 1])!;
      const back = callsOf(fresh, "talosctl", "get", { node: prev, flags: { insecure: true } }).filter(
        (c) => c.exit === 0 && c.t > resets[i - 1].t,
      );
      assert.ok(
        back.length > 0 && back[0].t + back[0].ms <= resets[i].t,
        `${nodeOf(resets[i])} was reset only after ${prev} answered in maintenance mode`,
      );
    }
    assert.deepEqual(
      resets.map((c) => c.argv.find((a) => a.startsWith("--graceful="))),
      ["--graceful=true", "--graceful=true", "--graceful=false"],
      "the last etcd member cannot leave: reset without the leave",
    );
    for (const n of Object.values(w.world().nodes)) {
      assert.deepEqual([n.stage, n.resets, n.lastReset?.outcome], ["maintenance", 1, "reset"], n.hostname);
    }
  });

  it("the reset list is matched by the exact hostname: listing mini10 resets mini10 and never mini1", async function () {
    this.timeout(scaledMs(900000));
    const renamed = { mini02: "mini1", mini03: "mini10" } as Record<string, string>;
    const cfg = fastConfig();
    const nodes = cfg.nodes.map((n) => ({ ...n, hostname: renamed[n.hostname] ?? n.hostname }));
    const w = worlds.open(
      withTimeouts(resetting({ ...cfg, nodes }, ["mini10"]), { nodeReady: 60, apiReady: 60, health: 60 }),
      { reboot: 500 },
    );
    succeeded(await w.up());
    const r = await w.destroy();
    assert.equal(r.failed, undefined, r.failed);
    assert.deepEqual(callsOf(w.calls(), "talosctl", "reset").map(nodeOf), [N3]);
    assert.deepEqual([w.node("mini1").stage, w.node("mini1").resets], ["running", 0]);
    assert.match(r.output["apply-mini1"].stderr, /leaving mini1 as it is \(not listed in operations\.resetOnDestroy\)/);
    assert.equal(w.node("mini10").stage, "maintenance");
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
