/**
 * Simulated execution: the plan's real scripts against the fake talosctl/kubectl/op. These are the
 * tests that prove first run, no-op re-run, resume after failure and the maintenance/configured
 * decision; the fakes keep node and cluster state on disk and reject flags talosctl does not have.
 */
import { strict as assert } from "assert";
import { callsWith, fakeWorld, fastConfig, SimWorld } from "./helpers/simWorld";
import { StackConfig } from "../config/types";
import { up } from "./sim/engine";

const ALL_NODES = ["172.29.51.11", "172.29.51.12", "172.29.51.13"];

describe("simulated execution against fake talosctl/kubectl/op", function () {
  this.timeout(120000);
  let w: SimWorld;
  afterEach(() => w?.cleanup());

  it("first run configures all three nodes (insecurely, from maintenance), bootstraps once, reaches Flux Ready", async () => {
    w = new SimWorld(fastConfig());
    const r = await w.up();
    assert.equal(r.failed, undefined, JSON.stringify(r.failed));
    assert.deepEqual(r.notStarted, []);
    assert.equal(r.ran.length, w.plan.steps.length);
    const calls = w.calls();
    for (const a of ALL_NODES) {
      assert.equal(
        callsWith(calls, "talosctl", "apply-config", "--insecure", a).filter((c) => c.exit === 0).length,
        1,
        a,
      );
    }
    assert.equal(callsWith(calls, "talosctl", "bootstrap").filter((c) => c.exit === 0).length, 1);
    assert.equal(w.world().cluster.bootstrapCount, 1);
    assert.equal(callsWith(calls, "op", "create").length, 1, "the bundle was minted once and stored");
    const image = w.plan.installerImage;
    assert.deepEqual(
      Object.keys(w.world().factory.schematics),
      [w.plan.schematicId],
      "the installer's schematic is registered",
    );
    assert.ok(image.endsWith(`${w.plan.schematicId}:v1.10.5`));
    assert.deepEqual(
      calls.filter((c) => c.exit !== 0 && /unknown (flag|command)/.test(JSON.stringify(c))),
      [],
      "no invocation used a flag the CLI reference lacks",
    );
  });

  it("a second run with nothing changed runs nothing and calls nothing", async () => {
    w = new SimWorld(fastConfig());
    await w.up();
    const before = w.calls().length;
    const r = await w.up();
    assert.deepEqual(r.ran, []);
    assert.equal(r.unchanged.length, w.plan.steps.length);
    assert.equal(w.calls().length, before);
  });

  it("changing one node's setting re-applies only that node, with its talosconfig (not insecurely)", async () => {
    w = new SimWorld(fastConfig());
    await w.up();
    const before = w.calls().length;
    const nodes = w.cfg.nodes.map((n) =>
      n.hostname === "mini02" ? { ...n, sysctls: { ...n.sysctls, "vm.swappiness": "10" } } : n,
    );
    w.cfg = { ...w.cfg, nodes } as StackConfig;
    const r = await w.up();
    assert.equal(r.failed, undefined, JSON.stringify(r.failed));
    assert.deepEqual(r.ran, ["apply-mini02"]);
    const fresh = w.calls().slice(before);
    assert.equal(callsWith(fresh, "talosctl", "apply-config", "--insecure").length, 0);
    assert.equal(callsWith(fresh, "talosctl", "apply-config", "--talosconfig", "172.29.51.12").length, 1);
    assert.equal(callsWith(fresh, "talosctl", "bootstrap").length, 0);
  });

  it("a lost Pulumi state re-reads the bundle from 1Password and converges without a new identity", async () => {
    w = new SimWorld(fastConfig());
    await w.up();
    const id = w.world().nodes["172.29.51.11"].identity;
    w.state = { steps: {} };
    const r = await w.up();
    assert.equal(r.failed, undefined, JSON.stringify(r.failed));
    assert.equal(w.world().nodes["172.29.51.11"].identity, id);
    assert.equal(callsWith(w.calls(), "op", "create").length, 1, "still only the first mint");
    assert.equal(w.world().cluster.bootstrapCount, 1, "AlreadyExists/members count as success");
  });

  it("refuses to mint a new identity when 1Password has no bundle but a node is configured", async () => {
    w = new SimWorld(fastConfig());
    await w.up();
    const world = w.world();
    world.op.items = {};
    fakeWorld.writeState(w.dir, world);
    w.state = { steps: {} };
    const r = await w.up();
    assert.equal(r.failed?.id, "talos-secrets");
    assert.match(r.failed!.message, /already configured.*Refusing to mint a new cluster identity/);
    assert.equal(callsWith(w.calls(), "talosctl", "gen", "secrets").length, 1, "no second bundle");
  });

  for (const [step, fault] of [
    [
      "apply-mini02",
      { tool: "talosctl", match: "apply-config", node: "172.29.51.12", kind: "unreachable", times: 100 },
    ],
    ["bootstrap", { tool: "talosctl", match: "bootstrap", kind: "exit", times: 1000 }],
    ["api-ready", { tool: "kubectl", match: "readyz", kind: "exit", times: 1000 }],
  ] as const) {
    it(`a failure at ${step} fails boundedly, and the re-run converges`, async () => {
      w = new SimWorld(fastConfig());
      w.faults([fault]);
      const r1 = await w.up();
      assert.equal(r1.failed?.id, step);
      w.faults([]);
      const r2 = await w.up();
      assert.equal(r2.failed, undefined, JSON.stringify(r2.failed));
      assert.ok(r2.ran.includes(step));
      assert.equal(w.world().cluster.bootstrapCount, 1);
      const r3 = await w.up();
      assert.deepEqual(r3.ran, []);
    });
  }

  it("refuses to install when Image Factory's ID differs from the installer image's, before touching a node", async () => {
    w = new SimWorld(fastConfig());
    const plan = w.plan;
    const steps = plan.steps.map((s) =>
      s.kind === "command" && s.id === "schematic" ? { ...s, env: { ...s.env, SCHEMATIC_ID: "0".repeat(64) } } : s,
    );
    const r = await up({ ...plan, steps }, w.state, w.options);
    assert.equal(r.failed?.id, "schematic");
    assert.match(r.failed!.message, /refusing to install an image of another schematic/);
    assert.equal(callsWith(w.calls(), "talosctl", "apply-config").length, 0);
  });

  it("tolerates the connection dropping during apply-config and verifies the node came up", async () => {
    w = new SimWorld(fastConfig(), { install: 300 });
    w.faults([{ tool: "talosctl", match: "apply-config", node: "172.29.51.13", kind: "drop", times: 1 }]);
    const r = await w.up();
    assert.equal(r.failed, undefined, JSON.stringify(r.failed));
    assert.equal(w.world().nodes["172.29.51.13"].state, "configured");
  });

  it("reads a CSV-quoted multi-line bundle back from 1Password byte for byte", async () => {
    w = new SimWorld(fastConfig(), {}, { opFieldsCsvQuoting: true });
    const r1 = await w.up();
    assert.equal(r1.failed, undefined, JSON.stringify(r1.failed));
    const stored = Object.values(w.world().op.items.Automation as Record<string, { fields: { value: string }[] }>)[0]
      .fields[0].value;
    // The command provider trims one trailing newline; otherwise byte for byte.
    assert.equal(w.state.steps["talos-secrets"].stdout.trimEnd(), stored.trimEnd());
    assert.ok(stored.split("\n").length > 10, "a multi-line value, which op quotes");
    w.state = { steps: {} };
    const r2 = await w.up();
    assert.equal(r2.failed, undefined, "the re-read bundle is the same identity");
  });

  for (const [gate, fault, message] of [
    [
      "store-ready",
      { tool: "kubectl", match: "clustersecretstore/onepassword-connect", kind: "never" },
      /clustersecretstore\/onepassword-connect is not Ready after 2 s/,
    ],
    [
      "flux-ready",
      { tool: "kubectl", match: "kustomization", kind: "never" },
      /kustomization\/flux-system is not Ready after 2 s/,
    ],
  ] as const) {
    it(`${gate}: a condition that never comes fails boundedly with a clear message, then converges`, async () => {
      const cfg = fastConfig();
      w = new SimWorld({ ...cfg, timeouts: { ...cfg.timeouts, storeReady: 2, fluxReady: 2 } });
      w.faults([fault]);
      const started = Date.now();
      const r1 = await w.up();
      assert.equal(r1.failed?.id, gate);
      assert.match(r1.failed!.message, message);
      assert.ok(Date.now() - started < 20000, "bounded");
      w.faults([]);
      const r2 = await w.up();
      assert.equal(r2.failed, undefined, JSON.stringify(r2.failed));
      // The re-run resumes at the failed gate: nothing before it runs again.
      const gateIndex = w.plan.steps.findIndex((s) => s.id === gate);
      assert.deepEqual(
        [...r2.ran].sort(),
        w.plan.steps
          .slice(gateIndex)
          .map((s) => s.id)
          .filter((id) => !r1.ran.includes(id))
          .sort(),
      );
      assert.ok(r2.ran.includes(gate));
    });
  }

  it("Cilium slower than the gate's deadline: nodes-ready fails with the reason, the re-run waits it out", async () => {
    const cfg = fastConfig();
    w = new SimWorld({ ...cfg, timeouts: { ...cfg.timeouts, health: 2 } }, { ciliumRollout: 3000 });
    const r1 = await w.up();
    assert.equal(r1.failed?.id, "nodes-ready");
    assert.match(r1.failed!.message, /nodes is not Ready after 2 s/);
    const r2 = await w.up();
    assert.equal(r2.failed, undefined, JSON.stringify(r2.failed));
    assert.ok(!r2.ran.includes("cilium"), "the release is not re-installed");
  });

  it("stopAfter talos stops after the first phase; the next up without it continues where it stopped", async () => {
    w = new SimWorld({ ...fastConfig(), stopAfter: "talos" });
    const r1 = await w.up();
    assert.equal(r1.failed, undefined, JSON.stringify(r1.failed));
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
    assert.equal(r2.failed, undefined, JSON.stringify(r2.failed));
    assert.ok(
      !r2.ran.some((id) => id.startsWith("apply-") || id === "talos-secrets"),
      "the talos phase is not repeated",
    );
    assert.ok(r2.ran.includes("bootstrap") && r2.ran.includes("flux-ready"));
  });

  it("works the same against talosctl v1.11 (no node flags on local commands)", async () => {
    const cfg = fastConfig();
    w = new SimWorld({ ...cfg, talos: { ...cfg.talos, version: "v1.11.6", minor: "v1.11" } });
    const r = await w.up();
    assert.equal(r.failed, undefined, JSON.stringify(r.failed));
  });
});
