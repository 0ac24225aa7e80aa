/**
 * The planned upgrade path under the real engine (issue 17 §5): a cluster brought up at Talos
 * v1.10.5 + Kubernetes 1.31, then the stack file moved to v1.14.1 + 1.34 with one talosctl per
 * Talos minor the path needs (the fakes' bin/talosctl-v1.NN, each parsing every argv with the real
 * talosctl of its minor: test/fakes/lib/talos/real.js). The preview lists the hops node by node and
 * touches no node; `up` applies the whole path; a node coming back on its old version stops the
 * rollout there and the re-run continues from it; `kill -9` in the middle of a hop, `pulumi
 * cancel`, then `up` converges. The fakes' etcd downtime record shows no two members down at once.
 */
import { strict as assert } from "assert";
import { scaledDelays, scaledMs } from "../helpers/calibration";
import { assertSucceeded, E2E_DELAYS, E2EStack, EngineEvent, fakeWorld, nodeCalls, stepOps } from "./harness";

const HOSTS = ["mini01", "mini02", "mini03"];
const ADDRESS: Record<string, string> = { mini01: "127.0.0.11", mini02: "127.0.0.12", mini03: "127.0.0.13" };

/**
 * The path config/upgradePath.ts plans from v1.10.5 + 1.31 to v1.14.1 + 1.34 with the catalogue
 * (upgrades.json): Talos to v1.12.6 (the v1.12 installer upgrades from ≥ v1.10, v1.14's only from
 * ≥ v1.12), Kubernetes one minor at a time to 1.32 on v1.12, then Talos to v1.14.1 (v1.14 runs
 * 1.32 up), then Kubernetes to 1.33 and 1.34 on v1.14.
 */
const HOPS = [
  ...HOSTS.map((h) => `talos-upgrade-v1.12.6-${h}`),
  "kubernetes-upgrade-v1.32.13",
  ...HOSTS.map((h) => `talos-upgrade-v1.14.1-${h}`),
  "kubernetes-upgrade-v1.33.13",
  "kubernetes-upgrade-v1.34.4",
].map((id) => `talos-${id}`); // the resource names carry the phase (plan/upgrades.ts: phase "talos")

/** The fakes' delays: the harness's, plus an installer run and the legacy upgrade's mutex window. */
const DELAYS = { ...E2E_DELAYS, ...scaledDelays({ upgrade: 1000, upgradeCheck: 200 }) };

/**
 * The mocha bound of a test that walks the path: six node upgrades and three upgrade-k8s, each
 * with its gates polling the fakes, took 3 minutes at time scale 1.3 (2 loaded cores); four times
 * that, scaled like every other bound of the tier.
 */
const PATH_TIMEOUT = scaledMs(12 * 60_000);

/**
 * The cluster this tier builds stops after the cluster phase, so no CNI runs and no Node is Ready;
 * the home-ops cluster an upgrade moves runs Cilium (its cni phase). Record Cilium the way the cni
 * phase's provider would (the fakes' world.js: Nodes are Ready once the cilium release exists), so
 * that the nodes are Ready and `talosctl upgrade --wait` sees each node come back ready (its
 * tracker waits for MachineStatus ready, which includes the Node Ready condition:
 * cmd/talosctl/pkg/talos/action/node.go MachineReadyEventFn; test/fakes/lib/talos/tracker.js).
 */
function withCni(s: E2EStack): void {
  fakeWorld.createK8sObject(s.fakeDir, {
    kind: "HelmRelease(pulumi)",
    metadata: { name: "cilium", namespace: "kube-system" },
  });
}

/** The stack change a user makes: target versions and one talosctl per minor the path runs. */
function moveToV114(s: E2EStack): void {
  const talos = s.config()["homeops:talos"] as Record<string, unknown>;
  s.setConfig({
    "homeops:talos": {
      ...talos,
      version: "v1.14.1",
      talosctl: "talosctl-v1.14",
      talosctls: { "v1.12": "talosctl-v1.12" },
    },
    "homeops:kubernetes": { version: "v1.34.4" },
    // Cilium 1.17 runs Kubernetes up to 1.32 and validation checks the pins against every step of
    // the path (config/upgradeRules.ts): 1.19 runs 1.32 to 1.35 (compatibility.json)
    "homeops:cilium": { ...(s.config()["homeops:cilium"] as object), version: "1.19.3" },
  });
}

/** A preview document's diagnostics (its errors say why it failed). */
const diagnostics = (events: EngineEvent[]): string =>
  ((events[0]?.diagnostics ?? []) as { message: string }[])
    .map((d) => d.message)
    .join("")
    .slice(-4000);

/** The resource name an engine event is about. */
const nameOf = (e: EngineEvent): string | undefined =>
  (e.resourcePreEvent?.metadata?.urn as string | undefined)?.split("::").pop();

