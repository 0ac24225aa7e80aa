/**
 * Simulated bootstrap of the home-ops stack on the fake talosctl/kubectl/op (test/fakes), with
 * realistic per-operation delays scaled down by SCALE, run three ways:
 *
 *  1. calibration: the same plan with every modelled delay 0, to measure each step's own cost
 *     (its script's fake invocations, shell work, the engine's bookkeeping);
 *  2. program: one `up` of the plan (steps in parallel as soon as their dependencies succeed),
 *     polls every 5 s real (0.05 s simulated, the stack's default `timeouts.poll`);
 *  3. old: the old shell bootstrap's schedule on the same fakes and delays: the plan's steps one at
 *     a time in plan order (nodes one after another, phases strictly sequential), polls every 10 s
 *     real, plus the old fixed sleeps as extra `sleep` steps.
 *
 * The critical path is computed from the same delays over the plan's dependsOn DAG (see
 * `modelledDelayMs` for which step waits on which delay, derived from test/fakes/lib/world.js and
 * test/fakes/bin/talosctl).
 */
import { StackConfig } from "../config/types";
import { CommandStep, Plan, Step } from "../plan";
import { up, RunResult } from "../test/sim/engine";
import { SimWorld } from "../test/helpers/simWorld";
import { homeOpsConfig } from "../test/helpers/stackConfigFixture";
import type { FakeCall } from "../test/fakes/lib/state";
import { median, round } from "./stats";

/**
 * Real seconds per simulated second (default). 50, not 100: the fakes' own cost per invocation
 * (~40–100 ms, a fresh node process) is not scaled, and at /100 it stands for 4–10 real seconds per
 * talosctl/kubectl call, far more than a real call; at /50 it stands for 2–5 s. bench/run.ts also
 * reports a run at /100 (sensitivity).
 */
export const SCALE = 50;

/** Real durations of the fake world's operations, in seconds (home-ops on Mac minis). */
export const REAL_DELAYS_S = {
  /** Maintenance-mode apply → install to disk → reboot into the installed system → Talos API up. */
  install: 300,
  /** A reboot of a configured node (reboot-mode re-apply, reset); not on the first-run path. */
  reboot: 60,
  /** talosctl bootstrap → etcd running. */
  bootstrap: 30,
  /** etcd running → kube-apiserver answering through the VIP. */
  apiServer: 60,
  /** Cilium Helm release → DaemonSet rolled out, nodes Ready. */
  ciliumRollout: 90,
  /** ESO Helm release → CRDs Established, webhook Available. */
  esoReady: 60,
  /** Connect Deployment + both Secrets → Deployment Available. */
  connectReady: 30,
  /** ClusterSecretStore (with Connect Available) → store Ready. */
  storeReady: 10,
  /** FluxInstance (with flux-operator) → root Kustomization Ready. */
  fluxReady: 120,
  /** Added latency per fake invocation: 0, the fakes' real per-invocation cost is used as is. */
  command: 0,
} as const;

export type DelayName = keyof typeof REAL_DELAYS_S;
export type Delays = Record<DelayName, number>;

export function scaledDelaysMs(scale = SCALE): Delays {
  return Object.fromEntries(Object.entries(REAL_DELAYS_S).map(([k, v]) => [k, (v * 1000) / scale])) as Delays;
}

export const ZERO_DELAYS: Delays = Object.fromEntries(Object.keys(REAL_DELAYS_S).map((k) => [k, 0])) as Delays;

/** Poll intervals, real seconds: the program's default (timeouts.poll) and the old scripts'. */
export const REAL_POLL_S = { program: 5, old: 10 };

/** The old bootstrap's fixed sleeps (reference §6), real seconds, and where they sit. */
export const OLD_SLEEPS_S = {
  /** After each node's install+reboot, before the next node (45–60 s; 45 used). */
  betweenReboots: 45,
  /** After the etcd bootstrap call. */
  afterBootstrap: 30,
  /** After the ESO webhook is available, before the store. */
  afterEsoWebhook: 15,
  /** After Flux is installed (the FluxInstance), before the sync wait. */
  beforeFluxSync: 30,
  /** After the root Kustomization is Ready. */
  afterFluxSync: 30,
};

