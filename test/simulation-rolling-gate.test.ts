/**
 * Simulated execution of the rolling gate around a change on a running cluster (issue 15 §3,
 * issue 19 §2): a change applied live restarts control-plane pods after the apply answers, so the
 * lock is kept until they are back; a reboot change likewise; no two control planes' API servers
 * or etcd members are ever down together; an etcd that does not answer on a cluster that ran
 * before makes the gate wait and refuse, never skip; the gate refuses while another node is
 * unhealthy; the lock is held by the changing node for as long as it is down; a lock whose owner
 * has not written its pid yet is not taken over.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { StackConfig } from "../config/types";
import { buildPlan, stackHistory, stepIds } from "../plan";
import {
  appliesTo,
  callsOf,
  fakeWorld,
  fastConfig,
  nodeOf,
  perTest,
  SimWorld,
  succeeded,
  withSysctl,
  withTimeouts,
} from "./helpers/simWorld";
import { scaledDelays, scaledMs } from "./helpers/calibration";

const [N1, N2, N3] = ["172.29.51.11", "172.29.51.12", "172.29.51.13"];
/** Node delays scaled down; a restarted control-plane pod is away longer than a poll, shorter than the waits. */
const DELAYS = {
  install: 300,
  reboot: 1200,
  bootstrap: 200,
  etcdJoin: 300,
  apiServer: 200,
  cri: 100,
  // The kubelet polls its static pod URL every 20 s (httpCheckFrequency, its default), so a changed
  // pod goes away long after the apply answered. Here 4 s, times the machine's time scale like every
  // delay of these worlds: still twenty apply calls and more after the answer, at any load, and
  // longer than a poll, so a gate that let go when the apply answered would be caught.
  staticPodPickup: 4000,
  staticPodRestart: 2000,
  kubeletRestart: 400,
};

/**
 * Waits generous enough for a loaded machine (a wait that succeeds ends when its condition holds).
 */
const roomy = () => withTimeouts(fastConfig(), { nodeReady: 60, apiReady: 60, health: 60 });

/**
 * A refusal waits out `health`: the run that must be refused gets a short one (6 s idle, scaled).
 * `health` is a run-time setting, so changing it between runs re-runs nothing by itself.
 */
const refusing = (cfg: StackConfig) => withTimeouts(cfg, { health: 6 });

/** A Kubernetes patch release: new images for every control-plane pod and the kubelet, applied live. */
function withKubernetesPatch(cfg: StackConfig): StackConfig {
  return { ...cfg, kubernetes: { ...cfg.kubernetes, version: "v1.31.2" } };
}

/** A udev rule more on every node: `machine.udev` cannot be applied live (CanApplyImmediate). */
function withUdevRule(cfg: StackConfig): StackConfig {
  const rule = 'SUBSYSTEM=="block", ATTRS{model}=="Portable SSD T5*", ATTR{queue/rotational}="0"';
  return { ...cfg, machine: { ...cfg.machine, udevRules: [...cfg.machine.udevRules, rule] } };
}

/** Three nodes' changes go one after the other, each waiting for the lock: no step timeout of its own. */
/** The engine kill of these long steps, scaled when the step starts (the load may have risen since the file loaded). */
const LONG_STEPS = () => ({ stepTimeoutMs: scaledMs(600000) });

/** The plan as the program builds it for a stack whose last update completed the cluster phase. */
const afterClusterRan = (cfg: StackConfig) =>
  buildPlan(cfg, undefined, stackHistory(["talos", "cluster", "cni", "secrets", "gitops"]));

/**
 * Who holds the rolling lock, sampled every few ms while a run goes on: the step id of the
 * owner (read from its /proc environ), "" for a lock without a pid, null for no lock.
 */
function watchLock(lockDir: string): () => { t: number; holder: string | null }[] {
  const samples: { t: number; holder: string | null }[] = [];
  const timer = setInterval(() => {
    const t = Date.now();
    let pid: string;
    try {
      pid = fs.readFileSync(path.join(lockDir, "pid"), "utf8").trim();
    } catch {
      samples.push({ t, holder: fs.existsSync(lockDir) ? "" : null });
      return;
    }
    try {
      const env = fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
      samples.push({ t, holder: (env.find((e) => e.startsWith("STEP_ID=")) ?? "STEP_ID=?").slice(8) });
    } catch {
      samples.push({ t, holder: `gone:${pid}` });
    }
  }, 5);
  return () => {
    clearInterval(timer);
    return samples;
  };
}