/** The upgrade steps an engine run ran (not the unchanged ones), in the order it started them. */
const upgradeStarts = (events: EngineEvent[]): string[] =>
  events
    .filter(
      (e) =>
        e.resourcePreEvent &&
        e.resourcePreEvent.metadata?.op !== "same" &&
        /^talos-(talos|kubernetes)-upgrade-/.test(nameOf(e) ?? ""),
    )
    .map((e) => nameOf(e)!);

/** Every node on v1.14.1 with the stack's schematic, Kubernetes 1.34 everywhere, etcd never short of quorum. */
function assertOnTarget(s: E2EStack, identity: string): void {
  const world = s.world();
  const running = JSON.parse(s.run(["stack", "output", "running", "--json", "--show-secrets"], {})) as {
    talos: Record<string, { version: string; schematic: string }>;
    kubernetes: string;
  };
  assert.equal(running.kubernetes, "v1.34.4");
  const schematic = running.talos.mini01.schematic;
  assert.match(schematic, /^[0-9a-f]{64}$/);
  for (const h of HOSTS) {
    const n = world.nodes[ADDRESS[h]];
    assert.deepEqual(running.talos[h], { version: "v1.14.1", schematic }, `${h} in the outputs`);
    assert.equal(n.talos.version, "v1.14.1", `${h} runs`);
    assert.equal(n.talos.schematic, schematic, `${h}'s schematic`);
    assert.equal(n.stage, "running", h);
    assert.equal(n.identity, identity, `${h} kept the cluster's identity`);
  }
  assert.equal(world.cluster.bootstrapCount, 1, "bootstrapped once");
  assert.deepEqual(fakeWorld.quorumViolations(world), [], "two etcd members down at once");
  assert.deepEqual(fakeWorld.readUsageErrors(s.fakeDir), []);
}

describe("real engine: the upgrade path v1.10.5 + 1.31 → v1.14.1 + 1.34", function () {
  this.timeout(PATH_TIMEOUT);
  let s: E2EStack;
  before(() => {
    s = new E2EStack({ world: { delaysMs: DELAYS } });
  });
  after(() => s?.cleanup());

  it("preview lists the hops node by node and touches no node; up applies the path; a second up changes nothing", async () => {
    assertSucceeded(await s.up(), "first up at v1.10.5 + 1.31");
    withCni(s);
    const identity = s.world().nodes[ADDRESS.mini01].identity as string;
    moveToV114(s);
    const before = nodeCalls(s).length;
    const p = await s.preview();
    assert.equal(p.code, 0, `preview of the path: ${p.stderr.slice(-2000)}\n${diagnostics(p.events)}`);
    const planned = (p.events[0].steps as { op: string; urn: string }[])
      .map((st) => ({ op: st.op, name: st.urn.split("::").pop()! }))
      .filter((st) => /^talos-(talos|kubernetes)-upgrade-/.test(st.name));
    assert.deepEqual(
      planned.map((st) => `${st.op} ${st.name}`),
      HOPS.map((h) => `create ${h}`),
    );
    assert.equal(nodeCalls(s).length, before, "the preview called a node");

    const r = await s.up([], { timeoutMs: 10 * 60_000 });
    assertSucceeded(r, "up along the path");
    assert.deepEqual(upgradeStarts(r.events), HOPS, "hops in path order");
    assertOnTarget(s, identity);
    // one talosctl upgrade per node per Talos hop, one node per call, with the talosctl of the hop's minor
    const upgrades = (s.calls() as { command?: string; client?: string; argv: string[] }[])
      .filter((c) => c.command === "upgrade")
      .map((c) => `${c.client} ${c.argv[c.argv.indexOf("--nodes") + 1]}`);
    assert.deepEqual(upgrades, [
      ...HOSTS.map((h) => `v1.12.6 ${ADDRESS[h]}`),
      ...HOSTS.map((h) => `v1.14.1 ${ADDRESS[h]}`),
    ]);

    const calls = nodeCalls(s).length;
    const again = await s.up();
    assertSucceeded(again, "second up");
    const changed = Object.entries(stepOps(again.events)).filter(([, o]) =>
      o.some((x) => x !== "same" && x !== "read"),
    );
    assert.deepEqual(changed, []);
    assert.equal(nodeCalls(s).length, calls, "the second up called a node");
  });
});

/** What `up` said when it failed: its diagnostics. */
const failureText = (events: EngineEvent[]): string =>
  events
    .filter((e) => e.diagnosticEvent && e.diagnosticEvent.severity !== "debug")
    .map((e) => e.diagnosticEvent.message as string)
    .join("");

/** The talosctl upgrade calls of a node so far. */
const upgradeCallsOf = (s: E2EStack, address: string): number =>
  (s.calls() as { command?: string; argv: string[] }[]).filter(
    (c) => c.command === "upgrade" && c.argv[c.argv.indexOf("--nodes") + 1] === address,
  ).length;

