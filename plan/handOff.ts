/**
 * The hand-off to Flux (Pulumi installs, Flux owns): once an update of the stack completed the
 * gitops phase, what Flux takes over (steps with `handOff`) stays in the stack's state unchanged,
 * and a later change of its setting only warns where to make it. Pure: the program passes what
 * its last successful update exported (components/previousDeployment.ts).
 */
import { Plan, Step } from "./types";

export interface HandOffState {
  /** Flux owns the hand-off steps: they keep their stored inputs. */
  readonly handedOff: boolean;
  /** Setting → the value this stack last applied (exported as `fluxHandOff`, frozen once handed off). */
  readonly record: Readonly<Record<string, string>>;
  /** One line per setting changed since the hand-off, naming where to change it instead. */
  readonly warnings: readonly string[];
}

function handOffSteps(plan: Plan): Step[] {
  return plan.steps.filter((s) => (s.kind === "helm" || s.kind === "k8s") && s.handOff);
}

/**
 * @param completedBefore the `phasesCompleted` output of the stack's last successful update
 * @param recordBefore the setting values at the hand-off (its `fluxHandOff` output)
 */
export function handOffState(
  plan: Plan,
  completedBefore: readonly string[],
  recordBefore: Readonly<Record<string, string>>,
): HandOffState {
  const handedOff = completedBefore.includes("gitops");
  const record: Record<string, string> = {};
  const warnings: string[] = [];
  for (const step of handOffSteps(plan)) {
    const handOff = (step.kind === "helm" || step.kind === "k8s") && step.handOff;
    if (!handOff || !handOff.setting) continue;
    const { key, value } = handOff.setting;
    const applied = handedOff ? (recordBefore[key] ?? value) : value;
    record[key] = applied;
    if (applied !== value) {
      warnings.push(
        `${key} is ${value}, but Flux owns ${step.id} since the gitops phase completed, and this stack last applied ${applied}: ` +
          `the stack no longer changes it. Make the change in ${handOff.changeIn}.`,
      );
    }
  }
  return { handedOff, record, warnings: [...new Set(warnings)] };
}
