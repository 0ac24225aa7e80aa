/** What the stack's last successful update declared and completed, read from its own outputs. */
import * as pulumi from "@pulumi/pulumi";

/** The phases an earlier update of this stack declared and completed (empty on a new stack). */
export interface PreviousPhases {
  readonly declared: string[];
  readonly completed: string[];
}

export interface PreviousDeployment extends PreviousPhases {
  /**
   * Setting → value at the hand-off to Flux: its `fluxHandOff` output, or, from an update made
   * before that output existed, the versions it exported (what it applied).
   */
  readonly fluxHandOff: Record<string, string>;
}

/** A list of strings from a stack output (anything else: none). */
export function phaseList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((p): p is string => typeof p === "string") : [];
}

/**
 * The outputs of this stack's last successful update, through a StackReference to the stack
 * itself (empty on a new stack). Read before any phase is declared, so `stopAfter` can never make
 * the program stop declaring what an earlier update built, the rolling gate knows whether the
 * cluster ran before (plan/settings.ts stackHistory), and the hand-off to Flux is known.
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
  return { declared: phaseList(declared), completed: phaseList(completed), fluxHandOff };
}

/** The `phasesDeclared` and `phasesCompleted` outputs of this stack's last successful update. */
export async function previousPhases(): Promise<PreviousPhases> {
  const { declared, completed } = await previousDeployment();
  return { declared, completed };
}
