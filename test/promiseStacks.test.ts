/**
 * The program declares its resources without the SDK's per-promise stack traces
 * (components/promiseStacks.ts): none is formatted while a resource's output properties are set
 * up, the limit is restored whatever happens, and PULUMI_DEBUG_PROMISE_LEAKS keeps them.
 */
import { strict as assert } from "assert";
import { withoutPromiseStacks } from "../components/promiseStacks";
import { evaluate } from "./helpers/program";
import { homeOpsConfig } from "./helpers/stackConfigFixture";

describe("declaring resources without the SDK's per-promise stack traces", () => {
  it("the limit is 0 inside, and restored after a return and after a throw", () => {
    const before = Error.stackTraceLimit;
    assert.equal(
      withoutPromiseStacks(() => Error.stackTraceLimit),
      0,
    );
    assert.equal(Error.stackTraceLimit, before);
    assert.throws(() =>
      withoutPromiseStacks(() => {
        throw new Error("declared wrong");
      }),
    );
    assert.equal(Error.stackTraceLimit, before);
  });

  it("PULUMI_DEBUG_PROMISE_LEAKS keeps the stacks (the leak report shows them)", () => {
    const before = Error.stackTraceLimit;
    process.env.PULUMI_DEBUG_PROMISE_LEAKS = "true";
    try {
      assert.equal(
        withoutPromiseStacks(() => Error.stackTraceLimit),
        before,
      );
    } finally {
      delete process.env.PULUMI_DEBUG_PROMISE_LEAKS;
    }
  });

  it("the whole program formats no stack while setting up its resources' output properties", async () => {
    // Every stack V8 formats passes through Error.prepareStackTrace with its frames; count the
    // ones taken inside the SDK's transferProperties (runtime/rpc.js), then format as before.
    const original = Error.prepareStackTrace;
    let fromTransfer = 0;
    let total = 0;
    Error.prepareStackTrace = (err, sites) => {
      total++;
      if (sites.some((s) => s.getFunctionName() === "transferProperties")) fromTransfer++;
      return original ? original(err, sites) : `${String(err)}\n${sites.map((s) => `    at ${s}`).join("\n")}`;
    };
    let resources = 0;
    try {
      resources = (await evaluate(homeOpsConfig())).resources.length;
    } finally {
      Error.prepareStackTrace = original;
    }
    assert.ok(resources > 30, `the program declared ${resources} resources`);
    assert.ok(total > 0, "stacks are counted (the hook saw the program's)");
    assert.equal(fromTransfer, 0, `${fromTransfer} of ${total} stacks were formatted in transferProperties`);
  });
});