/** The stack for the simulation: home-ops (3 control planes) with fine-grained polls. */
export function simConfig(pollSeconds: number): StackConfig {
  return homeOpsConfig({
    // Deadlines far beyond every scaled delay: they bound a hung run, they never shape a good one.
    timeouts: { nodeReady: 60, apiReady: 60, health: 60, storeReady: 60, fluxReady: 60, poll: pollSeconds },
  });
}

/** Which modelled delay each step waits on (the per-step table), derived from what the fakes do. */
export function modelledDelayMs(stepId: string, d: Delays): number {
  if (stepId.startsWith("apply-")) return d.install;
  const clock = WAITS[stepId]?.clock;
  return clock ? d[CLOCKS[clock].delay] : 0;
}

/**
 * Clocks of the fake world (test/fakes/lib/world.js, test/fakes/bin/talosctl): a condition becomes
 * true `delay` after the latest of the events in `after` (node ids of the critical-path graph).
 * `install:<hostname>` clocks are added per node (after the step's own apply-config call).
 */
export const CLOCKS: Record<string, { delay: DelayName; after: string[]; what: string }> = {
  "etcd-up": {
    delay: "bootstrap",
    after: ["bootstrap"],
    what: "talosctl bootstrap → etcd up (kubeconfig, etcd members, health)",
  },
  "api-up": { delay: "apiServer", after: ["etcd-up"], what: "etcd up → kubectl answers (readyz, nodes registered)" },
  "cilium-rolled-out": { delay: "ciliumRollout", after: ["cilium"], what: "Cilium release created → nodes Ready" },
  "eso-available": {
    delay: "esoReady",
    after: ["external-secrets"],
    what: "ESO release created → CRDs Established, webhook Available",
  },
  "connect-available": {
    delay: "connectReady",
    after: ["connect-deployment", "connect-credentials", "connect-token"],
    what: "Connect Deployment and both Secrets created → Connect Available",
  },
  "store-valid": {
    delay: "storeReady",
    after: ["cluster-secret-store", "connect-available"],
    what: "max(store created, Connect Available) → ClusterSecretStore Ready",
  },
  "flux-synced": {
    delay: "fluxReady",
    after: ["flux-instance", "flux-operator"],
    what: "max(FluxInstance, flux-operator) created → root Kustomization Ready",
  },
};

type Call = FakeCall;

/** Waiting steps: the clock each one polls, and its waiting invocation (to split its own work). */
const WAITS: Record<string, { clock: string; waitCall: (c: Call) => boolean }> = {
  kubeconfig: { clock: "etcd-up", waitCall: (c) => c.tool === "talosctl" && c.argv.includes("kubeconfig") },
  "api-ready": { clock: "api-up", waitCall: (c) => c.tool === "kubectl" },
  "nodes-ready": { clock: "cilium-rolled-out", waitCall: (c) => c.tool === "kubectl" },
  "eso-ready": { clock: "eso-available", waitCall: (c) => c.tool === "kubectl" },
  "store-ready": { clock: "store-valid", waitCall: (c) => c.tool === "kubectl" },
  "flux-ready": { clock: "flux-synced", waitCall: (c) => c.tool === "kubectl" },
};

/** A step's own work, measured with every modelled delay 0 (ms). */
export interface StepWork {
  /** Whole step. */
  totalMs: number;
  /** Waiting steps: the work before the condition can matter (before the clock-starting apply-config call ends, or before the first waiting invocation starts). */
  preMs?: number;
  /** Waiting steps: the work from the (successful) waiting invocation to the step's end. */
  postMs?: number;
}

