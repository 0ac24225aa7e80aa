/**
 * Simulated execution: the plan's real scripts under /bin/sh against the fake talosctl/kubectl/op/
 * curl, driven by the miniature engine (test/sim/engine.ts). First run, no-op re-run, one node's
 * change, lost state, resume after a failure, gates that never pass. Every run asserts that no fake
 * rejected an argv (SimWorld.up), and every world's TMPDIR must be empty at the end.
 */
import { strict as assert } from "assert";
import {
  appliesTo,
  callsOf,
  fakeWorld,
  fastConfig,
  nodeOf,
  succeeded,
  withSysctl,
  withTimeouts,
  perTest,
  REAL_NODE_HANG_MS,
} from "./helpers/simWorld";
import { scaledMs } from "./helpers/calibration";

describe("simulated execution against fake talosctl/kubectl/op", function () {
  this.timeout(120000);
  const worlds = perTest();

  it("etcd slow to serve after the bootstrap (a loaded node): bootstrap is called once, never met with AlreadyExists", async () => {
    // The bootstrapped etcd serves only after several probes of the bootstrap loop were cut by
    // PROBE_TIMEOUT (2 s idle): each such round once called bootstrap again (AlreadyExists).
    const w = worlds.open(
      withTimeouts(fastConfig(), { apiReady: 20 }),
      { bootstrap: 4500 },
      { nodeHangMs: REAL_NODE_HANG_MS },
    );
    succeeded(await w.up());
    const boot = w.cfg.nodes.find((n) => n.bootstrap)!;
    assert.deepEqual(callsOf(w.calls(), "talosctl", "bootstrap").map(nodeOf), [boot.address], "one bootstrap call");
    assert.deepEqual(w.world().cluster, { bootstrapCount: 1, bootstrapAlreadyExists: 0 });
  });

  it("a bootstrap that took effect but whose etcd outlives the wait fails as slow, never as an earlier cluster's data", async () => {
    // apiReady is 6 s idle: this etcd serves only after it
    const w = worlds.open(fastConfig(), { bootstrap: 9000 }, { nodeHangMs: REAL_NODE_HANG_MS });
    const r = await w.up();
    assert.equal(r.failed?.id, "bootstrap", JSON.stringify(r.failed));
    assert.match(r.failed!.message, /etcd on mini01 did not come up within \d+ s/);
    assert.doesNotMatch(r.failed!.message, /earlier cluster/);
    assert.equal(w.world().cluster.bootstrapCount, 1);
    assert.equal(w.world().cluster.bootstrapAlreadyExists, 0);
  });

  it("first run: each node installed once from maintenance mode, etcd bootstrapped on the bootstrap node only (no AlreadyExists anywhere), Flux Ready", async () => {
    // etcd probes of nodes whose etcd is down really hang here: the scripts' bound must end them.
    const w = worlds.open(fastConfig(), {}, { nodeHangMs: REAL_NODE_HANG_MS });
    const r = await w.up();
    succeeded(r);
    assert.deepEqual([...r.ran].sort(), w.plan.steps.map((s) => s.id).sort());
    const calls = w.calls();
    assert.ok(
      callsOf(calls, "talosctl", "etcd members").some((c) => c.killed === "SIGTERM"),
      "a probe of an etcd not serving yet hung until the scripts' bound (PROBE_TIMEOUT) ended it",
    );
    for (const n of w.cfg.nodes) {
      const a = appliesTo(calls, n.address);
      assert.deepEqual(
        a.all.map((c) => [c.exit, a.insecure.includes(c)]),
        [[0, true]],
        `${n.hostname}: one insecure install`,
      );
    }
    const boot = w.cfg.nodes.find((n) => n.bootstrap)!;
    assert.deepEqual(
      callsOf(calls, "talosctl", "bootstrap").map(nodeOf),
      [boot.address],
      "bootstrap called once, there",
    );
    const world = w.world();
    assert.deepEqual(world.cluster, { bootstrapCount: 1, bootstrapAlreadyExists: 0 });
    for (const n of Object.values(world.nodes)) {
      assert.deepEqual(
        [n.stage, n.etcdState, n.bootstraps, n.alreadyExists],
        ["running", "serving", n.address === boot.address ? 1 : 0, 0],
        n.hostname,
      );
    }
    const clusters = Object.values(world.etcd.clusters);
    assert.equal(clusters.length, 1, "one etcd cluster");
    assert.deepEqual(clusters[0].members.map((m) => m.name).sort(), ["mini01", "mini02", "mini03"]);
    assert.deepEqual(fakeWorld.quorumViolations(world), []);
    assert.equal(callsOf(calls, "talosctl", "gen secrets").length, 1, "the bundle was minted once");
    assert.equal(callsOf(calls, "op", "item create").length, 1, "and stored once");
    assert.deepEqual(Object.keys(world.factory.schematics), [w.plan.schematicId], "the installer's schematic");
    assert.ok(w.plan.installerImage.endsWith(`${w.plan.schematicId}:v1.10.5`));
    assert.deepEqual(
      calls.filter((c) => c.command === undefined).map((c) => `${c.tool} ${c.argv.join(" ")}`),
      [],
      "every call was parsed (a rejected argv is also a usage error, which SimWorld.up refuses)",
    );
  });

  it("the usage-error check can fail: a call with a flag the CLI lacks, whose failure a script ignores, fails the run's check", async () => {
    const w = worlds.open(fastConfig({ stopAfter: "talos" }));
    const inlineScripts = new Map([["schematic", "talosctl version --client --bogus-flag >/dev/null 2>&1 || :"]]);
    await assert.rejects(
      w.up({ options: { inlineScripts } }),
      /a fake rejected an argv[\s\S]*unknown flag: --bogus-flag/,
    );
  });

  it("a second run with nothing changed runs nothing and calls nothing", async () => {
    const w = worlds.open(fastConfig());
    succeeded(await w.up());
    const before = w.calls().length;
    const r = await w.up();
    assert.deepEqual(r.ran, []);
    assert.equal(r.unchanged.length, w.plan.steps.length);
    assert.equal(w.calls().length, before);
  });

  it("one node's live change: only its apply runs; it holds the new config, after exactly one changed apply, none insecure, no reboot", async () => {
    const w = worlds.open(fastConfig());
    succeeded(await w.up());
    const before = w.world().nodes;
    const mark = w.calls().length;
    w.cfg = withSysctl(w.cfg, "mini02", "vm.swappiness", "10");
    const r = await w.up();
    succeeded(r);
    assert.deepEqual(r.ran, ["apply-mini02"]);
    const fresh = w.calls().slice(mark);
    const after = w.world().nodes;
    for (const n of w.cfg.nodes) {
      const a = appliesTo(fresh, n.address);
      const b = before[n.address];
      const x = after[n.address];
      assert.equal(a.insecure.length, 0, `${n.hostname}: no insecure apply of a configured node`);
      assert.equal(x.insecureApplies, 1, n.hostname);
      if (n.hostname === "mini02") {
        assert.equal(a.all.length, 1, "one real apply");
        assert.equal(x.changedApplies, b.changedApplies + 1, "exactly one changed apply");
        assert.equal(x.unchangedApplies, b.unchangedApplies, "no apply of an unchanged config");
        assert.equal(x.reboots, b.reboots, "a sysctl applies live");
        assert.match(x.config!.text, /vm\.swappiness: "10"/, "the node runs the new config");
        assert.notEqual(x.configHash, b.configHash);
      } else {
        assert.equal(a.all.length, 0, n.hostname);
        assert.equal(x.configHash, b.configHash, n.hostname);
      }
    }
    assert.equal(callsOf(fresh, "talosctl", "bootstrap").length, 0);
  });

  it("a lost Pulumi state re-reads the bundle from 1Password and converges: same identity, no install, no bootstrap call", async () => {
    const w = worlds.open(fastConfig());
    succeeded(await w.up());
    const identity = w.node("mini01").identity;
    const mark = w.calls().length;
    w.state = { steps: {} };
    // The Helm releases exist without a record in the state: their create hooks adopt them (the
    // releases carry this stack's mark).
    succeeded(await w.up());
    const fresh = w.calls().slice(mark);
    for (const n of w.cfg.nodes) {
      assert.equal(w.node(n.hostname).identity, identity, n.hostname);
      assert.equal(appliesTo(fresh, n.address).all.length, 0, `${n.hostname} already runs its config`);
    }
    assert.equal(callsOf(fresh, "talosctl", "gen secrets").length, 0);
    assert.equal(callsOf(fresh, "op", "item create").length, 0);
    assert.equal(callsOf(fresh, "talosctl", "bootstrap").length, 0, "etcd serves: no bootstrap call");
    assert.deepEqual(w.world().cluster, { bootstrapCount: 1, bootstrapAlreadyExists: 0 });
  });

  for (const { step, fault, message } of [
    {
      step: "apply-mini02",
      fault: { command: "apply-config", node: "172.29.51.12", flags: { "dry-run": false }, kind: "unreachable" },
      message: /apply-config to mini02 failed: .*connection refused/,
    },
    { step: "bootstrap", fault: { command: "bootstrap", kind: "exit" }, message: /etcd on mini01 did not come up/ },
    {
      step: "api-ready",
      fault: { tool: "kubectl", command: "get", flags: { raw: "/readyz" }, kind: "exit" },
      message: /API server at https:\/\/172\.29\.51\.10:6443 is not ready after (?<seconds>\d+) s/,
    },
  ] as const) {
    it(`a failure at ${step} fails it boundedly with the reason, and the re-run converges`, async () => {
      const w = worlds.open(withTimeouts(fastConfig(), { apiReady: 3 }));
      w.faults([{ tool: "talosctl", ...fault }]);
      const r1 = await w.up();
      assert.equal(r1.failed?.id, step, JSON.stringify(r1.failed));
      assert.match(r1.failed!.message, message);
      const seconds = message.exec(r1.failed!.message)?.groups?.seconds;
      if (seconds !== undefined) assert.equal(Number(seconds), w.cfg.timeouts.apiReady, "the stack's deadline");
      assert.ok(
        w.calls().some((c) => c.fault?.delivered),
        "the injected failure reached the script",
      );
      w.faults([]);
      const r2 = await w.up();
      succeeded(r2);
      assert.ok(r2.ran.includes(step));
      assert.deepEqual(w.world().cluster, { bootstrapCount: 1, bootstrapAlreadyExists: 0 });
      assert.deepEqual((await w.up()).ran, []);
    });
  }

  it("refuses to install when Image Factory's ID differs from the installer image's, before touching a node", async () => {
    const w = worlds.open(fastConfig());
    const plan = w.plan;
    const steps = plan.steps.map((s) =>
      s.kind === "command" && s.id === "schematic" ? { ...s, env: { ...s.env, SCHEMATIC_ID: "0".repeat(64) } } : s,
    );
    const r = await w.up({ plan: { ...plan, steps } });
    assert.equal(r.failed?.id, "schematic");
    assert.match(r.failed!.message, /refusing to install an image of another schematic/);
    assert.equal(callsOf(w.calls(), "talosctl", "apply-config").length, 0);
  });

  it("the connection dropping during the install is verified, not retried: one install, the node runs its config", async () => {
    const w = worlds.open(fastConfig(), { install: 300 });
    w.faults([
      { tool: "talosctl", command: "apply-config", node: "172.29.51.13", flags: { insecure: true }, kind: "drop" },
    ]);
    succeeded(await w.up());
    const drops = w.calls().filter((c) => c.fault?.kind === "drop" && c.fault.delivered);
    assert.equal(drops.length, 1, "the drop was delivered");
    assert.equal(nodeOf(drops[0]), "172.29.51.13");
    assert.equal(appliesTo(w.calls(), "172.29.51.13").all.length, 1, "not applied again");
    assert.deepEqual([w.node("mini03").stage, w.node("mini03").insecureApplies], ["running", 1]);
  });

  it("reads a CSV-quoted multi-line bundle back from 1Password byte for byte", async () => {
    const w = worlds.open(fastConfig(), {}, { opFieldsCsvQuoting: true });
    succeeded(await w.up());
    const stored = w.storedBundle()!;
    // The command provider trims one trailing newline; otherwise byte for byte.
    assert.equal(w.state.steps["talos-secrets"].stdout.trimEnd(), stored.trimEnd());
    assert.ok(stored.split("\n").length > 10, "a multi-line value, which op quotes");
    w.state = { steps: {} };
    succeeded(await w.up());
  });

  for (const { gate, object, message } of [
    {
      gate: "store-ready",
      object: "clustersecretstore/onepassword-connect",
      message: /clustersecretstore\/onepassword-connect is not Ready after (\d+) s: .*never becomes true/,
    },
    {
      gate: "flux-ready",
      object: "kustomization/flux-system",
      message: /kustomization\/flux-system is not Ready after (\d+) s: .*never becomes true/,
    },
  ]) {
    it(`${gate}: a condition that never comes fails boundedly with its reason, then the re-run resumes there`, async () => {
      const w = worlds.open(withTimeouts(fastConfig(), { storeReady: 2, fluxReady: 2 }));
      // Every call about the object sees the condition false (the wait and the reason's lookup).
      w.faults([{ tool: "kubectl", args: [object], kind: "never" }]);
      const started = Date.now();
      const r1 = await w.up();
      assert.equal(r1.failed?.id, gate);
      assert.match(r1.failed!.message, message);
      assert.equal(
        Number(message.exec(r1.failed!.message)![1]),
        w.cfg.timeouts[gate === "store-ready" ? "storeReady" : "fluxReady"],
      );
      assert.ok(Date.now() - started < scaledMs(30000), "bounded");
      w.faults([]);
      const r2 = await w.up();
      succeeded(r2);
      const gateIndex = w.plan.steps.findIndex((s) => s.id === gate);
      assert.deepEqual(
        [...r2.ran].sort(),
        w.plan.steps
          .slice(gateIndex)
          .map((s) => s.id)
          .filter((id) => !r1.ran.includes(id))
          .sort(),
        "nothing before the failed gate runs again",
      );
    });
  }

  it("Cilium slower than the gate's deadline: nodes-ready fails with the reason, the re-run waits it out", async () => {
    const w = worlds.open(withTimeouts(fastConfig(), { health: 2 }), { ciliumRollout: 3000 });
    const r1 = await w.up();
    assert.equal(r1.failed?.id, "nodes-ready");
    assert.match(r1.failed!.message, new RegExp(`nodes is not Ready after ${w.cfg.timeouts.health} s`));
    const r2 = await w.up();
    succeeded(r2);
    assert.ok(!r2.ran.includes("cilium"), "the release is not re-installed");
  });

  it("stopAfter talos stops after the first phase; the next up without it continues where it stopped", async () => {
    const w = worlds.open({ ...fastConfig(), stopAfter: "talos" });
    const r1 = await w.up();
    succeeded(r1);
    assert.deepEqual([...r1.ran].sort(), [
      "apply-mini01",
      "apply-mini02",
      "apply-mini03",
      "schematic",
      "talos-secrets",
      "talosconfig",
    ]);
    assert.equal(w.world().cluster.bootstrapCount, 0);
    w.cfg = { ...w.cfg, stopAfter: "gitops" };
    const r2 = await w.up();
    succeeded(r2);
    assert.ok(
      !r2.ran.some((id) => id.startsWith("apply-") || id === "talos-secrets"),
      "the talos phase is not repeated",
    );
    assert.ok(r2.ran.includes("bootstrap") && r2.ran.includes("flux-ready"));
  });

  it("works the same against talosctl v1.11 (no node flags on local commands)", async () => {
    const cfg = fastConfig();
    const w = worlds.open({ ...cfg, talos: { ...cfg.talos, version: "v1.11.6", minor: "v1.11" } });
    succeeded(await w.up());
    assert.deepEqual(w.world().cluster, { bootstrapCount: 1, bootstrapAlreadyExists: 0 });
  });
});
