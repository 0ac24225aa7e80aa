/** What the stack's last successful update left behind, read from its own outputs. */
import * as pulumi from "@pulumi/pulumi";
import { OUTPUTS, parsePreviousDeployment, PreviousDeployment } from "../config/previousDeployment";

/** The phases an earlier update of this stack declared and completed (empty on a new stack). */
export interface PreviousPhases {
  readonly declared: string[];
  readonly completed: string[];
}

/** A list of strings from a stack output (anything else: none). */
export function phaseList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((p): p is string => typeof p === "string") : [];
}

/** The outputs the program reads back (config/previousDeployment.ts parses them). */
export const PREVIOUS_OUTPUTS = [
  "phasesDeclared",
  "phasesCompleted",
  OUTPUTS.running,
  OUTPUTS.upgradePath,
  // From a program that wrote no `running` yet, and the versions later phases deployed.
  "talosVersion",
  "schematicId",
  "kubernetesVersion",
  "nodes",
  "ciliumVersion",
  "externalSecretsVersion",
  "connectVersion",
  "fluxVersion",
  "fluxOperatorVersion",
] as const;

/**
 * This stack's last successful update, through a StackReference to the stack itself, read before
 * anything is declared: `stopAfter` never makes the program stop declaring what an earlier update
 * built, the rolling gate knows whether the cluster ran before (plan/settings.ts stackHistory), and
 * the upgrade path starts from what the nodes run. A new stack has no outputs: nothing runs.
 */
export async function readPreviousDeployment(): Promise<PreviousDeployment> {
  const self = new pulumi.StackReference("previous-deployment", {
    name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`,
  });
  const values = await Promise.all(PREVIOUS_OUTPUTS.map((name) => self.getOutputValue(name)));
  const outputs = Object.fromEntries(
    PREVIOUS_OUTPUTS.flatMap((name, i) => (values[i] === undefined ? [] : [[name, values[i] as unknown]])),
  );
  return parsePreviousDeployment(Object.keys(outputs).length === 0 ? undefined : outputs);
}

/** The phases an earlier update declared and completed (the part of the previous deployment h8's gate reads). */
export async function previousPhases(): Promise<PreviousPhases> {
  const previous = await readPreviousDeployment();
  return { declared: [...previous.phasesDeclared], completed: [...previous.phasesCompleted] };
}
