// Composition root: load and validate the stack config, build the phases in order, export outputs.
import { filterSdkDebugLog } from "./components/debugLogRedaction";
import { cutPromiseStacks } from "./components/promiseStacks";
import { previousDeployment } from "./components/previousDeployment";
import type * as ConfigModule from "./config/pulumi";
import type * as HeadStartModule from "./components/headStart";
import type * as StackModule from "./components/stack";

export = async (): Promise<Record<string, unknown>> => {
  // The SDK's own debug lines and per-promise stack traces cost every run and serve only debugging
  // the SDK (components/debugLogRedaction.ts, components/promiseStacks.ts): cut before anything is declared.
  filterSdkDebugLog();
  cutPromiseStacks();
  // What the last successful update left (its outputs) first: validation judges nodes leaving the
  // stack and refuses a target no upgrade path reaches from what the nodes run. The read is sent
  // (a turn of the event loop), and the engine answers it while the rest of the program loads.
  const reading = previousDeployment();
  reading.catch(() => undefined); // its error is thrown where it is awaited, below
  await new Promise<void>((resolve) => setImmediate(resolve));
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded after the read is sent
  const { loadStackConfig, loadStackSecrets } = require("./config/pulumi") as typeof ConfigModule;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- as above
  const { engineHeadStart } = require("./components/headStart") as typeof HeadStartModule;
  const previous = await reading;
  const config = loadStackConfig({ deployed: previous.nodes, previous: previous.outputs });
  const secrets = loadStackSecrets();
  const options = {
    projectDir: process.cwd(),
    declaredBefore: previous.declared,
    completedBefore: previous.completed,
    fluxHandOffBefore: previous.fluxHandOff,
    nodesBefore: previous.nodes,
    credentialsBefore: previous.credentials,
    previous: previous.outputs,
  };
  // The talosctl preflight, then the 1Password provider, each followed by a turn of the event loop:
  // the SDK sends them, and the engine starts their plugins while the phases (the Kubernetes SDK
  // among them) load and the plan is built (components/headStart.ts engineHeadStart).
  const head = await engineHeadStart(config, secrets, options);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded after the head start is sent
  const { deployStack } = require("./components/stack") as typeof StackModule;
  const { outputs } = deployStack(config, secrets, options, head);
  return outputs;
};
