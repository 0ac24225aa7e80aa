/**
 * The Node.js SDK's per-promise stack traces, cut.
 *
 * @pulumi/pulumi 3.248.0 passes each promise it makes for the program (the four of every output
 * property of each resource it registers, runtime/rpc.js transferProperties; each RPC's keep-alive,
 * runtime/settings.js rpcKeepAlive; each RPC's result) through runtime/debuggable.js
 * debuggablePromise, which reads `new Error().stack` at once. That stack is only ever shown in the
 * report of leaked promises with PULUMI_DEBUG_PROMISE_LEAKS set (debuggable.js leakedPromises).
 * With source maps on (source-map-support under `pulumi up`'s cmd/run, Node's own in the e2e tier)
 * every frame of each is mapped: a run of this stack formats thousands of them (1,616 while its
 * resources are declared alone, counted under mocks: test/promiseStacks.test.ts).
 *
 * So debuggablePromise runs with a stack trace limit of 0: its stack is the bare "Error" line. Only
 * that function is wrapped (every caller in the SDK calls it through the module's export), so an
 * error of the program or of the SDK keeps its frames, and the source position the SDK records for
 * each resource is kept too (resource.js Resource.callsites takes its own stack). With
 * PULUMI_DEBUG_PROMISE_LEAKS set nothing is cut.
 */

type DebuggablePromise = <T>(p: Promise<T>, ctx: unknown) => Promise<T>;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const debuggable = require("@pulumi/pulumi/runtime/debuggable") as { debuggablePromise: DebuggablePromise };

/** `original` taking its stack with a limit of 0, or `original` itself when leaks are debugged. */
export function withoutStack(original: DebuggablePromise, env: NodeJS.ProcessEnv): DebuggablePromise {
  if (env.PULUMI_DEBUG_PROMISE_LEAKS) return original;
  return function debuggablePromiseWithoutStack<T>(p: Promise<T>, ctx: unknown): Promise<T> {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return original(p, ctx);
    } finally {
      Error.stackTraceLimit = limit;
    }
  };
}

let cut = false;

/** Wraps the SDK's debuggablePromise (idempotent); before the program declares anything. */
export function cutPromiseStacks(env: NodeJS.ProcessEnv = process.env): void {
  if (cut) return;
  cut = true;
  debuggable.debuggablePromise = withoutStack(debuggable.debuggablePromise, env);
}
