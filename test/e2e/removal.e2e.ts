/**
 * Node removal under the real engine (issue 18): a control plane dropped from `homeops:nodes` on a
 * running three-node cluster is taken out by the delete of its apply (steps/node-reset.sh, from
 * talos/scripts/reset.ts and removal.ts): leadership moved off it, `etcd leave` on it, cordon,
 * drain and `kubectl delete node`, a reset only when operations.resetOnDestroy names it; unsafe
 * removals are refused at validation (config/removal.ts) before any node is called; the node
 * added back joins as a new etcd member; a node that no longer answers is removed through a
 * remaining member (`etcd remove-member <hex id>`). The fakes keep the downtime record.
 */
import { strict as assert } from "assert";
import { parse } from "yaml";
import {
  assertSucceeded,
  E2E_DELAYS,
  E2EStack,
  EngineEvent,
  fakeWorld,
  nodeCalls,
  RunResult,
  stepOps,
} from "./harness";

const NODES = [
  { hostname: "mini01", address: "127.0.0.11", role: "controlplane", bootstrap: true },
  { hostname: "mini02", address: "127.0.0.12", role: "controlplane" },
  { hostname: "mini03", address: "127.0.0.13", role: "controlplane" },
];

/** The non-trivial steps of a preview, as "op name", sorted. */
function previewChanges(p: RunResult): string[] {
  return (p.events[0].steps as { op: string; urn: string }[])
    .filter((st) => st.op !== "same" && st.op !== "read")
    .map((st) => `${st.op} ${st.urn.split("::").pop()}`)
    .sort();
}

/** The messages of a run's error diagnostics and its stderr. */
function errors(r: RunResult): string {
  return (
    r.events
      .filter((e: EngineEvent) => e.diagnosticEvent?.severity === "error")
      .map((e: EngineEvent) => e.diagnosticEvent.message as string)
      .join("") +
    r.stdout +
    r.stderr
  );
}

