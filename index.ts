// Composition root: load and validate the stack config, build the phases in order, export outputs.
import { redactSdkDebugLog } from "./components/debugLogRedaction";
import { loadStackConfig, loadStackSecrets } from "./config/pulumi";
import { deployStack } from "./components/stack";
import { previousDeployment } from "./components/previousDeployment";

export = async (): Promise<Record<string, unknown>> => {
  redactSdkDebugLog();
  // What the last successful update left (its outputs) first: validation judges nodes leaving the
  // stack and refuses a target no upgrade path reaches from what the nodes run.
  const previous = await previousDeployment();
  const config = loadStackConfig({ deployed: previous.nodes, previous: previous.outputs });
  const { outputs } = deployStack(config, loadStackSecrets(), {
    projectDir: process.cwd(),
    declaredBefore: previous.declared,
    completedBefore: previous.completed,
    fluxHandOffBefore: previous.fluxHandOff,
    nodesBefore: previous.nodes,
    credentialsBefore: previous.credentials,
    previous: previous.outputs,
  });
  return outputs;
};
