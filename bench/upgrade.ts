/**
 * A rolling Talos upgrade of home-ops' three control planes on the fake nodes (test/fakes), run by
 * the simulation engine (test/sim/engine.ts) over the plan the product builds: home-ops is brought
 * up at Talos v1.10.5 with every delay 0, then the stack moves to v1.11.5 (Kubernetes stays 1.31,
 * which v1.11 runs) and the plan built from the previous outputs (plan/upgrades.ts upgradeSummary:
 * one Talos hop, one talos-upgrade step per node, each after the one before) runs with the
 * upgrade's real delays divided by the scale.
 *
 * Per node, from the fakes' own records: from the start of that node's `talosctl upgrade` call
 * (calls.log) to the moment the node serves again: its etcd member and its kube-apiserver both back
 * (the end of its downtime records, state.downtime / state.apiDowntime, which the fakes close at
 * the member's and API server's modelled return: test/fakes/lib/talos/nodes.js settle). The node's
 * Kubernetes Node is Ready from its boot on (world.js k8sNodes), so it is never the later one.
 * Total: from the first upgrade step's start to the last one's end (the engine's timings).
 */
import { PHASES, StackConfig } from "../config/types";
import { parsePreviousDeployment } from "../config/previousDeployment";
import { activePhases, buildPlan, Plan, stackHistory, upgradeSummary } from "../plan";
import { schematicId } from "../talos/schematic";
import { up } from "../test/sim/engine";
import { fakeWorld, nodeOf, SimWorld } from "../test/helpers/simWorld";
import { round } from "./stats";
import { simConfig, ZERO_DELAYS } from "./sim";

/**
 * Real durations of one node's Talos upgrade on a Mac mini, seconds, as the fakes model it
 * (test/fakes/lib/talos/lifecycle.js legacyUpgrade: the node goes down for `upgrade` + `reboot`;
 * nodes.js: etcd listens again at the boot, its data kept, and kube-apiserver answers `apiServer`
 * after the node's boot finished).
 */
export const REAL_UPGRADE_DELAYS_S = {
  /**
   * The upgrade sequence up to the reboot: cordon, stop services, pull the factory installer and
   * write the other boot entry. The bench's first install (sim.ts REAL_DELAYS_S.install, 300 s
   * from the maintenance-mode apply to the Talos API up) pulls and writes the same installer and
   * reboots once: 300 s less that reboot.
   */
  upgrade: 240,
  /** Reboot of a configured node into the new entry until the Talos API answers (sim.ts REAL_DELAYS_S.reboot). */
  reboot: 60,
  /** Rejoin: etcd running again → kube-apiserver answering (sim.ts REAL_DELAYS_S.apiServer). */
  apiServer: 60,
} as const;

/** The hop: home-ops' v1.10.5 to the next minor's release the project builds talosctl for (upgrades.json). */
export const HOP = { from: "v1.10.5", to: "v1.11.5", minor: "v1.11", talosctl: "talosctl-v1.11" } as const;

export interface NodeUpgrade {
  hostname: string;
  step: string;
  /** ms from the run's start. */
  stepStartMs: number;
  upgradeCallMs: number;
  healthyMs: number;
  stepEndMs: number;
  /** upgrade call start → etcd member and API server back (the fakes' records). */
  nodeMs: number;
  /** fake invocations of the step other than the upgrade call, and their own (in-process) time. */
  gateCalls: number;
  gateCallOwnMs: number;
}

export interface UpgradeRun {
  scale: number;
  pollSeconds: number;
  delaysMs: Record<keyof typeof REAL_UPGRADE_DELAYS_S, number>;
  steps: string[];
  nodes: NodeUpgrade[];
  totalMs: number;
  sumNodeMs: number;
  ratio: number;
  /** The whole `up`: the upgrade, then every node's apply of the v1.11 rendering. */
  upWallMs: number;
  quorumViolations: unknown[];
  controlPlaneOverlaps: unknown[];
}

/** The target stack: home-ops on the hop's version, the talosctl of its minor. */
export function targetConfig(cfg: StackConfig): StackConfig {
  return { ...cfg, talos: { ...cfg.talos, version: HOP.to, minor: HOP.minor, talosctl: HOP.talosctl } };
}