/** The etcd members (hostname → id) of the cluster mini01 serves. */
function members(s: E2EStack): Record<string, string> {
  const world = s.world();
  const cluster = world.etcd.clusters[world.nodes["127.0.0.11"].etcd.cluster];
  return Object.fromEntries(cluster.members.map((m: { name: string; id: string }) => [m.name, m.id]));
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const fakeApi = require("../fakes/lib/world.js");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const fakeStore = require("../fakes/lib/store.js");

/** The Kubernetes Nodes the fake API server serves (what the steps' kubectl lists). */
function kubeNodes(s: E2EStack): string[] {
  const state = s.world();
  const cluster = state.etcd.clusters[state.nodes["127.0.0.11"].etcd.cluster];
  return fakeApi
    .objects(state, fakeStore.readConfig(s.fakeDir), cluster, Date.now(), false)
    .filter((o: { kind: string }) => o.kind === "Node")
    .map((o: { metadata: { name: string } }) => o.metadata.name)
    .sort();
}

/** The endpoints of the stack's talosconfig output (its one context). */
function talosconfigEndpoints(s: E2EStack): string[] {
  const outputs = JSON.parse(s.run(["stack", "output", "--json", "--show-secrets", "--stack", "e2e"], {}));
  const doc = parse(outputs.talosconfig as string) as {
    context: string;
    contexts: Record<string, { endpoints: string[] }>;
  };
  return [...doc.contexts[doc.context].endpoints].sort();
}

const argvOf = (s: E2EStack, from: number) =>
  s
    .calls()
    .slice(from)
    .map((c) => `${c.tool} ${c.argv.join(" ")}`);

describe("real engine: node removal", function () {
  let s: E2EStack;
  before(() => {
    s = new E2EStack({ world: { delaysMs: E2E_DELAYS } });
  });
  after(() => s?.cleanup());

  it("refuses two control planes at once, and the bootstrap node without moving the mark, before any node is called", async () => {
    assertSucceeded(await s.up(), "first up");
    const before = nodeCalls(s).length;
    s.setConfig({ "homeops:nodes": [NODES[0]] });
    const two = await s.up();
    assert.notEqual(two.code, 0, "up removing two control planes must fail");
    assert.match(errors(two), /removes 2 control planes in one change \(mini02, mini03\)/);
    s.setConfig({ "homeops:nodes": [NODES[1], NODES[2]] });
    const mark = await s.preview();
    assert.notEqual(mark.code, 0, "preview removing the bootstrap node must fail");
    assert.match(errors(mark), /removes mini01, the node marked bootstrap: true, without moving the mark/);
    assert.equal(nodeCalls(s).length, before, "no node was called");
    assert.equal(Object.keys(members(s)).length, 3);
  });

  it("removing mini03: the preview shows its removal alone; up moves leadership, leaves etcd, deletes its Node, resets it (listed)", async () => {
    s.setConfig({ "homeops:nodes": [NODES[0], NODES[1]], "homeops:operations": { resetOnDestroy: ["mini03"] } });
    // mini03 leads etcd, so the removal has leadership to move (staged: the fakes' leader choice).
    fakeStore.updateState(s.fakeDir, (st: any) => {
      const n = st.nodes["127.0.0.13"];
      st.etcd.clusters[n.etcd.cluster].leaderPref = n.etcd.memberId;
    });
    const p = await s.preview();
    assertSucceeded(p, "preview of the removal");
    assert.deepEqual(previewChanges(p), [
      "delete talos-apply-mini03",
      "update cluster-api-ready",
      "update talos-talosconfig",
    ]);
    // What the delete will run, said by the program (plan/removal.ts) before anything runs.
    assert.match(
      p.stdout,
      /removing mini03 \(127\.0\.0\.13, control plane\) from the cluster: the delete of talos-apply-mini03 runs, under the rolling lock: etcd forfeit-leadership on it; etcd leave on it .*; kubectl cordon, drain \(not when it does not answer\) and delete node; talosctl reset \(wipes STATE, EPHEMERAL; reboots into maintenance mode\); the talosconfig's endpoints become 127\.0\.0\.11, 127\.0\.0\.12/,
    );
    const oldId = members(s).mini03;
    const from = s.calls().length;
    const r = await s.up();
    assertSucceeded(r, "up removing mini03");
    assert.deepEqual(stepOps(r.events)["talos-apply-mini03"], ["delete"]);
    const calls = argvOf(s, from);
    const at = (re: RegExp) => calls.findIndex((c) => re.test(c));
    const forfeit = at(/^talosctl etcd forfeit-leadership .*--nodes 127\.0\.0\.13\b/);
    const leave = at(/^talosctl etcd leave .*--nodes 127\.0\.0\.13\b/);
    const cordon = at(/^kubectl .*\bcordon mini03\b/);
    const drain = at(/^kubectl .*\bdrain mini03\b/);
    const del = at(/^kubectl .*\bdelete node mini03\b/);
    const reset = at(/^talosctl reset .*--nodes 127\.0\.0\.13\b/);
    assert.ok(
      forfeit >= 0 && forfeit < leave && leave < cordon && cordon < drain && drain < del && del < reset,
      calls.join("\n"),
    );
    assert.ok(!calls.some((c) => /remove-member/.test(c)), "the node answered: it left by itself");
    const world = s.world();
    assert.deepEqual(Object.keys(members(s)).sort(), ["mini01", "mini02"]);
    assert.notEqual(world.etcd.clusters[world.nodes["127.0.0.11"].etcd.cluster].leaderPref, oldId, "leadership moved");
    assert.deepEqual(kubeNodes(s), ["mini01", "mini02"]);
    assert.equal(world.nodes["127.0.0.13"].resets, 1);
    assert.deepEqual(world.nodes["127.0.0.13"].lastReset.labels, ["STATE", "EPHEMERAL"], "the v1.10 wipe set");
    assert.equal(world.nodes["127.0.0.13"].lastReset.graceful, false, "it had left etcd already");
    assert.equal(world.nodes["127.0.0.13"].state, "maintenance");
    for (const a of ["127.0.0.11", "127.0.0.12"]) {
      assert.equal(world.nodes[a].state, "configured", a);
      assert.equal(world.nodes[a].etcdState, "serving", a);
    }
    assert.deepEqual(talosconfigEndpoints(s), ["127.0.0.11", "127.0.0.12"]);
    const outputs = JSON.parse(s.run(["stack", "output", "--json", "--stack", "e2e"], {}));
    assert.deepEqual(outputs.removedNodes, ["mini03"]);
    assert.deepEqual(fakeWorld.quorumViolations(world), []);
    assertSucceeded(await s.preview(["--expect-no-changes"]), "nothing left to do");
  });

  it("adding mini03 back joins it as a new etcd member and a new Node, with no second bootstrap", async () => {
    const oldIds = Object.values(s.world().etcd.clusters).flatMap((c: any) =>
      (c.removed ?? []).map((m: { id: string }) => m.id),
    );
    s.setConfig({ "homeops:nodes": NODES, "homeops:operations": {} });
    // A learner promoted long after the node holds its config: up must wait for the vote (the
    // learner left the cluster at two voters of two). Without that wait the step ended first and
    // mini03 was still a learner here (seen under load with the 0.5 s default).
    fakeWorld.setDelays(s.fakeDir, { etcdJoin: E2E_DELAYS.install * 4 });
    const r = await s.up();
    fakeWorld.setDelays(s.fakeDir, { etcdJoin: E2E_DELAYS.etcdJoin });
    assertSucceeded(r, "up adding mini03 back");
    assert.deepEqual(stepOps(r.events)["talos-apply-mini03"], ["create"]);
    assert.deepEqual(stepOps(r.events)["cluster-bootstrap"], ["same"]);
    const world = s.world();
    const now = members(s);
    assert.deepEqual(Object.keys(now).sort(), ["mini01", "mini02", "mini03"]);
    assert.ok(!oldIds.includes(now.mini03), "a new member id");
    assert.equal(world.nodes["127.0.0.13"].etcdState, "serving");
    assert.equal(world.cluster.bootstrapCount, 1);
    assert.deepEqual(kubeNodes(s), ["mini01", "mini02", "mini03"]);
    assert.deepEqual(talosconfigEndpoints(s), ["127.0.0.11", "127.0.0.12", "127.0.0.13"]);
    const outputs = JSON.parse(s.run(["stack", "output", "--json", "--stack", "e2e"], {}));
    assert.deepEqual(outputs.removedNodes, []);
    assert.deepEqual(fakeWorld.quorumViolations(world), []);
  });

  it("a node that no longer answers is removed through a remaining member (etcd remove-member), its Node deleted", async () => {
    fakeWorld.powerOff(s.fakeDir, "127.0.0.12");
    const id = members(s).mini02;
    s.setConfig({ "homeops:nodes": [NODES[0], NODES[2]] });
    const from = s.calls().length;
    const r = await s.up();
    assertSucceeded(r, "up removing the powered-off mini02");
    const calls = argvOf(s, from);
    const removeAt = calls.findIndex((c) =>
      new RegExp(
        `^talosctl etcd remove-member .*--nodes 127\\.0\\.0\\.1[13]\\b.* ${id}$|^talosctl etcd remove-member ${id}\\b`,
      ).test(c),
    );
    assert.ok(removeAt >= 0, calls.join("\n"));
    assert.ok(
      calls.some((c) => /^kubectl .*\bdelete node mini02\b/.test(c)),
      calls.join("\n"),
    );
    assert.ok(!calls.some((c) => /^kubectl .*\bdrain mini02\b/.test(c)), "not drained: it does not answer");
    assert.ok(!calls.some((c) => /^talosctl reset/.test(c)), "not listed for reset");
    const world = s.world();
    assert.deepEqual(Object.keys(members(s)).sort(), ["mini01", "mini03"]);
    assert.deepEqual(kubeNodes(s), ["mini01", "mini03"]);
    for (const a of ["127.0.0.11", "127.0.0.13"]) assert.equal(world.nodes[a].etcdState, "serving", a);
    assert.deepEqual(talosconfigEndpoints(s), ["127.0.0.11", "127.0.0.13"]);
    assert.deepEqual(fakeWorld.quorumViolations(world), []);
  });
});

describe("real engine: node removal on Talos v1.14", function () {
  it("the listed node is reset with v1.14's wipe set (STATE, EPHEMERAL and the ETCD, CRI, KUBELET, LOG volumes) after it left etcd", async () => {
    const s = new E2EStack({
      config: {
        "homeops:talos": { version: "v1.14.1", contract: "v1.10" },
        "homeops:kubernetes": { version: "v1.34.1" },
        "homeops:cilium": { version: "1.19.3", acceleration: "disabled", operatorReplicas: 1 },
      },
      world: { delaysMs: E2E_DELAYS, talosVersion: "v1.14.1" },
    });
    try {
      assertSucceeded(await s.up(), "first up on v1.14");
      s.setConfig({ "homeops:nodes": [NODES[0], NODES[1]], "homeops:operations": { resetOnDestroy: ["mini03"] } });
      const p = await s.preview();
      assertSucceeded(p, "preview of the removal");
      assert.match(
        p.stdout,
        /talosctl reset \(wipes STATE, EPHEMERAL, ETCD, CRI, KUBELET, LOG; reboots into maintenance mode\)/,
      );
      const r = await s.up();
      assertSucceeded(r, "up removing mini03");
      const world = s.world();
      assert.deepEqual(Object.keys(members(s)).sort(), ["mini01", "mini02"]);
      assert.deepEqual(kubeNodes(s), ["mini01", "mini02"]);
      assert.equal(world.nodes["127.0.0.13"].resets, 1);
      assert.deepEqual(world.nodes["127.0.0.13"].lastReset.labels, [
        "STATE",
        "EPHEMERAL",
        "ETCD",
        "CRI",
        "KUBELET",
        "LOG",
      ]);
      assert.equal(world.nodes["127.0.0.13"].state, "maintenance");
      assert.deepEqual(talosconfigEndpoints(s), ["127.0.0.11", "127.0.0.12"]);
      assert.deepEqual(fakeWorld.quorumViolations(world), []);
    } finally {
      s.cleanup();
    }
  });
});

describe("real engine: removing a worker", function () {
  it("a worker leaves Kubernetes only (no etcd call changes anything); not listed: it keeps running", async () => {
    const world = [...NODES, { hostname: "mini04", address: "127.0.0.14", role: "worker" }];
    const s = new E2EStack({
      config: { "homeops:nodes": world },
      world: { delaysMs: E2E_DELAYS, nodes: world.map(({ hostname, address }) => ({ hostname, address })) },
    });
    try {
      assertSucceeded(await s.up(), "first up with a worker");
      assert.deepEqual(kubeNodes(s), ["mini01", "mini02", "mini03", "mini04"]);
      s.setConfig({ "homeops:nodes": NODES });
      const p = await s.preview();
      assertSucceeded(p, "preview of the worker's removal");
      assert.deepEqual(previewChanges(p), ["delete talos-apply-mini04", "update cluster-api-ready"]);
      const from = s.calls().length;
      assertSucceeded(await s.up(), "up removing mini04");
      const calls = argvOf(s, from);
      assert.ok(!calls.some((c) => /etcd (leave|remove-member|forfeit-leadership)/.test(c)), calls.join("\n"));
      assert.ok(
        calls.some((c) => /^kubectl .*\bdrain mini04\b/.test(c)),
        calls.join("\n"),
      );
      assert.ok(!calls.some((c) => /^talosctl reset/.test(c)), "not listed for reset");
      assert.deepEqual(kubeNodes(s), ["mini01", "mini02", "mini03"]);
      assert.deepEqual(Object.keys(members(s)).sort(), ["mini01", "mini02", "mini03"]);
      assert.equal(s.world().nodes["127.0.0.14"].state, "configured", "it keeps running, out of the cluster");
      assert.deepEqual(fakeWorld.quorumViolations(s.world()), []);
    } finally {
      s.cleanup();
    }
  });
});