/** Splits every step's calibrated duration into its pre-wait and post-wait work, from calls.log. */
export function stepWork(run: SimRun): { work: Record<string, StepWork>; warnings: string[] } {
  const work: Record<string, StepWork> = {};
  const warnings: string[] = [];
  for (const step of run.plan.steps) {
    const t = run.timings[step.id];
    if (!t) {
      work[step.id] = { totalMs: 0 };
      continue;
    }
    const start = run.t0 + t.startMs;
    const end = run.t0 + t.endMs;
    const inStep = run.calls.filter((c) => c.t >= start - 1 && c.t + c.ms <= end + 1);
    const isApply = step.kind === "command" && step.id.startsWith("apply-");
    const wait = WAITS[step.id];
    if (!isApply && !wait) {
      work[step.id] = { totalMs: t.endMs - t.startMs };
      continue;
    }
    let preEnd: number | undefined;
    let waitAt: number | undefined;
    if (isApply) {
      const address = (step as CommandStep).env.NODE_ADDRESS;
      const mine = inStep.filter((c) => c.tool === "talosctl" && c.argv.includes(address));
      // The install, then the wait for the node to run it: apply-node's wait_holds_config polls
      // the authenticated dry run (talos/scripts.ts), which answers once the node is back.
      const dryRun = (c: Call) => c.argv.includes("apply-config") && c.argv.includes("--dry-run");
      const apply = mine.find((c) => c.argv.includes("apply-config") && !dryRun(c));
      const poll = apply && mine.find((c) => c.t >= apply.t + apply.ms && dryRun(c));
      if (apply && poll) {
        preEnd = apply.t + apply.ms;
        waitAt = poll.t;
      }
    } else {
      const first = inStep.find(wait.waitCall);
      if (first) preEnd = waitAt = first.t;
    }
    if (preEnd === undefined || waitAt === undefined) {
      warnings.push(`${step.id}: waiting invocation not found in calls.log; its whole work counted after the wait`);
      work[step.id] = { totalMs: t.endMs - t.startMs, preMs: 0, postMs: t.endMs - t.startMs };
      continue;
    }
    work[step.id] = {
      totalMs: t.endMs - t.startMs,
      preMs: Math.max(0, preEnd - start),
      postMs: Math.max(0, end - waitAt),
    };
  }
  return { work, warnings };
}

/** Median of several calibrations, quantity by quantity. */
export function medianWork(all: Record<string, StepWork>[]): Record<string, StepWork> {
  const out: Record<string, StepWork> = {};
  for (const id of Object.keys(all[0])) {
    const pick = (f: (w: StepWork) => number | undefined) => {
      const xs = all.map((w) => (w[id] ? f(w[id]) : undefined)).filter((x): x is number => x !== undefined);
      return xs.length ? median(xs) : undefined;
    };
    out[id] = { totalMs: pick((w) => w.totalMs) ?? 0, preMs: pick((w) => w.preMs), postMs: pick((w) => w.postMs) };
  }
  return out;
}

export interface CriticalPath {
  totalMs: number;
  /** Sum of the modelled delays (clock nodes) on the path. */
  delayMs: number;
  /** Sum of the steps' own work on the path. */
  workMs: number;
  path: { node: string; kind: "step" | "step-before-wait" | "clock"; weightMs: number; finishMs: number }[];
}

/**
 * The earliest possible finish of the run: the longest path through a graph of
 *  - every plan step (weight: its calibrated work), with the plan's dependsOn edges;
 *  - for a waiting step S, S split in two: `S (before wait)` (its work up to the wait) and S (its
 *    work from the successful waiting invocation on), with S depending on the clock it polls;
 *  - clock nodes (weight: the modelled delay) depending on the events that start them (CLOCKS;
 *    `install:<host>` after the node's apply-config call).
 * A clock that starts in an earlier step (etcd-up in bootstrap, api-up at etcd-up) overlaps the
 * waiting step's own preparation, exactly as in the fakes; no poll overshoot is included.
 */
