/** What the stack's last successful update declared, read from its own outputs. */
import * as pulumi from "@pulumi/pulumi";

export interface PreviousDeployment {
  /** Its `phasesDeclared` output (empty on a new stack). */
  readonly phasesDeclared: string[];
  /** Its `phasesCompleted` output: `gitops` there means Flux owns what it takes over. */
  readonly phasesCompleted: string[];
  /**
   * Setting → value at the hand-off to Flux: its `fluxHandOff` output, or, from an update made
   * before that output existed, the versions it exported (what it applied).
   */
  readonly fluxHandOff: Record<string, string>;
}

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((p): p is string => typeof p === "string") : [];

/**
 * The outputs of this stack's last successful update, through a StackReference to the stack
 * itself (empty on a new stack). Read before any phase is declared, so `stopAfter` can never make
 * the program stop declaring what an earlier update built.
 */
export async function previousDeployment(): Promise<PreviousDeployment> {
  const self = new pulumi.StackReference("previous-deployment", {
    name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`,
  });
  const [declared, completed, handOff, esoVersion, connectVersion] = await Promise.all(
    ["phasesDeclared", "phasesCompleted", "fluxHandOff", "externalSecretsVersion", "connectVersion"].map((k) =>
      self.getOutputValue(k),
    ),
  );
  const fluxHandOff: Record<string, string> = {};
  if (handOff && typeof handOff === "object" && !Array.isArray(handOff)) {
    for (const [k, v] of Object.entries(handOff)) if (typeof v === "string") fluxHandOff[k] = v;
  } else {
    if (typeof esoVersion === "string") fluxHandOff["homeops:externalSecrets.version"] = esoVersion;
    if (typeof connectVersion === "string") fluxHandOff["homeops:connect.version"] = connectVersion;
  }
  return { phasesDeclared: strings(declared), phasesCompleted: strings(completed), fluxHandOff };
}

/** The `phasesDeclared` output of this stack's last successful update. */
export async function phasesDeclaredBefore(): Promise<string[]> {
  return (await previousDeployment()).phasesDeclared;
}
