/** What the stack's last successful update declared and completed, read from its own outputs. */
import * as pulumi from "@pulumi/pulumi";

/** The phases an earlier update of this stack declared and completed (empty on a new stack). */
export interface PreviousPhases {
  readonly declared: string[];
  readonly completed: string[];
}

/** A list of strings from a stack output (anything else: none). */
export function phaseList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((p): p is string => typeof p === "string") : [];
}

/**
 * The `phasesDeclared` and `phasesCompleted` outputs of this stack's last successful update,
 * through a StackReference to the stack itself. Read before any phase is declared, so `stopAfter`
 * can never make the program stop declaring what an earlier update built, and the rolling gate
 * knows whether the cluster ran before (plan/settings.ts stackHistory).
 */
export async function previousPhases(): Promise<PreviousPhases> {
  const self = new pulumi.StackReference("previous-deployment", {
    name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`,
  });
  const [declared, completed] = await Promise.all([
    self.getOutputValue("phasesDeclared"),
    self.getOutputValue("phasesCompleted"),
  ]);
  return { declared: phaseList(declared), completed: phaseList(completed) };
}
