/**
 * The Node.js SDK's own debug lines. @pulumi/pulumi 3.248.0 sends the engine a debug line for
 * each step of each RPC it makes (runtime/resource.js, invoke.js: "Registering resource: ...",
 * "RegisterResource RPC prepared: ...", "RPC finished: ...; err: ..., resp: ..."), each its own
 * Log call to the engine (log/index.js, one at a time), whatever the engine shows: a no-op `up`
 * of this stack sends well over a hundred. The engine shows them with `--debug` and puts them in
 * every `--json` event stream; the "finished" lines carry the whole response, output values
 * included and secret ones in plain text (a Talos secrets bundle, a talosconfig, a kubeconfig),
 * and "Invoke RPC prepared" the invoke's serialized arguments.
 *
 * So the program drops those lines before they are sent: a no-op `up` of the e2e stack took
 * about 0.08 s less (README, Benchmark). HOMEOPS_SDK_DEBUG_LOG=1 keeps them for debugging the SDK,
 * with the response part of each "finished" line dropped. The program's own debug lines
 * (pulumi.log.debug) always pass. (The engine's own `-v=9` RPC tracing is beyond a program's
 * reach: never share such logs; see the README.)
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sdkLog = require("@pulumi/pulumi/log") as SdkLog;

interface SdkLog {
  debug: (msg: string, ...rest: unknown[]) => Promise<void>;
}

const RPC_RESPONSE = /^((?:\w+ )?(?:RPC|Invoke RPC|Call RPC) finished: [\s\S]*?, resp: )[\s\S]*$/;

/** The heads of the SDK runtime's own debug lines (@pulumi/pulumi 3.248.0 runtime/*.js). */
const SDK_LINE =
  /^(?:Registering resource: |Reading resource: |Getting resource: |Invoking function: |Calling function: |(?:RegisterResource|ReadResource|RegisterResourceOutputs|Invoke|Call|getResource Invoke) RPC (?:prepared|finished|failed)|Resource RPC serialization requested: |Serialize property \[|(?:skip re-registering already registered|registering) (?:package|module) )/;

/** A debug message with the RPC response it carries replaced by a marker. */
export function redactRpcResponse(message: string): string {
  return message.replace(RPC_RESPONSE, "$1<response not logged: it may hold secret outputs>");
}

/**
 * What of a debug message is sent: nothing for the SDK's own lines (unless HOMEOPS_SDK_DEBUG_LOG
 * is set, then without responses), any other message as it is.
 */
export function sdkDebugLine(message: string, env: NodeJS.ProcessEnv): string | undefined {
  if (!SDK_LINE.test(message)) return message;
  return env.HOMEOPS_SDK_DEBUG_LOG ? redactRpcResponse(message) : undefined;
}

const filtered = new WeakSet<SdkLog>();

/** Routes the SDK's debug log through `sdkDebugLine` (once per log module). */
export function filterSdkDebugLog(log: SdkLog = sdkLog, env: NodeJS.ProcessEnv = process.env): void {
  if (filtered.has(log)) return;
  filtered.add(log);
  const original = log.debug;
  log.debug = (msg: string, ...rest: unknown[]) => {
    const line = sdkDebugLine(String(msg), env);
    return line === undefined ? Promise.resolve() : original(line, ...rest);
  };
}
