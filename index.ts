// Composition root: load and validate the stack config, build the phases in order, export outputs.
import { redactSdkDebugLog } from "./components/debugLogRedaction";
import { loadStackConfig, loadStackSecrets } from "./config/pulumi";
import { deployStack } from "./components/stack";
import { previousDeployment } from "./components/previousDeployment";

export = async (): Promise<Record<string, unknown>> => {
  redactSdkDebugLog();
  const config = loadStackConfig();
  const previous = await previousDeployment();
  const { outputs } = deployStack(config, loadStackSecrets(), {
    projectDir: process.cwd(),
    declaredBefore: previous.declared,
    completedBefore: previous.completed,
    fluxHandOffBefore: previous.fluxHandOff,
  });
  return outputs;
};
