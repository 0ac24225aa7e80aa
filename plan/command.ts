/** How a command step is declared: its script, its configuration env and its display argv. */
import { StackConfig } from "../config/types";
import { ScriptName } from "../talos/scripts";
import { Arg, displayArgv } from "../talos/shell";
import { settingsPath } from "./settings";
import { CommandStep } from "./types";

export interface CommandStepSpec extends Omit<
  CommandStep,
  "kind" | "env" | "argv" | "secretStdout" | "onePasswordAuth" | "script"
> {
  readonly script: ScriptName;
  readonly env: Record<string, string>;
  readonly argv?: Arg[];
  readonly secretStdout?: boolean;
  readonly onePasswordAuth?: boolean;
}

/** A command step; every step's env names its id and the stack's settings file. */
export function commandStep(cfg: StackConfig, s: CommandStepSpec): CommandStep {
  const env = { STEP_ID: s.id, HOMEOPS_SETTINGS: settingsPath(cfg.stack), ...s.env };
  return {
    ...s,
    kind: "command",
    env,
    argv: s.argv ? ["talosctl", ...displayArgv(s.argv, env)] : undefined,
    secretStdout: s.secretStdout ?? false,
    onePasswordAuth: s.onePasswordAuth ?? false,
  };
}

/** A gate on Kubernetes conditions (see the kube-wait script); `timeout` names its setting. */
export function kubeGate(
  cfg: StackConfig,
  spec: {
    id: string;
    phase: CommandStep["phase"];
    description: string;
    dependsOn: string[];
    waitFor: string[];
    timeout: "TIMEOUT_HEALTH" | "TIMEOUT_STORE_READY" | "TIMEOUT_FLUX_READY";
  },
): CommandStep {
  return commandStep(cfg, {
    id: spec.id,
    phase: spec.phase,
    description: spec.description,
    dependsOn: spec.dependsOn,
    script: "kube-wait",
    env: { GATE_NAME: spec.id, WAIT_FOR: spec.waitFor.join(" "), WAIT_TIMEOUT_NAME: spec.timeout },
    stdinFrom: "kubeconfig",
  });
}
