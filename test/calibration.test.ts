/**
 * The machine's time scale (helpers/calibration.ts) and what follows from it: the scale of a set
 * of probe samples, mocha's scaled timeouts, the scaled stack timeouts and delays, and the fault
 * matrix's concurrency.
 */
import { strict as assert } from "assert";
import {
  MAX_SCALE,
  quantile,
  REFERENCE_CALL_MS,
  scaledDelays,
  scaledMs,
  scaledTimeouts,
  scaleOf,
  timeScale,
} from "./helpers/calibration";
import { appliedScale } from "./helpers/rootHooks";
import { limited, matrixConcurrency } from "./helpers/faultMatrix";

describe("calibration: the machine's time scale", () => {
  it("quantile: nearest rank", () => {
    assert.equal(quantile([5, 1, 4, 2, 3], 0.8), 4);
    assert.equal(quantile([5, 1, 4, 2, 3], 1), 5);
    assert.equal(quantile([7], 0.8), 7);
    assert.ok(Number.isNaN(quantile([], 0.8)));
  });

  it("scaleOf: the slowest probe over the idle reference, at least 1, at most MAX_SCALE", () => {
    const r = REFERENCE_CALL_MS;
    assert.equal(scaleOf([r, r, r, r, r]), 1);
    assert.equal(scaleOf([r / 2, r / 2]), 1, "never below 1");
    // A burst counts: the slowest recent call is what a bound must survive.
    assert.equal(scaleOf([r, 2 * r, 3 * r, 4 * r, 7 * r]), 7);
    assert.equal(scaleOf([5 * r, 5 * r, 5 * r, 5 * r, 5 * r]), 5);
    assert.equal(scaleOf([1000 * r]), MAX_SCALE);
    assert.equal(scaleOf([]), 1);
  });

  it("scaled bounds: never below the idle figure; timeouts whole seconds, the poll to 0.01 s", () => {
    const k = timeScale();
    assert.ok(k >= 1);
    assert.equal(scaledMs(1000), Math.ceil(1000 * k));
    const t = scaledTimeouts({ nodeReady: 20, apiReady: 3, poll: 0.05 });
    assert.deepEqual(t, {
      nodeReady: Math.ceil(20 * k),
      apiReady: Math.ceil(3 * k),
      poll: Math.round(0.05 * k * 100) / 100,
    });
    assert.ok(Number.isInteger(t.nodeReady) && t.nodeReady >= 20 && t.poll >= 0.05);
    assert.deepEqual(scaledDelays({ install: 300 }), { install: Math.ceil(300 * k) });
  });

  it("mocha's timeout of a test is its configured one times the scale", function () {
    // .mocharc.json: 60000 ms; rootHooks.ts multiplies it before the test starts.
    assert.equal(this.timeout(), Math.ceil(60000 * appliedScale()));
    assert.ok(appliedScale() >= 1);
  });

  it("the fault matrix's concurrency: two cells per core idle, one per core busy, at least one", () => {
    assert.equal(matrixConcurrency(2, 1), 4);
    assert.equal(matrixConcurrency(2, 1.5), 3);
    assert.equal(matrixConcurrency(2, 2), 2);
    assert.equal(matrixConcurrency(2, 12), 2);
    assert.equal(matrixConcurrency(1, 8), 1);
    assert.equal(matrixConcurrency(8, 1), 16);
  });

  it("limited: at most the cap in flight, the cap read again as each ends; results in order", async () => {
    let cap = 3;
    let active = 0;
    const peaks: number[] = [];
    const thunks = Array.from({ length: 8 }, (_, i) => async () => {
      active++;
      peaks.push(active);
      await new Promise((r) => setTimeout(r, 5));
      active--;
      if (i === 2) cap = 1;
      return i;
    });
    const results = await Promise.all(limited(thunks, () => cap));
    assert.deepEqual(results, [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.equal(Math.max(...peaks.slice(0, 3)), 3, "three at first");
    assert.ok(
      peaks.slice(5).every((p) => p === 1),
      `one at a time after the cap fell: ${peaks.join(",")}`,
    );
  });
});