describe("real engine: a node that comes back on its old version stops the rollout", function () {
  this.timeout(PATH_TIMEOUT);
  let s: E2EStack;
  before(() => {
    s = new E2EStack({ world: { delaysMs: DELAYS } });
  });
  after(() => s?.cleanup());

  it("the rollout stops at that node naming what it runs; once fixed, the re-run continues from it", async () => {
    assertSucceeded(await s.up(), "first up at v1.10.5 + 1.31");
    withCni(s);
    const identity = s.world().nodes[ADDRESS.mini01].identity as string;
    moveToV114(s);
    // mini02 cannot boot v1.12.6: it reverts to its other boot entry and runs v1.10.5 again
    // (test/fakes/lib/talos/nodes.js bootFails, after machined's revert: main.go, revert.go @ v1.14.1)
    fakeWorld.updateState(s.fakeDir, (st: any) => {
      st.nodes[ADDRESS.mini02].failBoot = ["v1.12.6"];
    });
    const r1 = await s.up([], { timeoutMs: 10 * 60_000 });
    assert.notEqual(r1.code, 0, "the up along the path should fail at mini02");
    const ops1 = stepOps(r1.events);
    assert.deepEqual(ops1["talos-talos-upgrade-v1.12.6-mini01"], ["create"]);
    assert.deepEqual(ops1["talos-talos-upgrade-v1.12.6-mini02"], ["create-failed"]);
    assert.equal(ops1["talos-talos-upgrade-v1.12.6-mini03"], undefined, "mini03 was not started");
    assert.match(failureText(r1.events), /mini02 \(127\.0\.0\.12\) came back running Talos v1\.10\.5 .*not v1\.12\.6/);
    const w1 = s.world();
    assert.equal(w1.nodes[ADDRESS.mini01].talos.version, "v1.12.6");
    assert.equal(w1.nodes[ADDRESS.mini02].talos.version, "v1.10.5");
    assert.equal(w1.nodes[ADDRESS.mini03].talos.version, "v1.10.5");
    assert.equal(upgradeCallsOf(s, ADDRESS.mini03), 0, "mini03 was not upgraded");
    assert.deepEqual(fakeWorld.quorumViolations(w1), [], "two etcd members down at once");

    // the operator fixes mini02 (its new boot entry boots now) and runs up again
    fakeWorld.updateState(s.fakeDir, (st: any) => {
      st.nodes[ADDRESS.mini02].failBoot = [];
    });
    const mini01Upgrades = upgradeCallsOf(s, ADDRESS.mini01);
    const r2 = await s.up([], { timeoutMs: 10 * 60_000 });
    assertSucceeded(r2, "up after the fix");
    const ops2 = stepOps(r2.events);
    assert.deepEqual(ops2["talos-talos-upgrade-v1.12.6-mini01"], ["same"], "mini01's hop is not run again");
    assert.deepEqual(ops2["talos-talos-upgrade-v1.12.6-mini02"], ["create"]);
    assert.equal(upgradeStarts(r2.events)[0], "talos-talos-upgrade-v1.12.6-mini02", "the re-run starts at mini02");
    // mini01: only its v1.14.1 upgrade since the failure
    assert.equal(upgradeCallsOf(s, ADDRESS.mini01), mini01Upgrades + 1);
    assertOnTarget(s, identity);
  });
});

describe("real engine: kill -9 of pulumi up in the middle of a hop", function () {
  this.timeout(PATH_TIMEOUT);
  let s: E2EStack;
  before(() => {
    s = new E2EStack({ world: { delaysMs: DELAYS } });
  });
  after(() => s?.cleanup());

  it("killed while mini02 upgrades: the stack stays locked until pulumi cancel, then up converges", async () => {
    assertSucceeded(await s.up(), "first up at v1.10.5 + 1.31");
    withCni(s);
    const identity = s.world().nodes[ADDRESS.mini01].identity as string;
    moveToV114(s);
    // killed once mini02 accepted its upgrade (the node installs and reboots; talosctl waits for it)
    const killed = await s.up([], {
      timeoutMs: 10 * 60_000,
      killWhenPolled: { everyMs: 200, check: async () => (s.world().nodes[ADDRESS.mini02].upgrades ?? 0) > 0 },
    });
    assert.equal(killed.signal, "SIGKILL", `the CLI was killed: ${killed.stderr.slice(-500)}`);
    assert.deepEqual(stepOps(killed.events)["talos-talos-upgrade-v1.12.6-mini01"], ["create"]);
    const locked = await s.up();
    assert.notEqual(locked.code, 0);
    assert.match(locked.stderr, /the stack is currently locked/);
    assert.match(s.run(["cancel", "--yes", "--stack", "e2e"], {}), /canceled/i);
    const r = await s.up([], { timeoutMs: 10 * 60_000 });
    assertSucceeded(r, "up after the kill and cancel");
    const ops = stepOps(r.events);
    assert.deepEqual(ops["talos-talos-upgrade-v1.12.6-mini01"], ["same"], "mini01's hop is not run again");
    assert.equal(upgradeCallsOf(s, ADDRESS.mini01), 2, "mini01 upgraded once per hop");
    assertOnTarget(s, identity);
  });
});
