/**
 * Child process of bench/run.ts: times `evaluate(cfg)` (the whole Pulumi program under runtime
 * mocks, test/helpers/program.ts) for one stack size. One process per size, so that no module
 * state, JIT profile or heap of one size colours another.
 *
 * argv: <nodes> <warmups> <reps>. Prints one JSON line (EvalSample) on stdout.
 */
process.env.PULUMI_TEST_MODE = "true";

import { scaledConfig, validateScaled } from "./configs";
import { evaluate } from "../test/helpers/program";
import { median } from "./stats";

export interface EvalSample {
  nodes: number;
  resources: number;
  warmups: number;
  /** Every timed repetition, in ms, in run order. */
  samplesMs: number[];
  medianMs: number;
  /** CPU time (user + system) of this process per evaluation, ms: less sensitive to other load. */
  cpuSamplesMs: number[];
  cpuMedianMs: number;
  minMs: number;
  /** Leak check: heap after a forced GC, before the first and after the last evaluation. */
  heapMB: { before: number; after: number };
  /** Leak check: resource count identical in every repetition. */
  resourcesConstant: boolean;
  /** Leak check: median of the second half of the samples / median of the first half. */
  drift: number;
}

const gc = (globalThis as { gc?: () => void }).gc;

function heapMB(): number {
  gc?.();
  return Math.round((process.memoryUsage().heapUsed / 1e6) * 10) / 10;
}

async function main(): Promise<void> {
  const [n, warmups, reps] = process.argv.slice(2).map(Number);
  validateScaled(n);
  const cfg = scaledConfig(n);
  const counts = new Set<number>();
  for (let i = 0; i < warmups; i++) counts.add((await evaluate(cfg)).resources.length);
  const before = heapMB();
  const samplesMs: number[] = [];
  const cpuSamplesMs: number[] = [];
  for (let i = 0; i < reps; i++) {
    gc?.(); // GC of the previous evaluation's garbage is not charged to this one
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const e = await evaluate(cfg);
    samplesMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const c = process.cpuUsage(c0);
    cpuSamplesMs.push((c.user + c.system) / 1000);
    counts.add(e.resources.length);
  }
  const after = heapMB();
  const half = Math.floor(reps / 2);
  const sample: EvalSample = {
    nodes: n,
    resources: [...counts][0],
    warmups,
    samplesMs: samplesMs.map((x) => Math.round(x * 10) / 10),
    medianMs: median(samplesMs),
    cpuSamplesMs: cpuSamplesMs.map((x) => Math.round(x * 10) / 10),
    cpuMedianMs: median(cpuSamplesMs),
    minMs: Math.min(...samplesMs),
    heapMB: { before, after },
    resourcesConstant: counts.size === 1,
    drift: half > 0 ? median(samplesMs.slice(reps - half)) / median(samplesMs.slice(0, half)) : 1,
  };
  process.stdout.write(JSON.stringify(sample) + "\n");
}

main().catch((e: unknown) => {
  process.stderr.write(`bench evalWorker: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
