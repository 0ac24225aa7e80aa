/**
 * The real engine's figures (issue: real Pulumi engine in the tests), inside the e2e tier's
 * loopback-only namespace, on the e2e stack (home-ops in shape, talos → cluster, fake nodes):
 * - a no-op `pulumi up` of the stack against a no-op `up` of a program with no resources but the
 *   same plugins (the floor: test/e2e/fixtures/floor.ts): the ratio is what the program and its
 *   twelve resources cost the engine beyond its own fixed cost;
 * - a first `up` with the fakes' delays against its critical path (test/e2e/criticalPath.ts, as
 *   the five-phase e2e test measures it): the longest chain of the state's dependencies, providers
 *   and components' children, each resource lasting what its step lasted in that same run (from
 *   the engine's events, timed as they arrive), so the ratio is what the engine's scheduling and
 *   start-up add.
 */
import * as path from "path";
import { E2E_DELAYS, E2EStack, REPO, RunResult } from "../test/e2e/harness";
import { criticalPath, stepWindows } from "../test/e2e/criticalPath";
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

/** Each Command's own step, name → [start, end] in ms from the run's start (criticalPath.ts stepWindows). */
function commandWindows(r: RunResult): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = {};
  for (const [urn, w] of stepWindows(r.events, r.arrivals)) {
    if (urn.split("::")[2]?.endsWith("command:local:Command")) out[urn.split("::").pop()!] = w;
  }
  return out;
}

export async function engineFigures(reps = 5): Promise<EngineFigures> {
  const s = new E2EStack({ world: { delaysMs: E2E_DELAYS } });
  const floor = new E2EStack({});
  try {
    const first = await s.up();
    if (first.code !== 0) throw new Error(`bench: first up failed: ${first.stderr.slice(-1000)}`);
    const stepSeconds = Object.fromEntries(
      Object.entries(commandWindows(first)).map(([n, [a, b]]) => [n, round((b - a) / 1000)]),
    );
    const cp = criticalPath(first.events, first.arrivals, s.state()).ms;
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