/** One rolling upgrade at `scale` (real seconds per simulated second), polls of 5 s real / scale. */
export async function runUpgrade(scale: number): Promise<UpgradeRun> {
  const pollSeconds = 5 / scale;
  const before = simConfig(pollSeconds);
  const w = new SimWorld(before, { ...ZERO_DELAYS });
  let failure: unknown;
  try {
    const boot = await up(w.plan, w.state, w.options);
    if (boot.failed || boot.notStarted.length)
      throw new Error(`bench: bootstrap before the upgrade failed: ${JSON.stringify(boot.failed)}`);
    const schematic = schematicId(before);
    const previous = parsePreviousDeployment({
      phasesDeclared: [...PHASES],
      phasesCompleted: [...PHASES],
      running: {
        talos: Object.fromEntries(before.nodes.map((n) => [n.hostname, { version: HOP.from, schematic }])),
        kubernetes: before.kubernetes.version,
      },
    });
    const cfg = targetConfig(before);
    const plan: Plan = buildPlan(cfg, activePhases(cfg), stackHistory(previous.phasesCompleted), {
      upgrade: upgradeSummary(cfg, previous),
    });
    const steps = plan.steps.filter((s) => s.id.startsWith("talos-upgrade-"));
    if (steps.length !== before.nodes.length || plan.upgrade.path.hops.length !== 1)
      throw new Error(`bench: expected one Talos hop over ${before.nodes.length} nodes, got ${steps.map((s) => s.id)}`);
    const delaysMs = Object.fromEntries(
      Object.entries(REAL_UPGRADE_DELAYS_S).map(([k, v]) => [k, (v * 1000) / scale]),
    ) as UpgradeRun["delaysMs"];
    fakeWorld.setDelays(w.dir, delaysMs);
    // The fakes read the delays when asked, so the API servers of the zero-delay bring-up count as
    // starting `apiServer` after their boot: wait for that moment before timing, as an upgrade of a
    // real cluster starts from one that has settled (without it the first node's gate waited out
    // the whole rejoin delay: 29 s of a 588 s run at /2).
    const settled = fakeWorld.apiServersServingFrom(w.dir);
    if (!Number.isFinite(settled)) throw new Error("bench: a control plane is not running after the bring-up");
    await new Promise((r) => setTimeout(r, Math.max(0, settled - Date.now())));
    const callsBefore = w.calls().length;
    const t0 = Date.now();
    // The engine's kill of a stuck step (60 s x the machine's time scale) must stay beyond a
    // node's modelled upgrade, which at a small scale (/2: 180 s a node) outlasts it on an idle
    // machine: there it killed a healthy step.
    const nodeModelMs = Object.values(delaysMs).reduce((a, ms) => a + ms, 0);
    const r = await up(plan, w.state, { ...w.options, stepTimeoutMs: w.options.stepTimeoutMs! + 2 * nodeModelMs });
    if (r.failed || r.notStarted.length)
      throw new Error(`bench: the rolling upgrade failed: ${JSON.stringify(r.failed)}`);
    w.assertNoUsageErrors();
    const calls = w.calls().slice(callsBefore);
    const world = w.world();
    const nodes = steps.map((step): NodeUpgrade => {
      const node = before.nodes.find((n) => n.hostname === step.node)!;
      const t = r.timings[step.id];
      const call = calls.find((c) => c.command === "upgrade" && nodeOf(c) === node.address);
      if (!call) throw new Error(`bench: no talosctl upgrade call to ${node.address}`);
      const records = [...world.downtime, ...world.apiDowntime].filter(
        (d) => d.node === node.address && d.reason === "upgrade" && d.from >= call.t,
      );
      if (records.length !== 2 || records.some((d) => d.to === null))
        throw new Error(
          `bench: ${node.hostname}: expected a closed etcd and API server downtime record, got ${JSON.stringify(records)}`,
        );
      const healthy = Math.max(...records.map((d) => d.to!));
      const start = t0 + t.startMs;
      const end = t0 + t.endMs;
      const gate = calls.filter((c) => c !== call && c.t >= start && c.t <= end);
      return {
        hostname: node.hostname,
        step: step.id,
        stepStartMs: t.startMs,
        upgradeCallMs: call.t - t0,
        healthyMs: healthy - t0,
        stepEndMs: t.endMs,
        nodeMs: healthy - call.t,
        gateCalls: gate.length,
        gateCallOwnMs: gate.reduce((a, c) => a + c.ms, 0),
      };
    });
    const totalMs = Math.max(...nodes.map((n) => n.stepEndMs)) - Math.min(...nodes.map((n) => n.stepStartMs));
    const sumNodeMs = nodes.reduce((a, n) => a + n.nodeMs, 0);
    return {
      scale,
      pollSeconds,
      delaysMs,
      steps: steps.map((s) => s.id),
      nodes,
      totalMs,
      sumNodeMs,
      ratio: round(totalMs / sumNodeMs, 3),
      upWallMs: r.wallMs,
      quorumViolations: fakeWorld.quorumViolations(world),
      controlPlaneOverlaps: fakeWorld.controlPlaneOverlaps(world),
    };
  } catch (e) {
    failure = e;
    throw e;
  } finally {
    // A run that failed (a step killed mid-way leaves its scratch directory to the watchdog) must
    // report its own failure, not the leftover the cleanup then finds.
    try {
      w.cleanup();
    } catch (e) {
      if (failure === undefined) throw e;
    }
  }
}
