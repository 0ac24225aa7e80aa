/**
 * Mocha root hooks (required by test/setup.ts and by the e2e tier's .mocharc.json): the machine's
 * time scale (calibration.ts), measured before any test file loads so that files that build stack
 * configs when they load scale them with it, and mocha's own timeouts scaled by it.
 */
import * as fs from "fs";
import type { Context, Hook, Runnable, Suite, Test } from "mocha";
import { calibrate, current, describeCalibration, recheck } from "./calibration";

calibrate();

/**
 * Mocha's timeouts end stuck tests; they must not race a busy CPU: every test's and hook's
 * timeout (from .mocharc.json or the file's this.timeout) is multiplied by the time scale, and
 * again whenever the per-test check finds the machine slower than the scale already applied.
 */
const baseTimeout = new WeakMap<Runnable, number>();
let applied = 1;

/** The time scale mocha's timeouts carry now (the largest the run has met). */
export const appliedScale = (): number => applied;

function rootOf(r: Runnable): Suite {
  let s = r.parent!;
  while (s.parent) s = s.parent;
  return s;
}

function rescale(root: Suite, k: number): void {
  const visit = (s: Suite): void => {
    const internal = s as unknown as Record<"_beforeAll" | "_beforeEach" | "_afterEach" | "_afterAll", Hook[]>;
    const runnables: Runnable[] = [
      ...internal._beforeAll,
      ...internal._beforeEach,
      ...internal._afterEach,
      ...internal._afterAll,
      ...(s.tests as Test[]),
    ];
    for (const r of runnables) {
      if (!baseTimeout.has(r)) baseTimeout.set(r, r.timeout());
      const base = baseTimeout.get(r)!;
      // 0 = no timeout. Set the field, not timeout(): that would re-arm the timer of a runnable
      // that already ran (mocha's resetTimeout), which then fires after it passed.
      if (base > 0) (r as unknown as { _timeout: number })._timeout = Math.min(2 ** 31 - 2, Math.ceil(base * k));
    }
    s.suites.forEach(visit);
  };
  visit(root);
  applied = k;
}

/** `npm run test:loaded` runs the files in mocha workers (mocha --parallel): each is a process of its own. */
const worker = process.env.MOCHA_WORKER_ID;
const who = worker === undefined ? "" : ` (worker ${worker})`;
let announced = false;

function summary(): string {
  const h = current().history;
  return `calibration${who}: time scale ${Math.min(...h)}-${Math.max(...h)} over ${h.length} samples; now ${describeCalibration()}`;
}

if (worker !== undefined) {
  // In parallel mode the root hooks run once per file; a worker's summary is printed once, as it ends.
  process.once("exit", () => {
    if (announced) fs.writeSync(1, `\n  ${summary()}\n`);
  });
}

export const mochaHooks = {
  beforeAll(this: Context): void {
    if (!announced) console.log(`\n  calibration${who}: ${describeCalibration()}`);
    announced = true;
    rescale(rootOf(this.test!), current().scale);
  },
  async beforeEach(this: Context): Promise<void> {
    const k = await recheck();
    if (k > applied) rescale(rootOf(this.currentTest!), k);
  },
  /** A failure is printed when it happens (a loaded run is long; the reporter waits for the end). */
  afterEach(this: Context): void {
    const t = this.currentTest as (Test & { err?: Error }) | undefined;
    if (t?.state === "failed")
      console.log(`\n  FAILED (time scale ${current().scale}): ${t.fullTitle()}\n${String(t.err?.stack ?? t.err)}\n`);
  },
  afterAll(): void {
    if (worker === undefined) console.log(`\n  ${summary()}`);
  },
};
