/**
 * How slow this machine is right now, and the time scale every test bound is multiplied by.
 *
 * A bound in a test exists either to end a stuck test (mocha's timeout, a script's deadline in a
 * simulation, an engine kill) or to model a real behaviour (a node's etcd that never answers).
 * The second kind is modelled explicitly (the fake blocks until its caller ends it: see
 * test/fakes/lib/runtime.js, `hanging/`); the first kind must never race a busy CPU. So every
 * bound of the first kind, and every fake delay it is weighed against, is multiplied by one time
 * scale k: how many times slower than on an idle machine a representative fake call runs now.
 * Scaling a deadline together with the delays it is compared to keeps every relation a test
 * asserts ("the gate's 2 s deadline expires before Cilium's 3 s rollout") and stretches the margin
 * for process start-up and scheduling with the load.
 *
 * The probe: the fake `talosctl version --client` (a fresh node process that loads the fakes'
 * bundle and parses the CLI reference of its minor: what every fake call pays before doing
 * anything), REFERENCE_CALL_MS on an idle machine. Measured 2026-12-07 on this 2-core machine, idle
 * (load 0.8), 40 probes at a time as spawned here: p50 130-135 ms, max 142-156 ms; CPU time 0.10 s
 * (perf stat). The probe as it was before the bundle and without NODE_EXTRA_CA_CERTS removed
 * (test/helpers/processEnv.ts) took p50 232 ms, max 287 ms at the same moment, when its reference
 * was 200 ms: the reference keeps that proportion, so k stands for the same slowdown as before.
 * k = max(1, the slowest of the last WINDOW samples / REFERENCE_CALL_MS), capped at MAX_SCALE (the
 * load on a shared machine comes in bursts: the slowest recent call, not a typical one, is what a
 * bound must survive). Five samples at the start of the run (synchronous, so test files that build configs when they load see it),
 * then one more before a test when the last is older than RECHECK_MS (root hook in
 * test/setup.ts): a run that meets a Go build half-way scales from then on.
 *
 * HOMEOPS_TEST_TIME_SCALE=<k> fixes k (no probing): e.g. 1 shows what the unscaled bounds do.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const fakeWorld = require("../fakes/lib/state.js");

/** The probe's wall time on an idle machine (its CPU time, see above). */
export const REFERENCE_CALL_MS = 115;
export const MAX_SCALE = 100;
const INITIAL_SAMPLES = 5;
const WINDOW = 8;
export const RECHECK_MS = 10000;

export interface Calibration {
  /** The current time scale (≥ 1). */
  readonly scale: number;
  /** The samples k is taken from (ms, newest last). */
  readonly samples: readonly number[];
  /** Wall time of `/bin/sh -c :` at the start (ms, p80 of 5): a script's own start-up. */
  readonly shellStartMs: number;
  /** Every k the run used, and the load averages at the start. */
  readonly history: readonly number[];
  readonly loadAtStart: readonly number[];
  readonly fixed: boolean;
}

let dir: string | undefined;
let samples: number[] = [];
const history: number[] = [];
let scale = 1;
let lastSampleAt = 0;
let shellStartMs = 0;
let loadAtStart: number[] = [];
let fixed: number | undefined;
let started = false;

function probeDir(): string {
  if (!dir) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "homeops-calibration-"));
    fakeWorld.initFakeWorld(dir, {});
    const d = dir;
    process.once("exit", () => fs.rmSync(d, { recursive: true, force: true }));
  }
  return dir;
}

const PROBE_ARGS = ["version", "--client"];
const probeBin = (): string => path.join(fakeWorld.BIN_DIR, "talosctl");

/** The p-quantile (nearest rank) of values. */
export function quantile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/** k from probe samples (pure): the slowest over the reference, at least 1, at most MAX_SCALE. */
export function scaleOf(probeMs: readonly number[]): number {
  const k = quantile(probeMs, 1) / REFERENCE_CALL_MS;
  if (!Number.isFinite(k)) return 1;
  return Math.min(MAX_SCALE, Math.max(1, Math.round(k * 10) / 10));
}