export function criticalPath(plan: Plan, delays: Delays, work: Record<string, StepWork>): CriticalPath {
  const nodes = new Map<string, { kind: CriticalPath["path"][number]["kind"]; weightMs: number; after: string[] }>();
  for (const step of plan.steps) {
    const w = work[step.id] ?? { totalMs: 0 };
    const isApply = step.id.startsWith("apply-");
    const clock = isApply ? `install:${step.node ?? step.id}` : WAITS[step.id]?.clock;
    if (!clock || w.preMs === undefined || w.postMs === undefined) {
      nodes.set(step.id, { kind: "step", weightMs: w.totalMs, after: [...step.dependsOn] });
      continue;
    }
    const pre = `${step.id} (before wait)`;
    nodes.set(pre, { kind: "step-before-wait", weightMs: w.preMs, after: [...step.dependsOn] });
    nodes.set(step.id, { kind: "step", weightMs: w.postMs, after: [pre, clock] });
    if (isApply) nodes.set(clock, { kind: "clock", weightMs: delays.install, after: [pre] });
  }
  for (const [id, c] of Object.entries(CLOCKS)) {
    if (c.after.every((a) => nodes.has(a) || a in CLOCKS))
      nodes.set(id, { kind: "clock", weightMs: delays[c.delay], after: c.after });
  }
  const finish = new Map<string, number>();
  const via = new Map<string, string | undefined>();
  const visiting = new Set<string>();
  const finishOf = (id: string): number => {
    const known = finish.get(id);
    if (known !== undefined) return known;
    const n = nodes.get(id);
    if (!n) throw new Error(`bench: critical path: unknown node ${id}`);
    if (visiting.has(id)) throw new Error(`bench: critical path: cycle at ${id}`);
    visiting.add(id);
    let start = 0;
    let from: string | undefined;
    for (const a of n.after) {
      const f = finishOf(a);
      if (from === undefined || f > start) {
        start = f;
        from = a;
      }
    }
    visiting.delete(id);
    finish.set(id, start + n.weightMs);
    via.set(id, from);
    return start + n.weightMs;
  };
  let last = "";
  for (const id of nodes.keys()) if (!last || finishOf(id) > finishOf(last)) last = id;
  const ids: string[] = [];
  for (let cur: string | undefined = last; cur !== undefined; cur = via.get(cur)) ids.unshift(cur);
  const path = ids.map((id) => ({
    node: id,
    kind: nodes.get(id)!.kind,
    weightMs: nodes.get(id)!.weightMs,
    finishMs: finish.get(id)!,
  }));
  return {
    totalMs: finish.get(last)!,
    delayMs: path.filter((p) => p.kind === "clock").reduce((a, p) => a + p.weightMs, 0),
    workMs: path.filter((p) => p.kind !== "clock").reduce((a, p) => a + p.weightMs, 0),
    path,
  };
}

/** Longest path of the run's own measured step durations over dependsOn (the engine's scheduling slack check). */
export function measuredPathMs(run: SimRun): number {
  const finish = new Map<string, number>();
  for (const s of run.plan.steps) {
    const t = run.timings[s.id];
    const d = t ? t.endMs - t.startMs : 0;
    finish.set(s.id, Math.max(0, ...s.dependsOn.map((x) => finish.get(x) ?? 0)) + d);
  }
  return Math.max(...finish.values());
}

export interface SimRun extends RunResult {
  plan: Plan;
  /** Date.now() when `up` was called (the run's timings are relative to it). */
  t0: number;
  calls: Call[];
}

/** One `up` of `plan` in a fresh fake world with `delays`. Throws when the run did not complete. */
export async function runOnce(cfg: StackConfig, delays: Delays, plan?: (p: Plan) => Plan): Promise<SimRun> {
  const w = new SimWorld(cfg, { ...delays });
  try {
    const p = plan ? plan(w.plan) : w.plan;
    const t0 = Date.now();
    const r = await up(p, w.state, { ...w.options, inlineScripts: OLD_SLEEP_SCRIPTS });
    if (r.failed || r.notStarted.length) {
      throw new Error(
        `bench: simulated run failed at ${r.failed?.id ?? "?"}: ${r.failed?.message ?? ""} (not started: ${r.notStarted.join(", ")})`,
      );
    }
    return { ...r, plan: p, t0, calls: w.calls() as Call[] };
  } finally {
    w.cleanup();
  }
}

