// Composition root: load and validate the stack config, build the phases in order, export outputs.
import { redactSdkDebugLog } from "./components/debugLogRedaction";
import { loadStackConfig, loadStackSecrets } from "./config/pulumi";
import { deployStack } from "./components/stack";
import { readPreviousDeployment } from "./components/previousDeployment";

export = async (): Promise<Record<string, unknown>> => {
  redactSdkDebugLog();
  // What the last successful update left (its outputs) first: validation refuses a target no
  // upgrade path reaches from what the nodes run.
  const previous = await readPreviousDeployment();
  const config = loadStackConfig(previous);
  const { outputs } = deployStack(config, loadStackSecrets(), {
    projectDir: process.cwd(),
    declaredBefore: previous.phasesDeclared,
    completedBefore: previous.phasesCompleted,
    previous,
  });
  return outputs;
};
