/**
 * The language host of the end-to-end tier: serves the program (the repository's program.js, the
 * package's "main", which `pulumi up`'s cmd/run requires: it loads index.ts as one bundle) to the
 * real Pulumi CLI, which connects with `--client 127.0.0.1:<port>`.
 *
 * The Node.js language host binary cannot be built here (the Go module proxy refuses
 * github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 at every version), so this
 * uses the Node SDK's own language server, the one the Automation API serves inline programs with
 * (@pulumi/pulumi automation/server.js LanguageServer, same version as the program's SDK). The
 * engine, the providers, the state and every step run for real; only how the program's
 * JavaScript is started differs from `pulumi up` with the Go host. Usage: host.ts <program.js>;
 * prints the port, then serves until killed.
 */
import * as grpc from "@grpc/grpc-js";
import * as path from "path";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { LanguageServer } = require("@pulumi/pulumi/automation/server");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const languageRpc = require("@pulumi/pulumi/proto/language_grpc_pb");

const entry = path.resolve(process.argv[2] ?? "program.js");
// The entry exports the program as a function (index.ts's `export =`), as `pulumi up` would call it.
const program = async () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const main = require(entry) as () => Promise<Record<string, unknown>>;
  return main();
};

const server = new grpc.Server({ "grpc.max_receive_message_length": 1 << 30 });
server.addService(languageRpc.LanguageRuntimeService, new LanguageServer(program));
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    process.stderr.write(`host: ${err.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`${port}\n`);
});
