/**
 * The real engine over the real program, talos → cluster, against the fake nodes: a first `up`
 * from maintenance mode, a no-op re-run, one node's live change, a change that needs a reboot
 * on every node (rolled through one control plane at a time), and a Kubernetes patch applied live
 * that restarts every control plane's API server (one at a time, each lock kept until it is back).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { assertSucceeded, changeSummary, COMMANDS, E2E_DELAYS, E2EStack, fakeWorld, stepOps } from "./harness";

describe("real engine: first up, a no-op re-run, one node's change, a rolling change", function () {
  let s: E2EStack;
  before(() => {
    // A live change's restarts (test/fakes/lib/talos/nodes.js): the kubelet replaces a static pod
    // well after the apply answered, and the new one takes a while to be Ready.
    s = new E2EStack({
      world: { delaysMs: { ...E2E_DELAYS, staticPodPickup: 2000, staticPodRestart: 1500, kubeletRestart: 500 } },
    });
  });
  after(() => s?.cleanup());

  it("a first up takes three nodes from maintenance mode to a bootstrapped cluster", async () => {
    const r = await s.up();
    assertSucceeded(r, "first up");
    const ops = stepOps(r.events);
    for (const name of COMMANDS) assert.deepEqual(ops[name], ["create"], name);
    const world = s.world();
    const nodes = Object.values(world.nodes) as any[];
    assert.equal(nodes.length, 3);
    for (const n of nodes) {
      assert.equal(n.state, "configured", n.hostname);
      assert.equal(n.stage, "running", n.hostname);
      assert.equal(n.appliedHostname, n.hostname);
      assert.equal(n.insecureApplies, 1, `${n.hostname}: installed once, in maintenance mode`);
      assert.equal(n.authApplies, 0, `${n.hostname}: no authenticated apply on a first install`);
    }
    assert.equal(new Set(nodes.map((n) => n.identity)).size, 1, "one cluster identity");
    // Bootstrap exactly once, on the bootstrap node, and a first run never meets AlreadyExists.
    assert.equal(world.cluster.bootstrapCount, 1);
    assert.equal(world.cluster.bootstrapAlreadyExists, 0);
    assert.equal(world.nodes["127.0.0.11"].bootstraps, 1);
    const bootstrapCalls = s.calls().filter((c) => c.argv[0] === "bootstrap");
    assert.deepEqual(
      bootstrapCalls.map((c) => c.argv[c.argv.indexOf("--nodes") + 1]),
      ["127.0.0.11"],
    );
    assert.deepEqual(fakeWorld.readUsageErrors(s.fakeDir), []);
    assert.deepEqual(fakeWorld.quorumViolations(world), []);
    const resources = s.state().latest?.resources ?? [];
    assert.ok(resources.length >= COMMANDS.length);
    assert.ok(!resources.some((x) => x.protect), "nothing protected: destroy must stay possible");
    const stack = resources.find((x) => x.type === "pulumi:pulumi:Stack")!;
    assert.deepEqual(stack.outputs?.phasesCompleted, ["talos", "cluster"]);
    assert.deepEqual(stack.outputs?.phasesDeclared, ["talos", "cluster"]);
  });

  it("a preview expects no changes (exit 0); a second up changes nothing and calls no node", async () => {
    const p = await s.preview(["--expect-no-changes"]);
    assertSucceeded(p, "preview --expect-no-changes");
    const before = s.calls().length;
    const r = await s.up();
    assertSucceeded(r, "second up");
    const summary = changeSummary(r.events) ?? {};
    // "read" is the StackReference to the stack's own outputs (components/previousDeployment.ts).
    assert.deepEqual(
      Object.keys(summary).filter((k) => k !== "same" && k !== "read"),
      [],
      JSON.stringify(summary),
    );
    const later = s.calls().slice(before);
    assert.deepEqual(
      later.filter((c) => c.argv.includes("--nodes")).map((c) => c.argv.join(" ")),
      [],
      "no node was contacted",
    );
  });

  it("a sysctl change on one node: preview shows that node's apply alone, its changed line readable; up applies it live to that node alone", async () => {
    const nodes = s.config()["homeops:nodes"] as Record<string, unknown>[];
    nodes[1] = { ...nodes[1], sysctls: { "vm.swappiness": "10" } };
    s.setConfig({ "homeops:nodes": nodes });
    const json = await s.preview();
    assertSucceeded(json, "preview --json");
    const doc = json.events[0];
    const updates = (doc.steps as { op: string; urn: string }[])
      .filter((st) => st.op !== "same" && st.op !== "read")
      .map((st) => `${st.op} ${st.urn.split("::").pop()}`);
    assert.deepEqual(updates, ["update talos-apply-mini02"]);
    const text = await s.pulumi(["preview", "--diff"], { program: true });
    assertSucceeded(text, "preview --diff");
    assert.match(text.stdout, /\+\s+vm\.swappiness: "10"/, "the changed line of mini02's patch");
    assert.ok(!text.stdout.includes("BEGIN"), "no key material in the preview");
    const before = structuredClone(s.world().nodes);
    const r = await s.up();
    assertSucceeded(r, "up with one node's change");
    const ops = stepOps(r.events);
    assert.deepEqual(
      Object.entries(ops)
        .filter(([, o]) => o.some((x) => x !== "same" && x !== "read"))
        .map(([n, o]) => `${n} ${o.join(",")}`),
      ["talos-apply-mini02 update"],
    );
    const after = s.world().nodes;
    assert.equal(after["127.0.0.12"].changedApplies, before["127.0.0.12"].changedApplies + 1);
    assert.equal(after["127.0.0.12"].reboots, before["127.0.0.12"].reboots, "a sysctl applies live");
    assert.match(after["127.0.0.12"].config.text, /vm\.swappiness: "10"/);
    for (const a of ["127.0.0.11", "127.0.0.13"]) assert.equal(after[a].changedApplies, before[a].changedApplies);
    for (const a of Object.keys(after))
      assert.equal(after[a].insecureApplies, 1, `${a}: never applied insecurely again`);
  });

  it("a change that needs a reboot on every node goes one control plane at a time (quorum never lost)", async () => {
    const machine = s.config()["homeops:machine"] as { udevRules: string[] };
    s.setConfig({
      "homeops:machine": {
        ...machine,
        udevRules: [
          ...machine.udevRules,
          'SUBSYSTEM=="block", ATTRS{model}=="Portable SSD T5*", ATTR{queue/rotational}="0"',
        ],
      },
    });
    const before = structuredClone(s.world().nodes);
    const r = await s.up();
    assertSucceeded(r, "up with a reboot-needing change");
    const world = s.world();
    for (const a of Object.keys(world.nodes)) {
      assert.equal(world.nodes[a].reboots, before[a].reboots + 1, `${a} rebooted once`);
      assert.equal(world.nodes[a].stage, "running", a);
    }
    const downs = (world.downtime as { node: string; from: number; to: number | null }[]).filter(
      (d) => d.from > Math.min(...Object.values(before).map((n: any) => n.upSince ?? 0)),
    );
    assert.ok(downs.length >= 3, `three reboots recorded: ${JSON.stringify(downs)}`);
    assert.deepEqual(fakeWorld.quorumViolations(world), []);
    assert.deepEqual(fakeWorld.controlPlaneOverlaps(world), [], "never two control planes down together");
    assert.deepEqual(fakeWorld.readUsageErrors(s.fakeDir), []);
  });

  it("a Kubernetes patch goes through upgrade-k8s: every API server restarted one control plane at a time, the applies stay no-ops, a second up changes nothing; the stack's history arms the gate", async () => {
    const settings = () => fs.readFileSync(path.join(s.project, ".homeops", "e2e", "settings.env"), "utf8");
    const kubernetes = s.config()["homeops:kubernetes"] as { version: string };
    s.setConfig({ "homeops:kubernetes": { ...kubernetes, version: "v1.31.2" } });
    const since = Date.now();
    const before = structuredClone(s.world().nodes);
    const r = await s.up();
    assertSucceeded(r, "up with a Kubernetes patch");
    // The program read its own phasesCompleted (talos, cluster): the gate may not skip a silent etcd.
    assert.match(settings(), /^CLUSTER_WAS_RUNNING='yes'$/m);
    assert.deepEqual(
      stepOps(r.events)["talos-kubernetes-upgrade-v1.31.2"],
      ["create"],
      JSON.stringify(stepOps(r.events)),
    );
    const world = s.world();
    assert.deepEqual(
      (world.k8sUpgrades as { from: string; to: string }[]).map((u) => `${u.from}->${u.to}`),
      ["1.31.1->1.31.2"],
      "one talosctl upgrade-k8s",
    );
    for (const a of Object.keys(world.nodes)) {
      assert.equal(world.nodes[a].reboots, before[a].reboots, `${a}: live, no reboot`);
      // upgrade-k8s wrote the versions the stack renders: the node's apply finds nothing to change
      assert.equal(world.nodes[a].changedApplies, before[a].changedApplies, `${a}: no second rollout`);
    }
    const restarts = (world.apiDowntime as { hostname: string; from: number; to: number | null; reason: string }[])
      .filter((d) => d.from >= since)
      .map((d) => [d.hostname, d.reason, d.to !== null]);
    assert.deepEqual(restarts.map((x) => x[0]).sort(), ["mini01", "mini02", "mini03"], JSON.stringify(restarts));
    assert.ok(
      restarts.every((x) => x[1] === "kube-apiserver restart" && x[2]),
      JSON.stringify(restarts),
    );
    assert.deepEqual(fakeWorld.apiServerOverlaps(world), [], "never two API servers down together");
    assert.deepEqual(fakeWorld.controlPlaneOverlaps(world), []);
    assert.deepEqual(fakeWorld.readUsageErrors(s.fakeDir), []);
    const again = await s.up();
    assertSucceeded(again, "second up");
    const changed = Object.entries(stepOps(again.events)).filter(([, o]) =>
      o.some((x) => x !== "same" && x !== "read"),
    );
    assert.deepEqual(changed, [], "the second up changes nothing");
  });
});

/**
 * Talos v1.14 never reboots on apply-config (v1alpha1_server.go ApplyConfiguration @ v1.14.1): a
 * change that acts only at boot stays inactive until the next reboot, and nothing says so
 * (test/fakes/lib/talos/apply.js: n.inactiveUntilReboot until nodes.js boot). The stack's one
 * such change is the system disk encryption: with contract v1.10 it is `.machine.systemDiskEncryption`,
 * which the v1.14 docs list among the changes that need a reboot (volume encryption;
 * talos/scripts/reboot.ts). The apply step then reboots the node itself, gracefully and drained,
 * under the rolling lock: one control plane at a time.
 */
