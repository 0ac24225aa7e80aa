/**
 * Declaring a resource without the Node.js SDK's per-promise stack traces.
 *
 * @pulumi/pulumi 3.248.0 wraps each of the four promises of every output property of a resource
 * it registers (runtime/rpc.js transferProperties) in runtime/debuggable.js debuggablePromise,
 * which reads `new Error().stack` at once. Those stacks are only ever shown in a report of leaked
 * promises with PULUMI_DEBUG_PROMISE_LEAKS set. With source maps on (source-map-support under
 * `pulumi up`'s ts-node, Node's own in the e2e tier) every frame of each is mapped: declaring this
 * stack's resources formats about 1,600 of them (counted under mocks: test/promiseStacks.test.ts);
 * without them the e2e tier's no-op `up` took about 0.2 s less (medians of five runs, 2.09 s
 * against 1.89 s, 2026-12-07; README, Benchmark). The source position the SDK
 * records for each resource is kept: Resource.callsites (resource.js) raises
 * Error.stackTraceLimit to Infinity for its own capture and restores it.
 *
 * So the constructor call alone runs with a stack trace limit of 0; keep it to the `new`
 * expression (its arguments computed before), so an error of the program's own keeps its frames.
 */
export function withoutPromiseStacks<T>(declare: () => T): T {
  if (process.env.PULUMI_DEBUG_PROMISE_LEAKS) return declare();
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return declare();
  } finally {
    Error.stackTraceLimit = limit;
  }
}
