/**
 * Simulated execution of a change on a running cluster: a change that needs a reboot goes through
 * one control plane at a time (etcd keeps quorum), each node only once the others are healthy;
 * a change Talos applies live reboots nothing. Node delays are real (install, reboot, etcd join),
 * scaled down.
 */
import { strict as assert } from "assert";
import { StackConfig } from "../config/types";
import {
  appliesTo,
  callsOf,
  fakeWorld,
  fastConfig,
  hasFlag,
  SimWorld,
  succeeded,
  withSysctl,
  withTimeouts,
} from "./helpers/simWorld";
import { scaledDelays } from "./helpers/calibration";

const DELAYS = { install: 300, reboot: 1200, bootstrap: 200, etcdJoin: 300, apiServer: 200, cri: 100 };

/** A udev rule more on every node: `machine.udev` cannot be applied live (CanApplyImmediate). */
function withUdevRule(cfg: StackConfig): StackConfig {
  const rule = 'SUBSYSTEM=="block", ATTRS{model}=="Portable SSD T5*", ATTR{queue/rotational}="0"';
  return { ...cfg, machine: { ...cfg.machine, udevRules: [...cfg.machine.udevRules, rule] } };
}

describe("simulated execution: changes on a running cluster", function () {
  this.timeout(120000);
  let w: SimWorld;
  before(async () => {
    w = new SimWorld(
      withTimeouts(fastConfig(), { nodeReady: 10, apiReady: 10, health: 10, poll: 0.1 }),
      scaledDelays(DELAYS),
    );
    succeeded(await w.up());
  });
  after(() => w?.cleanup());

  it("a reboot-needing change on all three nodes: one control plane down at a time, each after the others are healthy again", async () => {
    const before = w.world();
    const mark = w.calls().length;
    const since = Date.now();
    w.cfg = withUdevRule(w.cfg);
    const r = await w.up();
    succeeded(r);
    assert.deepEqual([...r.ran].sort(), ["apply-mini01", "apply-mini02", "apply-mini03"]);
    const world = w.world();
    assert.deepEqual(fakeWorld.quorumViolations(world), [], "never two etcd members down together");
    const fresh = w.calls().slice(mark);
    const steps = w.cfg.nodes.map((n) => {
      const [apply, ...more] = appliesTo(fresh, n.address).all;
      assert.deepEqual(more, [], `${n.hostname}: one apply`);
      assert.ok(!hasFlag(apply, "insecure"), n.hostname);
      const downs = world.downtime.filter((d) => d.node === n.address && d.from >= since);
      assert.equal(downs.length, 1, `${n.hostname}: down once`);
      const x = world.nodes[n.address];
      const b = before.nodes[n.address];
      assert.deepEqual(
        [x.reboots, x.changedApplies, x.stage, x.etcdState],
        [b.reboots + 1, b.changedApplies + 1, "running", "serving"],
        n.hostname,
      );
      assert.match(x.config!.text, /Portable SSD T5\*/, `${n.hostname} runs the new config`);
      return { node: n, apply, down: downs[0] };
    });
    steps.sort((a, b) => a.apply.t - b.apply.t);
    for (let i = 1; i < steps.length; i++) {
      const prev = steps[i - 1];
      const cur = steps[i];
      assert.ok(
        prev.down.to !== null && cur.apply.t >= prev.down.to,
        `${cur.node.hostname} went after ${prev.node.hostname} was back`,
      );
      const healthy = callsOf(fresh, "talosctl", "get", { node: prev.node.address, flags: { insecure: false } }).filter(
        (c) => c.exit === 0 && c.t >= prev.down.to! && c.t + c.ms <= cur.apply.t,
      );
      assert.ok(healthy.length > 0, `${cur.node.hostname} checked that ${prev.node.hostname} was healthy first`);
    }
  });

  it("a change applied live (a sysctl on every node) reboots nothing and takes no node down", async () => {
    const before = w.world();
    const since = Date.now();
    let cfg = w.cfg;
    for (const n of cfg.nodes) cfg = withSysctl(cfg, n.hostname, "vm.swappiness", "10");
    w.cfg = cfg;
    const r = await w.up();
    succeeded(r);
    assert.deepEqual([...r.ran].sort(), ["apply-mini01", "apply-mini02", "apply-mini03"]);
    const world = w.world();
    for (const n of w.cfg.nodes) {
      const x = world.nodes[n.address];
      const b = before.nodes[n.address];
      assert.deepEqual([x.reboots, x.changedApplies], [b.reboots, b.changedApplies + 1], n.hostname);
      assert.match(x.config!.text, /vm\.swappiness: "10"/);
    }
    assert.deepEqual(
      world.downtime.filter((d) => d.from >= since),
      [],
      "no node went down",
    );
  });
});
