// Composition root: load and validate the stack config, build the phases in order, export outputs.
import { redactSdkDebugLog } from "./components/debugLogRedaction";
import { loadStackConfig, loadStackSecrets } from "./config/pulumi";
import { deployStack } from "./components/stack";
import { previousPhases } from "./components/previousDeployment";

export = async (): Promise<Record<string, unknown>> => {
  redactSdkDebugLog();
  const config = loadStackConfig();
  const before = await previousPhases();
  const { outputs } = deployStack(config, loadStackSecrets(), {
    projectDir: process.cwd(),
    declaredBefore: before.declared,
    completedBefore: before.completed,
  });
  return outputs;
};