function record(ms: number): void {
  samples = [...samples, ms].slice(-WINDOW);
  lastSampleAt = Date.now();
  scale = scaleOf(samples);
  history.push(scale);
}

function timeSync(cmd: string, args: string[], env: NodeJS.ProcessEnv): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, stdio: "ignore" });
  if (r.status !== 0) throw new Error(`calibration: ${cmd} ${args.join(" ")} exited ${r.status ?? r.signal}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/** The initial calibration (idempotent): five probes and five shell starts, synchronously. */
export function calibrate(): Calibration {
  if (!started) {
    started = true;
    loadAtStart = os.loadavg().map((x) => Math.round(x * 100) / 100);
    const env = process.env.HOMEOPS_TEST_TIME_SCALE;
    if (env !== undefined && env !== "") {
      const k = Number(env);
      if (!Number.isFinite(k) || k < 1) throw new Error(`HOMEOPS_TEST_TIME_SCALE=${env}: a number ≥ 1`);
      fixed = scale = k;
      history.push(k);
    } else {
      const penv = { ...process.env, FAKE_STATE_DIR: probeDir() };
      const shell: number[] = [];
      for (let i = 0; i < INITIAL_SAMPLES; i++) {
        record(timeSync(probeBin(), PROBE_ARGS, penv));
        shell.push(timeSync("/bin/sh", ["-c", ":"], process.env));
      }
      shellStartMs = Math.round(quantile(shell, 0.8) * 10) / 10;
    }
  }
  return current();
}

export function current(): Calibration {
  return {
    scale,
    samples: samples.map(Math.round),
    shellStartMs,
    history: [...history],
    loadAtStart,
    fixed: fixed !== undefined,
  };
}

/** The current time scale k. */
export function timeScale(): number {
  calibrate();
  return scale;
}

/** A test bound of `ms` on an idle machine, scaled to now (whole ms, never less than `ms`). */
export function scaledMs(ms: number): number {
  return Math.ceil(ms * timeScale());
}

/** Whole seconds, scaled (stack timeouts are integers). */
export function scaledSeconds(s: number): number {
  return Math.ceil(s * timeScale());
}

function probeAsync(): Promise<number> {
  const t = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(probeBin(), PROBE_ARGS, {
      env: { ...process.env, FAKE_STATE_DIR: probeDir() },
      stdio: "ignore",
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0
        ? resolve(Number(process.hrtime.bigint() - t) / 1e6)
        : reject(new Error(`calibration: probe exited ${code}`)),
    );
  });
}

/** One more sample if the last is older than RECHECK_MS (the per-test check). */
export async function recheck(): Promise<number> {
  calibrate();
  if (fixed === undefined && Date.now() - lastSampleAt >= RECHECK_MS) record(await probeAsync());
  return scale;
}

/** One line for the run's log. */
export function describeCalibration(c: Calibration = current()): string {
  if (c.fixed) return `time scale ${c.scale} (fixed by HOMEOPS_TEST_TIME_SCALE)`;
  return (
    `time scale ${c.scale}: fake talosctl call at most ${quantile(c.samples, 1)} ms of [${c.samples.join(", ")}] ` +
    `(idle ${REFERENCE_CALL_MS} ms), sh start p80 ${c.shellStartMs} ms, ` +
    `load ${c.loadAtStart.join(" ")} on ${os.cpus().length} cores`
  );
}

/**
 * Stack timeouts given in seconds for an idle machine (`homeops:timeouts`), scaled: whole seconds
 * as the schema wants, the poll interval to 0.01 s.
 */
export function scaledTimeouts<T extends Partial<Record<string, number>>>(timeouts: T): T {
  const k = timeScale();
  return Object.fromEntries(
    Object.entries(timeouts).map(([key, v]) => [
      key,
      key === "poll" ? Math.round((v as number) * k * 100) / 100 : Math.ceil((v as number) * k),
    ]),
  ) as T;
}

/** The fakes' delays (ms on an idle machine), scaled. */
export function scaledDelays<T extends Partial<Record<string, number>>>(delaysMs: T): T {
  return Object.fromEntries(Object.entries(delaysMs).map(([k, v]) => [k, scaledMs(v as number)])) as T;
}
