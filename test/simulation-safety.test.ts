/**
 * Simulated execution of the safety branches: the mint guard (never a new identity while a node
 * may hold the old one), a node of another cluster, the maintenance/configured detection retrying
 * a node that does not answer yet, and the etcd bootstrap (only when no control plane's etcd
 * serves; never over stale data; never while a control plane cannot be asked).
 */
import { strict as assert } from "assert";
import {
  appliesTo,
  callsOf,
  fakeWorld,
  fastConfig,
  nodeOf,
  SimWorld,
  succeeded,
  withTimeouts,
  perTest,
  REAL_NODE_HANG_MS,
} from "./helpers/simWorld";
import { scaledMs } from "./helpers/calibration";
import { runtimeSettings } from "../plan/settings";

const [N1, N2, N3] = ["172.29.51.11", "172.29.51.12", "172.29.51.13"];

describe("simulated execution: safety branches", function () {
  this.timeout(120000);
  const worlds = perTest();

  describe("the mint guard (1Password has no bundle)", () => {
    const noMint = (s: SimWorld) => {
      const calls = s.calls();
      assert.equal(callsOf(calls, "talosctl", "gen secrets").length, 0, "no bundle generated");
      assert.equal(callsOf(calls, "op", "item create").length, 0, "nothing stored");
      assert.equal(callsOf(calls, "talosctl", "apply-config").length, 0, "no node touched");
      assert.equal(s.storedBundle(), undefined);
    };

    it("a node that is off proves nothing: the run fails with 'cannot prove' and never calls gen secrets", async () => {
      const w = worlds.open(fastConfig());
      fakeWorld.powerOff(w.dir, N2);
      const r = await w.up();
      assert.equal(r.failed?.id, "talos-secrets");
      assert.match(
        r.failed!.message,
        /cannot prove node 172\.29\.51\.12 is in maintenance mode \(.*connection refused/,
      );
      assert.match(r.failed!.message, /Refusing to mint a new cluster identity/);
      noMint(w);
    });

    it("a node whose probe never answers proves nothing either: bounded by the call timeout, then 'cannot prove'", async () => {
      const w = worlds.open(fastConfig());
      w.faults([{ tool: "talosctl", command: "get", node: N3, flags: { insecure: true }, kind: "timeout" }]);
      const started = Date.now();
      const r = await w.up();
      assert.equal(r.failed?.id, "talos-secrets");
      assert.match(
        r.failed!.message,
        new RegExp(
          `cannot prove node 172\\.29\\.51\\.13 is in maintenance mode \\(homeops: talosctl get timed out after ${runtimeSettings(w.cfg).CALL_TIMEOUT} s\\)`,
        ),
      );
      assert.ok(Date.now() - started < scaledMs(20000), "bounded");
      const hung = callsOf(w.calls(), "talosctl", "get", { node: N3 });
      assert.deepEqual(
        hung.map((c) => [c.fault?.kind, c.fault?.delivered, c.killed]),
        [["timeout", true, "SIGTERM"]],
        "the hung call was ended",
      );
      noMint(w);
    });

    it("a configured node: refuses to mint, naming the missing item", async () => {
      const w = worlds.open(fastConfig());
      succeeded(await w.up());
      fakeWorld.updateState(w.dir, (s) => {
        s.op.items = {};
      });
      const mark = w.calls().length;
      w.state = { steps: {} };
      const r = await w.up();
      assert.equal(r.failed?.id, "talos-secrets");
      assert.match(
        r.failed!.message,
        /already configured but 1Password has no item .*Refusing to mint a new cluster identity/,
      );
      assert.equal(callsOf(w.calls().slice(mark), "talosctl", "gen secrets").length, 0, "no second bundle");
    });
  });

  it("a node configured by another cluster is refused untouched (its identity is not ours)", async () => {
    const w = worlds.open(fastConfig());
    w.seedBundle();
    w.fake("talosctl", ["gen", "secrets", "--output-file", "other.yaml", "--force"]);
    const gen = ["gen", "config", "other", "https://172.29.51.10:6443", "--with-secrets", "other.yaml"];
    w.fake("talosctl", [...gen, "--output-types", "controlplane", "--output", "other.yaml.cp", "--force"]);
    w.fake("talosctl", ["apply-config", "--nodes", N3, "--endpoints", N3, "--insecure", "--file", "other.yaml.cp"]);
    const foreign = w.node("mini03").identity;
    assert.ok(foreign);
    const mark = w.calls().length;
    const r = await w.up();
    assert.equal(r.failed?.id, "apply-mini03");
    assert.match(
      r.failed!.message,
      /mini03 \(172\.29\.51\.13\) is configured with a different cluster identity; refusing to touch it/,
    );
    assert.equal(w.node("mini03").identity, foreign, "still the other cluster's");
    assert.notEqual(w.node("mini01").identity, foreign);
    assert.equal(
      callsOf(w.calls().slice(mark), "talosctl", "apply-config", { node: N3 }).length,
      0,
      "no apply, not even a dry run",
    );
    assert.ok(r.notStarted.includes("bootstrap"));
  });

  it("the maintenance/configured detection retries a node that does not answer yet, and waits out its install", async () => {
    // A 200 ms poll under deadlines of seconds: the node answers after three refused probes, and
    // its install takes longer than a poll, so each wait must retry to succeed (not by timing).
    const w = worlds.open(withTimeouts(fastConfig({ stopAfter: "talos" }), { poll: 0.2 }), {
      install: 1500,
    });
    w.seedBundle();
    w.faults([
      { tool: "talosctl", command: "get", node: N2, flags: { insecure: true }, kind: "unreachable", times: 3 },
    ]);
    const r = await w.up();
    succeeded(r);
    const calls = w.calls();
    const probes = callsOf(calls, "talosctl", "get", { node: N2, flags: { insecure: true } });
    assert.deepEqual(
      probes.map((c) => (c.fault?.delivered ? "refused" : c.exit)),
      ["refused", "refused", "refused", 0],
      "three refused probes, then maintenance mode",
    );
    const dryRuns = callsOf(calls, "talosctl", "apply-config", { node: N2, flags: { "dry-run": true } });
    assert.ok(dryRuns.length >= 2, `the install was waited for (${dryRuns.length} dry runs)`);
    assert.ok(dryRuns.slice(0, -1).every((c) => c.exit !== 0) && dryRuns[dryRuns.length - 1].exit === 0);
    assert.equal(appliesTo(calls, N2).insecure.length, 1);
    assert.equal(w.node("mini02").configHash !== null, true);
  });

  describe("etcd bootstrap", () => {
    it("the bootstrap node reset to maintenance while the others hold the cluster: the re-run installs it and it joins, with no bootstrap call anywhere", async () => {
      const w = worlds.open(fastConfig());
      succeeded(await w.up());
      const [cluster] = Object.keys(w.world().etcd.clusters);
      fakeWorld.toMaintenance(w.dir, N1);
      const mark = w.calls().length;
      w.state = { steps: {} };
      succeeded(await w.up());
      const fresh = w.calls().slice(mark);
      assert.deepEqual(callsOf(fresh, "talosctl", "bootstrap"), [], "no bootstrap call");
      assert.deepEqual(appliesTo(fresh, N1).insecure.length, 1, "mini01 installed again");
      const world = w.world();
      assert.deepEqual(world.cluster, { bootstrapCount: 1, bootstrapAlreadyExists: 0 });
      assert.deepEqual(Object.keys(world.etcd.clusters), [cluster], "still the one etcd cluster");
      assert.equal(world.nodes[N1].etcd?.cluster, cluster, "mini01 joined it");
      assert.deepEqual(
        Object.values(world.nodes).map((n) => n.etcdState),
        ["serving", "serving", "serving"],
      );
      assert.deepEqual(fakeWorld.quorumViolations(world), []);
    });

    it("stale etcd data of another cluster on the bootstrap node, no cluster: fails reporting the stale data; AlreadyExists is no success", async () => {
      const w = worlds.open(fastConfig(), {}, { nodeHangMs: REAL_NODE_HANG_MS });
      fakeWorld.giveStaleEtcdData(w.dir, N1);
      const r = await w.up();
      assert.equal(r.failed?.id, "bootstrap");
      assert.match(
        r.failed!.message,
        /mini01 has etcd data \(AlreadyExists\) but no control plane's etcd serves members: data of an earlier cluster\? .*talosctl reset --system-labels-to-wipe EPHEMERAL/,
      );
      assert.ok(r.notStarted.includes("kubeconfig"));
      const world = w.world();
      assert.equal(world.cluster.bootstrapCount, 0, "no etcd bootstrapped");
      assert.ok(world.nodes[N1].alreadyExists >= 1, "the node answered AlreadyExists");
      assert.deepEqual([...new Set(callsOf(w.calls(), "talosctl", "bootstrap").map(nodeOf))], [N1]);
    });

    it("a control plane whose calls go unanswered (packets dropped: no connection error before the probe's bound) blocks the bootstrap too", async () => {
      const w = worlds.open(fastConfig({ stopAfter: "talos" }));
      succeeded(await w.up());
      // Every call to mini03 hangs until the caller's bound ends it: the etcd probe is cut by
      // PROBE_TIMEOUT with no answer, which on its own cannot tell a node whose etcd is not
      // running yet (it blocks: etcd.go QueryLocal) from a node that does not answer at all.
      w.faults([{ tool: "talosctl", node: N3, kind: "timeout" }]);
      w.cfg = { ...w.cfg, stopAfter: "gitops" };
      const r1 = await w.up();
      assert.equal(r1.failed?.id, "bootstrap");
      assert.match(
        r1.failed!.message,
        /cannot reach control plane\(s\) 172\.29\.51\.13 to tell whether they hold the cluster's etcd; refusing to bootstrap a second etcd/,
      );
      assert.equal(callsOf(w.calls(), "talosctl", "bootstrap").length, 0, "no bootstrap");
      w.faults([]);
      succeeded(await w.up());
      assert.deepEqual(w.world().cluster, { bootstrapCount: 1, bootstrapAlreadyExists: 0 });
    });

    it("a control plane that cannot be asked blocks the bootstrap (it may hold the cluster's etcd); once it is back, one bootstrap", async () => {
      const w = worlds.open(fastConfig({ stopAfter: "talos" }));
      succeeded(await w.up());
      fakeWorld.powerOff(w.dir, N3);
      w.cfg = { ...w.cfg, stopAfter: "gitops" };
      const r1 = await w.up();
      assert.equal(r1.failed?.id, "bootstrap");
      assert.match(
        r1.failed!.message,
        /cannot reach control plane\(s\) 172\.29\.51\.13 to tell whether they hold the cluster's etcd; refusing to bootstrap a second etcd/,
      );
      assert.equal(callsOf(w.calls(), "talosctl", "bootstrap").length, 0);
      fakeWorld.powerOn(w.dir, N3);
      succeeded(await w.up());
      assert.deepEqual(w.world().cluster, { bootstrapCount: 1, bootstrapAlreadyExists: 0 });
      assert.deepEqual(callsOf(w.calls(), "talosctl", "bootstrap").map(nodeOf), [N1]);
    });
  });
});