describe("real engine: Talos v1.14, a change that needs a reboot", function () {
  let s: E2EStack;
  before(() => {
    s = new E2EStack({
      config: {
        "homeops:talos": { version: "v1.14.1", contract: "v1.10" },
        "homeops:kubernetes": { version: "v1.34.1" },
        "homeops:cilium": { version: "1.19.3", acceleration: "disabled", operatorReplicas: 1 },
      },
      world: { delaysMs: E2E_DELAYS, talosVersion: "v1.14.1" },
    });
  });
  after(() => s?.cleanup());

  it("up reboots each control plane explicitly (talosctl 1.14 reboot --drain), one at a time; the change is active afterwards; a second up does nothing", async () => {
    assertSucceeded(await s.up(), "first up on v1.14");
    // The cni phase's Cilium (this tier stops after the cluster phase): the Nodes become Ready,
    // which `talosctl reboot --wait` and its drain's uncordon wait for (MachineStatus ready:
    // cmd/talosctl/pkg/talos/action/node.go; test/fakes/lib/talos/tracker.js, lifecycle.js).
    fakeWorld.createK8sObject(s.fakeDir, {
      kind: "HelmRelease(pulumi)",
      metadata: { name: "cilium", namespace: "kube-system" },
    });
    const machine = s.config()["homeops:machine"] as Record<string, unknown>;
    s.setConfig({ "homeops:machine": { ...machine, encryptSystemDisk: false } });
    const before = structuredClone(s.world().nodes) as Record<string, any>;
    const since = Date.now();
    const calls0 = s.calls().length;
    const r = await s.up();
    assertSucceeded(r, "up with a change that needs a reboot on v1.14");
    const world = s.world();
    const calls = s.calls().slice(calls0) as unknown as {
      command?: string;
      client?: string;
      argv: string[];
      t: number;
      ms: number;
    }[];
    // One explicit graceful reboot per node: the v1.14 talosctl, one node per call, drained, the
    // default (graceful) mode.
    const reboots = calls.filter((c) => c.command === "reboot");
    assert.deepEqual(
      reboots.map((c) => c.argv[c.argv.indexOf("--nodes") + 1]).sort(),
      ["127.0.0.11", "127.0.0.12", "127.0.0.13"],
      JSON.stringify(reboots.map((c) => c.argv.join(" "))),
    );
    for (const c of reboots) {
      assert.equal(c.client, "v1.14.1", c.argv.join(" "));
      assert.ok(c.argv.includes("--drain"), `drained: ${c.argv.join(" ")}`);
      assert.ok(!c.argv.some((a) => a.startsWith("--mode")), `graceful (default mode): ${c.argv.join(" ")}`);
    }
    // One at a time: no reboot call while another runs, and no two control planes down together.
    const spans = reboots.map((c) => [c.t, c.t + c.ms]).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) assert.ok(spans[i][0] >= spans[i - 1][1], "two reboot calls overlapped");
    const downs = (world.downtime as { hostname: string; from: number; to: number | null }[]).filter(
      (d) => d.from >= since,
    );
    assert.deepEqual(downs.map((d) => d.hostname).sort(), ["mini01", "mini02", "mini03"], JSON.stringify(downs));
    assert.ok(
      downs.every((d) => d.to !== null),
      "every etcd member back",
    );
    assert.deepEqual(fakeWorld.quorumViolations(world), []);
    assert.deepEqual(fakeWorld.apiServerOverlaps(world), [], "never two API servers down together");
    assert.deepEqual(fakeWorld.controlPlaneOverlaps(world), [], "never two control planes down together");
    // The change is active: each node booted the config it holds, which has no disk encryption.
    for (const a of Object.keys(world.nodes)) {
      const n = world.nodes[a] as any;
      assert.equal(n.reboots, before[a].reboots + 1, `${a} rebooted once`);
      assert.equal(n.stage, "running", a);
      assert.equal(n.inactiveUntilReboot, false, `${a}: the change is active`);
      assert.equal(n.bootConfig, n.config.text, `${a} booted the config it holds`);
      assert.doesNotMatch(n.config.text, /systemDiskEncryption/, a);
      assert.equal(n.talos.version, "v1.14.1", a);
    }
    assert.deepEqual(fakeWorld.readUsageErrors(s.fakeDir), []);

    const nodeCallsBefore = s.calls().filter((c) => c.argv.includes("--nodes")).length;
    const again = await s.up();
    assertSucceeded(again, "second up");
    const changed = Object.entries(stepOps(again.events)).filter(([, o]) =>
      o.some((x) => x !== "same" && x !== "read"),
    );
    assert.deepEqual(changed, [], "the second up changes nothing");
    assert.equal(
      s.calls().filter((c) => c.argv.includes("--nodes")).length,
      nodeCallsBefore,
      "the second up called a node",
    );
  });
});