/** Every interval since `since` in which a node's API server or etcd member was down, by hostname. */
function downIntervals(w: SimWorld, since: number): { hostname: string; from: number; to: number | null }[] {
  const world = w.world();
  return [...world.apiDowntime, ...world.downtime]
    .filter((d) => d.from >= since)
    .map((d) => ({ hostname: d.hostname, from: d.from, to: d.to }));
}

/** While a node was down, the lock was held by that node's own step: samples that say otherwise. */
function lockGaps(
  samples: { t: number; holder: string | null }[],
  downs: { hostname: string; from: number; to: number | null }[],
) {
  return downs.flatMap((d) => {
    const inside = samples.filter((s) => s.t >= d.from && (d.to === null || s.t < d.to));
    assert.ok(inside.length >= 5, `the lock was sampled while ${d.hostname} was down (${inside.length} samples)`);
    return inside
      .filter((s) => s.holder !== `apply-${d.hostname}`)
      .map((s) => `${d.hostname} down at +${s.t - d.from} ms, lock: ${s.holder ?? "free"}`)
      .slice(0, 3);
  });
}

describe("simulated execution: the rolling gate holds every change", function () {
  this.timeout(1200000);

  describe("changes on a running cluster", () => {
    let w: SimWorld;
    before(async () => {
      w = new SimWorld(roomy(), scaledDelays(DELAYS));
      succeeded(await w.up({ options: LONG_STEPS() }));
    });
    after(() => w?.cleanup());

    it("a live change that restarts every control plane's API server: never two down at once, each lock kept until that node's pods are back", async () => {
      const since = Date.now();
      const mark = w.calls().length;
      w.cfg = withKubernetesPatch(w.cfg);
      const stop = watchLock(path.join(w.projectDir, w.plan.settings.ROLLING_LOCK));
      const r = await w.up({ plan: afterClusterRan(w.cfg), options: LONG_STEPS() });
      const samples = stop();
      succeeded(r);
      assert.deepEqual([...r.ran].sort(), ["apply-mini01", "apply-mini02", "apply-mini03"]);
      const world = w.world();
      const restarts = world.apiDowntime.filter((d) => d.from >= since);
      assert.deepEqual(
        restarts.map((d) => [d.hostname, d.reason]).sort(),
        [
          ["mini01", "kube-apiserver restart"],
          ["mini02", "kube-apiserver restart"],
          ["mini03", "kube-apiserver restart"],
        ],
        "each API server restarted once, live",
      );
      assert.deepEqual(fakeWorld.apiServerOverlaps(world), [], "never two API servers down together");
      assert.deepEqual(fakeWorld.controlPlaneOverlaps(world), [], "never two control planes down together");
      assert.deepEqual(fakeWorld.quorumViolations(world), []);
      for (const n of w.cfg.nodes) assert.equal(world.nodes[n.address].reboots, 0, `${n.hostname} did not reboot`);
      assert.deepEqual(lockGaps(samples, downIntervals(w, since)), [], "the changing node held the lock");
      // Each node's next change started only after the previous node's API server was back.
      const applies = w.cfg.nodes
        .map((n) => appliesTo(w.calls().slice(mark), n.address).all[0])
        .sort((a, b) => a.t - b.t);
      for (let i = 1; i < applies.length; i++) {
        const prev = restarts.find((d) => d.node === nodeOf(applies[i - 1]))!;
        assert.ok(prev.to !== null && applies[i].t >= prev.to, `${nodeOf(applies[i])} after ${prev.hostname} was back`);
      }
    });

    it("a reboot change: never two control planes (API server or etcd) down at once, each lock kept until the node is back", async () => {
      const since = Date.now();
      w.cfg = withUdevRule(w.cfg);
      const stop = watchLock(path.join(w.projectDir, w.plan.settings.ROLLING_LOCK));
      const r = await w.up({ plan: afterClusterRan(w.cfg), options: LONG_STEPS() });
      const samples = stop();
      succeeded(r);
      const world = w.world();
      assert.equal(world.apiDowntime.filter((d) => d.from >= since).length, 3, "each API server down once (reboot)");
      assert.deepEqual(fakeWorld.controlPlaneOverlaps(world), []);
      assert.deepEqual(fakeWorld.quorumViolations(world), []);
      assert.deepEqual(lockGaps(samples, downIntervals(w, since)), [], "the changing node held the lock");
    });
  });

  describe("fail closed, refuse while unhealthy", () => {
    const worlds = perTest();

    it("a cluster that ran before and no etcd answers: the gate waits, then refuses (the node is not changed)", async () => {
      const w = worlds.open(roomy(), DELAYS);
      succeeded(await w.up({ options: LONG_STEPS() }));
      // Every control plane's etcd is slow: no probe answers within its bound.
      w.faults([{ tool: "talosctl", command: "etcd members", kind: "timeout" }]);
      const mark = w.calls().length;
      const before = w.node("mini01").changedApplies;
      w.cfg = refusing(withKubernetesPatch(w.cfg));
      const r = await w.up({ plan: afterClusterRan(w.cfg), options: LONG_STEPS() });
      assert.ok(r.failed, "the run failed");
      assert.match(
        r.failed.message,
        /an answering etcd before mini0\d changes \(the stack's last update completed the cluster phase.*not reached within \d+ s: no control plane's etcd serves members/,
      );
      assert.deepEqual(
        w.cfg.nodes.flatMap((n) => appliesTo(w.calls().slice(mark), n.address).all),
        [],
        "no node was changed",
      );
      assert.equal(w.node("mini01").changedApplies, before);
      // Once etcd answers, the same change goes through (with the roomy wait again: a run-time
      // setting, which re-runs nothing by itself).
      w.faults([]);
      w.cfg = withTimeouts(w.cfg, { health: 60 });
      succeeded(await w.up({ plan: afterClusterRan(w.cfg), options: LONG_STEPS() }));
      assert.deepEqual(fakeWorld.controlPlaneOverlaps(w.world()), []);
    });

    it("the same, and a first install still skips the gate: every node in maintenance needs no etcd", async () => {
      const w = worlds.open({ ...roomy(), stopAfter: "talos" }, DELAYS);
      w.faults([{ tool: "talosctl", command: "etcd members", kind: "timeout" }]);
      succeeded(await w.up({ plan: afterClusterRan(w.cfg), options: LONG_STEPS() }));
      // No gate: nothing waits for an etcd. Once a node holds its config, its step asks each
      // control plane's etcd once whether a cluster runs that the node has joined (a node added to a
      // running cluster is waited for until healthy); here none does, so that is one round per node.
      const probes = callsOf(w.calls(), "talosctl", "etcd members").length;
      const n = w.cfg.nodes.length;
      const cps = w.cfg.nodes.filter((x) => x.role === "controlplane").length;
      assert.ok(probes <= n * cps, `no gate on a first install: ${probes} etcd probes, at most one round per node`);
    });

    it("a control plane installed into the running cluster again (added back): up ends only once its etcd member votes, never while it is a learner", async () => {
      // Talos adds a joining member as a learner and promotes it once it has caught up (the fakes'
      // nodes.js, services/etcd.go addMember/promoteMember): here 8 s after the join.
      const w = worlds.open(roomy(), { ...DELAYS, etcdJoin: 8000 });
      succeeded(await w.up({ options: LONG_STEPS() }));
      fakeWorld.toMaintenance(w.dir, N3);
      delete w.state.steps[stepIds.apply("mini03")];
      const mark = w.calls().length;
      succeeded(await w.up({ plan: afterClusterRan(w.cfg), options: LONG_STEPS() }));
      assert.equal(appliesTo(w.calls().slice(mark), N3).insecure.length, 1, "mini03 installed again");
      const world = w.world();
      assert.equal(world.nodes[N3].etcdState, "serving", "mini03 votes when up ends");
      assert.deepEqual(fakeWorld.quorumViolations(world), []);
    });

    it("refuses to start a node's change while another control plane is down (power off): no apply, a clear message", async () => {
      const w = worlds.open(roomy(), DELAYS);
      succeeded(await w.up({ options: LONG_STEPS() }));
      fakeWorld.powerOff(w.dir, N3);
      const mark = w.calls().length;
      w.cfg = refusing(withKubernetesPatch(w.cfg));
      const plan = afterClusterRan(w.cfg);
      const r = await w.up({
        options: LONG_STEPS(),
        plan: { ...plan, steps: plan.steps.filter((s) => s.id !== "apply-mini03") },
      });
      assert.ok(r.failed, "the run failed");
      assert.match(
        r.failed.message,
        /every other node healthy before mini0[12] changes not reached within \d+ s: 172\.29\.51\.13: .*connection refused/,
      );
      assert.deepEqual(
        [N1, N2].flatMap((a) => appliesTo(w.calls().slice(mark), a).all),
        [],
        "no node was changed",
      );
    });

    it("refuses while another control plane's API server is down though its etcd serves (its kube-apiserver not back)", async () => {
      const w = worlds.open(roomy(), DELAYS);
      succeeded(await w.up({ options: LONG_STEPS() }));
      // mini02's kube-apiserver is being replaced and does not come back within the wait.
      fakeWorld.updateState(w.dir, (s) => {
        const p = (s.nodes[N2] as unknown as { staticPods: Record<string, Record<string, number>> }).staticPods[
          "kube-apiserver"
        ];
        Object.assign(p, { version: p.version + 1, restartAt: Date.now(), readyAt: Date.now() + 3600000 });
      });
      assert.equal(w.node("mini02").etcdState, "serving");
      const mark = w.calls().length;
      w.cfg = refusing(withKubernetesPatch(w.cfg));
      const plan = afterClusterRan(w.cfg);
      const r = await w.up({
        options: LONG_STEPS(),
        plan: { ...plan, steps: plan.steps.filter((s) => s.id !== "apply-mini02") },
      });
      assert.ok(r.failed, "the run failed");
      assert.match(
        r.failed.message,
        /every other node healthy before mini0[13] changes not reached within \d+ s: kube-apiserver on 172\.29\.51\.12: The connection to the server 172\.29\.51\.12:6443 was refused/,
      );
      assert.deepEqual(
        [N1, N3].flatMap((a) => appliesTo(w.calls().slice(mark), a).all),
        [],
        "no node was changed",
      );
    });
  });

  describe("the rolling lock", () => {
    const worlds = perTest();

    /** Stage a lock directory as a step leaves it between mkdir and writing its pid (or with a pid). */
    function stageLock(w: SimWorld, pid?: number): string {
      const lock = path.join(w.projectDir, w.plan.settings.ROLLING_LOCK);
      fs.mkdirSync(lock, { recursive: true });
      if (pid !== undefined) fs.writeFileSync(path.join(lock, "pid"), `${pid}\n`);
      return lock;
    }

    /** Waits (bounded) until `cond` holds, polling. */
    async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
      const deadline = Date.now() + ms;
      while (!cond()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }

    for (const [label, pid] of [
      ["has not written its pid yet", undefined],
      ["is alive", process.pid],
    ] as const) {
      it(`a lock whose owner ${label} is not taken over: the change waits until the lock is gone`, async () => {
        const w = worlds.open(roomy(), DELAYS);
        succeeded(await w.up({ options: LONG_STEPS() }));
        w.cfg = withSysctl(w.cfg, "mini01", "vm.swappiness", "10");
        const lock = stageLock(w, pid);
        const mark = w.calls().length;
        const run = w.up({ plan: afterClusterRan(w.cfg), options: LONG_STEPS() });
        // The step reached the lock: its dry run said the node differs.
        await until(
          () =>
            callsOf(w.calls().slice(mark), "talosctl", "apply-config", { node: N1, flags: { "dry-run": true } })
              .length > 0,
          60000,
          "mini01's dry run",
        );
        // Many lock polls later, the lock is still the staged one and nothing else happened.
        await new Promise((r) => setTimeout(r, 2000));
        assert.equal(fs.existsSync(path.join(lock, "pid")), pid !== undefined, "the staged lock is untouched");
        if (pid !== undefined) assert.equal(fs.readFileSync(path.join(lock, "pid"), "utf8").trim(), String(pid));
        const meanwhile = w.calls().slice(mark);
        assert.deepEqual(callsOf(meanwhile, "talosctl", "etcd members"), [], "the gate did not start");
        assert.deepEqual(appliesTo(meanwhile, N1).all, [], "no apply");
        const released = Date.now();
        fs.rmSync(lock, { recursive: true });
        const r = await run;
        succeeded(r);
        assert.ok(appliesTo(w.calls().slice(mark), N1).all[0].t >= released, "applied only after the lock was gone");
      });
    }

    it("a lock whose owner is gone (killed) is taken over", async () => {
      const w = worlds.open(roomy(), DELAYS);
      succeeded(await w.up({ options: LONG_STEPS() }));
      w.cfg = withSysctl(w.cfg, "mini01", "vm.swappiness", "10");
      stageLock(w, 2147483646);
      succeeded(await w.up({ plan: afterClusterRan(w.cfg), options: LONG_STEPS() }));
    });
  });
});
