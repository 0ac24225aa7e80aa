/**
 * The real engine's figures (issue: real Pulumi engine in the tests), inside the e2e tier's
 * loopback-only namespace, on the e2e stack (home-ops in shape, talos → cluster, fake nodes):
 * - a no-op `pulumi up` of the stack against a no-op `up` of a program with no resources but the
 *   same plugins (the floor: test/e2e/fixtures/floor.ts): the ratio is what the program and its
 *   twelve resources cost the engine beyond its own fixed cost;
 * - a first `up` with the fakes' delays against its critical path: the longest dependsOn path
 *   where each step lasts what it lasted in that same run (from the engine's events, timed as
 *   they arrive), so the ratio is what the engine's scheduling and start-up add.
 */
import * as path from "path";
import { buildPlan, Plan } from "../plan";
import { parseStackConfig } from "../config/index";
import { rawConfigFromStackFile } from "../config/load";
import { E2E_DELAYS, E2EStack, EngineEvent, REPO, RunResult } from "../test/e2e/harness";
import * as fs from "fs";
import { median, round } from "./stats";

export interface EngineFigures {
  noopUpSeconds: number[];
  floorUpSeconds: number[];
  noopToFloorRatio: number;
  firstUpSeconds: number;
  criticalPathSeconds: number;
  firstUpToCriticalPath: number;
  stepSeconds: Record<string, number>;
}

/** Step name → [start, end] in ms from the run's start, from the arrival of its events. */
function stepWindows(r: RunResult): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = {};
  r.events.forEach((e: EngineEvent, i: number) => {
    const at = r.arrivals[i];
    const pre = e.resourcePreEvent?.metadata;
    const done = e.resOutputsEvent?.metadata;
    if (pre?.type === "command:local:Command") out[String(pre.urn).split("::").pop()!] = [at, at];
    if (done?.type === "command:local:Command") {
      const name = String(done.urn).split("::").pop()!;
      if (out[name]) out[name][1] = at;
    }
  });
  return out;
}

/** Longest path through the plan's DAG with each step's measured duration. */
function criticalPathMs(plan: Plan, durations: Record<string, number>): number {
  const finish = new Map<string, number>();
  for (const s of plan.steps) {
    const start = Math.max(0, ...s.dependsOn.map((d) => finish.get(d) ?? 0));
    finish.set(s.id, start + (durations[`${s.phase}-${s.id}`] ?? 0));
  }
  return Math.max(...finish.values());
}

export async function engineFigures(reps = 5): Promise<EngineFigures> {
  const s = new E2EStack({ world: { delaysMs: E2E_DELAYS } });
  const floor = new E2EStack({});
  try {
    const first = await s.up();
    if (first.code !== 0) throw new Error(`bench: first up failed: ${first.stderr.slice(-1000)}`);
    const windows = stepWindows(first);
    const stepSeconds = Object.fromEntries(Object.entries(windows).map(([n, [a, b]]) => [n, round((b - a) / 1000)]));
    const cfg = parseStackConfig(rawConfigFromStackFile(fs.readFileSync(s.stackFile, "utf8")), "e2e").config;
    const plan = buildPlan(cfg);
    const cp = criticalPathMs(plan, Object.fromEntries(Object.entries(windows).map(([n, [a, b]]) => [n, b - a])));
    const noop: number[] = [];
    const floorRuns: number[] = [];
    const floorEntry = path.join(REPO, "test/e2e/fixtures/floor.ts");
    await floor.pulumi(["up", "--yes", "--skip-preview"], { program: true, entry: floorEntry });
    for (let i = 0; i < reps; i++) {
      const a = await s.pulumi(["up", "--yes", "--skip-preview"], { program: true });
      if (a.code !== 0) throw new Error(`bench: no-op up failed: ${a.stderr.slice(-1000)}`);
      noop.push(a.ms / 1000);
      const b = await floor.pulumi(["up", "--yes", "--skip-preview"], { program: true, entry: floorEntry });
      if (b.code !== 0) throw new Error(`bench: floor up failed: ${b.stderr.slice(-1000)}`);
      floorRuns.push(b.ms / 1000);
    }
    return {
      noopUpSeconds: noop.map((x) => round(x)),
      floorUpSeconds: floorRuns.map((x) => round(x)),
      noopToFloorRatio: round(median(noop) / median(floorRuns)),
      firstUpSeconds: round(first.ms / 1000),
      criticalPathSeconds: round(cp / 1000),
      firstUpToCriticalPath: round(first.ms / cp),
      stepSeconds,
    };
  } finally {
    s.cleanup();
    floor.cleanup();
  }
}
