/**
 * The Node.js SDK sends a debug line for every finished resource, read, invoke and call RPC with
 * the whole response, output values included and secret ones in plain text (@pulumi/pulumi 3.248.0
 * runtime/resource.js and invoke.js: `RPC finished: ...; err: ..., resp: ${innerResponse}`). The
 * engine shows those lines with `--debug` and in every `--json` event stream. This stack's outputs
 * are a Talos secrets bundle, a talosconfig and a kubeconfig, so the response part of those lines is
 * dropped before it leaves the program. (The engine's own `-v=9` RPC tracing is beyond a program's
 * reach: never share such logs; see the README.)
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sdkLog = require("@pulumi/pulumi/log") as { debug: (msg: string, ...rest: unknown[]) => Promise<void> };

const RPC_RESPONSE = /^((?:\w+ )?(?:RPC|Invoke RPC|Call RPC) finished: [\s\S]*?, resp: )[\s\S]*$/;

/** A debug message with the RPC response it carries replaced by a marker. */
export function redactRpcResponse(message: string): string {
  return message.replace(RPC_RESPONSE, "$1<response not logged: it may hold secret outputs>");
}

let installed = false;

/** Routes the SDK's debug log through `redactRpcResponse` (idempotent). */
export function redactSdkDebugLog(): void {
  if (installed) return;
  installed = true;
  const original = sdkLog.debug;
  sdkLog.debug = (msg: string, ...rest: unknown[]) => original(redactRpcResponse(String(msg)), ...rest);
}
