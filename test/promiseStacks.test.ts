/**
 * The SDK's per-promise stack traces are cut (components/promiseStacks.ts): debuggablePromise
 * takes a bare stack and restores the limit, PULUMI_DEBUG_PROMISE_LEAKS keeps them, and a whole
 * evaluation of the program formats none inside debuggablePromise.
 */
import { strict as assert } from "assert";
import { cutPromiseStacks, withoutStack } from "../components/promiseStacks";
import { evaluate } from "./helpers/program";
import { homeOpsConfig } from "./helpers/stackConfigFixture";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const debuggable = require("@pulumi/pulumi/runtime/debuggable") as {
  debuggablePromise: <T>(p: Promise<T>, ctx: unknown) => Promise<T>;
};

describe("the SDK's per-promise stack traces are cut", () => {
  it("a whole evaluation of the program formats no stack inside debuggablePromise (deployStack cuts them)", async () => {
    // Every stack V8 formats passes through Error.prepareStackTrace with its frames; count those
    // taken inside the SDK's debuggablePromise (runtime/debuggable.js), then format as before.
    const original = Error.prepareStackTrace;
    let fromDebuggable = 0;
    let total = 0;
    Error.prepareStackTrace = (err, sites) => {
      total++;
      if (sites.some((s) => s.getFunctionName() === "debuggablePromise")) fromDebuggable++;
      return original ? original(err, sites) : `${String(err)}\n${sites.map((s) => `    at ${s}`).join("\n")}`;
    };
    let resources = 0;
    try {
      resources = (await evaluate(homeOpsConfig())).resources.length;
      // An error of the program's keeps its frames.
      assert.match(new Error("the program's").stack ?? "", /\n\s+at /);
    } finally {
      Error.prepareStackTrace = original;
    }
    assert.ok(resources > 30, `the program declared ${resources} resources`);
    assert.ok(total > 0, "stacks are counted (the hook saw the program's)");
    assert.equal(fromDebuggable, 0, `${fromDebuggable} of ${total} stacks were formatted in debuggablePromise`);
  });

  it("debuggablePromise takes the bare stack, and the limit is restored", async () => {
    cutPromiseStacks();
    const before = Error.stackTraceLimit;
    const p = Promise.resolve(1);
    assert.equal(await debuggable.debuggablePromise(p, "test"), 1);
    assert.equal((p as unknown as { _debugStackTrace: string })._debugStackTrace, "Error");
    assert.equal(Error.stackTraceLimit, before);
  });

  it("the limit is restored when the wrapped function throws", () => {
    const before = Error.stackTraceLimit;
    const wrapped = withoutStack(() => {
      throw new Error("inside");
    }, {});
    assert.throws(() => wrapped(Promise.resolve(), "x"), /inside/);
    assert.equal(Error.stackTraceLimit, before);
  });

  it("PULUMI_DEBUG_PROMISE_LEAKS keeps the stacks (the leak report shows them)", () => {
    const original = <T>(p: Promise<T>) => p;
    assert.equal(withoutStack(original, { PULUMI_DEBUG_PROMISE_LEAKS: "true" }), original);
    assert.notEqual(withoutStack(original, {}), original);
  });
});
