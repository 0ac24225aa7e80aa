/** What the stack's last successful update left behind, read from its own outputs. */
import * as pulumi from "@pulumi/pulumi";
import { OUTPUTS, parsePreviousDeployment, PreviousDeployment as PreviousOutputs } from "../config/previousDeployment";
import { deployedNodesFromOutputs, DeployedNodes } from "../config/removal";
import { issuedCredentials, IssuedCredentials } from "../plan/renewal";

/** The phases an earlier update of this stack declared and completed (empty on a new stack). */
export interface PreviousPhases {
  readonly declared: string[];
  readonly completed: string[];
  /** The nodes it configured and those earlier updates removed (config/removal.ts judges removals). */
  readonly nodes: DeployedNodes;
  /** The client certificates it minted: expiries and renewal counts (plan/renewal.ts). */
  readonly credentials: IssuedCredentials;
}

export interface PreviousDeployment extends PreviousPhases {
  /**
   * Setting → value at the hand-off to Flux: its `fluxHandOff` output, or, from an update made
   * before that output existed, the versions it exported (what it applied).
   */
  readonly fluxHandOff: Record<string, string>;
  /**
   * What the nodes run and the last upgrade path (config/previousDeployment.ts), from which the
   * upgrade path is planned. A new stack has no outputs: nothing runs.
   */
  readonly outputs: PreviousOutputs;
}

/** A list of strings from a stack output (anything else: none). */
export function phaseList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((p): p is string => typeof p === "string") : [];
}

/** The outputs the program reads back. */
export const PREVIOUS_OUTPUTS = [
  "phasesDeclared",
  "phasesCompleted",
  "fluxHandOff",
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
  // The nodes earlier updates removed (config/removal.ts) and the credentials they minted
  // (plan/renewal.ts).
  "removedNodes",
  "talosconfigExpiry",
  "kubeconfigExpiry",
  "credentialRenewals",
] as const;

/**
 * The outputs of this stack's last successful update, through one StackReference to the stack
 * itself (empty on a new stack). Read before anything is declared, so `stopAfter` can never make
 * the program stop declaring what an earlier update built, the rolling gate knows whether the
 * cluster ran before (plan/settings.ts stackHistory), the hand-off to Flux is known, and the
 * upgrade path starts from what the nodes run (validation judges it against these outputs).
 */
export async function previousDeployment(): Promise<PreviousDeployment> {
  const self = new pulumi.StackReference("previous-deployment", {
    name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`,
  });
  const values = await Promise.all(PREVIOUS_OUTPUTS.map((name) => self.getOutputValue(name)));
  const read = Object.fromEntries(
    PREVIOUS_OUTPUTS.flatMap((name, i) => (values[i] === undefined ? [] : [[name, values[i] as unknown]])),
  );
  const handOff = read.fluxHandOff;
  const fluxHandOff: Record<string, string> = {};
  if (handOff && typeof handOff === "object" && !Array.isArray(handOff)) {
    for (const [k, v] of Object.entries(handOff)) if (typeof v === "string") fluxHandOff[k] = v;
  } else {
    if (typeof read.externalSecretsVersion === "string")
      fluxHandOff["homeops:externalSecrets.version"] = read.externalSecretsVersion;
    if (typeof read.connectVersion === "string") fluxHandOff["homeops:connect.version"] = read.connectVersion;
  }
  return {
    declared: phaseList(read.phasesDeclared),
    completed: phaseList(read.phasesCompleted),
    nodes: deployedNodesFromOutputs(read.nodes, read.removedNodes),
    credentials: issuedCredentials({
      talosconfigExpiry: read.talosconfigExpiry,
      kubeconfigExpiry: read.kubeconfigExpiry,
      credentialRenewals: read.credentialRenewals,
    }),
    fluxHandOff,
    outputs: parsePreviousDeployment(Object.keys(read).length === 0 ? undefined : read),
  };
}

/** What an earlier update declared, completed, deployed and minted (without the hand-off record). */
export async function previousPhases(): Promise<PreviousPhases> {
  const { declared, completed, nodes, credentials } = await previousDeployment();
  return { declared, completed, nodes, credentials };
}