/** Per-step duration of every step of a run (ms); 0 for steps without a timing. */
export function durations(r: RunResult, plan: Plan): Record<string, number> {
  return Object.fromEntries(
    plan.steps.map((s) => [s.id, r.timings[s.id] ? r.timings[s.id].endMs - r.timings[s.id].startMs : 0]),
  );
}

/** Fixed sleeps of the old scripts: step id -> the inline shell text the engine runs for it. */
export const OLD_SLEEP_SCRIPTS = new Map<string, string>();

/** A `sleep` command step (a fixed sleep of the old scripts), shaped like the plan's own steps. */
function sleepStep(template: CommandStep, id: string, seconds: number, after: string): CommandStep {
  OLD_SLEEP_SCRIPTS.set(id, `sleep ${seconds}`);
  return {
    ...template,
    id,
    node: undefined,
    description: `old schedule: fixed sleep of ${seconds} s`,
    dependsOn: [after],
    env: { STEP_ID: id },
    stdinFrom: undefined,
    deleteScript: undefined,
  };
}

/**
 * The old schedule as a plan: every step depends on the one before it (plan order: nodes one at a
 * time, phases strictly sequential), with the old fixed sleeps inserted as `sleep` steps.
 */
export function oldSchedulePlan(plan: Plan, scale = SCALE): Plan {
  const s = (real: number) => round(real / scale, 4);
  const template = plan.steps.find((x): x is CommandStep => x.kind === "command");
  if (!template) throw new Error("bench: the plan has no command step");
  const applies = plan.steps.filter((x) => x.id.startsWith("apply-")).map((x) => x.id);
  const sleepsAfter = new Map<string, { id: string; seconds: number }>();
  applies
    .slice(0, -1)
    .forEach((id) => sleepsAfter.set(id, { id: `sleep-after-${id}`, seconds: s(OLD_SLEEPS_S.betweenReboots) }));
  sleepsAfter.set("bootstrap", { id: "sleep-after-bootstrap", seconds: s(OLD_SLEEPS_S.afterBootstrap) });
  sleepsAfter.set("eso-ready", { id: "sleep-after-eso-webhook", seconds: s(OLD_SLEEPS_S.afterEsoWebhook) });
  sleepsAfter.set("flux-instance", { id: "sleep-before-flux-sync", seconds: s(OLD_SLEEPS_S.beforeFluxSync) });
  sleepsAfter.set("flux-ready", { id: "sleep-after-flux-sync", seconds: s(OLD_SLEEPS_S.afterFluxSync) });
  const steps: Step[] = [];
  let prev: string | undefined;
  for (const step of plan.steps) {
    steps.push({ ...step, dependsOn: prev ? [prev] : [] } as Step);
    prev = step.id;
    const sl = sleepsAfter.get(step.id);
    if (sl) {
      steps.push({ ...sleepStep(template, sl.id, sl.seconds, prev), phase: step.phase });
      prev = sl.id;
    }
  }
  return { ...plan, steps };
}

/** When each phase finished (its last step's end), in seconds from the run's start. */
export function phaseEnds(r: RunResult, plan: Plan): Record<string, { endS: number; sincePreviousS: number }> {
  const out: Record<string, { endS: number; sincePreviousS: number }> = {};
  let prevEnd = 0;
  for (const phase of plan.phases) {
    const ends = plan.steps.filter((s) => s.phase === phase && r.timings[s.id]).map((s) => r.timings[s.id].endMs);
    const end = ends.length ? Math.max(...ends) : prevEnd;
    out[phase] = { endS: round(end / 1000), sincePreviousS: round((end - prevEnd) / 1000) };
    prevEnd = end;
  }
  return out;
}
