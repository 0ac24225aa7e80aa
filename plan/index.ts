/**
 * The whole stack as an ordered list of steps: a pure function of the validated config. The
 * components turn each step into one resource, the offline renderer writes it as plan.json and
 * scripts/, and the simulated-execution tests run the command steps in this order. One source for
 * all three.
 */
import { Phase, PHASES, StackConfig } from "../config/types";
import { installerImage, schematicId } from "../talos/schematic";
import { runtimeSettings, stackHistory, StackHistory } from "./settings";
import { clusterSteps, talosSteps } from "./talos";
import { cniSteps, gitopsSteps, secretsSteps } from "./services";
import { Plan, Step } from "./types";
import { NO_RENEWALS, Renewals } from "./renewal";
import { upgradeSummary, UpgradeSummary } from "./upgrades";

export * from "./types";
export { nodeConfigHash, nodeConfigInputs } from "./talos";
export { runtimeSettings, settingsFileText, settingsPath, stackHistory } from "./settings";
export type { StackHistory } from "./settings";
export { CREDENTIALS, issuedCredentials, NO_RENEWALS, renewalsDue, renewalTime } from "./renewal";
export type { Credential, IssuedCredentials, Renewals } from "./renewal";
export { describePath, runningOutput, upgradeStepIds, upgradeSummary } from "./upgrades";
export type { UpgradeSummary } from "./upgrades";

/** Phases up to `last`, in order. */
export function phasesThrough(last: Phase): Phase[] {
  return PHASES.slice(0, PHASES.indexOf(last) + 1);
}

/** Phases that `stopAfter` lets run, in order. */
export function activePhases(cfg: StackConfig): Phase[] {
  return phasesThrough(cfg.stopAfter);
}

/** What the stack's earlier updates add to a plan's steps (none on a new stack). */
export interface PlanExtras {
  /** The certificate renewal counts (plan/renewal.ts): inputs of the steps that mint them. */
  readonly renewals?: Renewals;
  /** The upgrade path from what the nodes run (plan/upgrades.ts upgradeSummary). */
  readonly upgrade?: UpgradeSummary;
}

const PHASE_STEPS: Record<Phase, (cfg: StackConfig, renewals: Renewals, upgrade: UpgradeSummary) => Step[]> = {
  talos: (cfg, renewals, upgrade) => talosSteps(cfg, renewals, upgrade.path),
  cluster: (cfg, renewals) => clusterSteps(cfg, renewals),
  cni: cniSteps,
  secrets: secretsSteps,
  gitops: gitopsSteps,
};

/**
 * The plan of a validated config: steps of the given phases (default: those `stopAfter` lets
 * run) in dependency order; `history` (the stack's earlier updates) only reaches the run-time
 * settings, never a step; `extras.renewals` (plan/renewal.ts) reach the steps that mint
 * certificates; `extras.upgrade` (plan/upgrades.ts upgradeSummary of the previous outputs) adds the
 * upgrade path's steps (none on a new stack).
 */
export function buildPlan(
  cfg: StackConfig,
  phases: readonly Phase[] = activePhases(cfg),
  history: StackHistory = stackHistory(),
  extras: PlanExtras = {},
): Plan {
  const renewals = extras.renewals ?? NO_RENEWALS;
  const upgrade = extras.upgrade ?? upgradeSummary(cfg, undefined);
  const steps = phases.flatMap((p) => PHASE_STEPS[p](cfg, renewals, upgrade));
  assertOrdered(steps);
  return {
    stack: cfg.stack,
    schematicId: schematicId(cfg),
    installerImage: installerImage(cfg),
    phases,
    steps,
    settings: runtimeSettings(cfg, history),
    upgrade,
  };
}

/** Every dependency exists and comes earlier (the list is a topological order). */
export function assertOrdered(steps: readonly Step[]): void {
  const seen = new Set<string>();
  for (const s of steps) {
    if (seen.has(s.id)) throw new Error(`duplicate step id ${s.id}`);
    for (const d of s.dependsOn) {
      if (!seen.has(d)) throw new Error(`step ${s.id} depends on ${d}, which does not come before it`);
    }
    seen.add(s.id);
  }
}
