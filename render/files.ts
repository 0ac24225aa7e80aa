/**
 * The offline render: every file `npm run render` writes for a stack, as a pure function of the
 * validated config (no secrets, no network, no clock): same input, byte-identical output.
 */
import { stringify } from "yaml";
import { StackConfig } from "../config/types";
import { renderNodePatchYaml } from "../talos/machineconfig";
import {
  buildPlan,
  CommandStep,
  Plan,
  settingsFileText,
  stackHistory,
  Step,
  STDIN_PRODUCER,
  upgradeSummary,
} from "../plan";
import type { PreviousDeployment } from "../config/previousDeployment";
import type { DeployedNodes } from "../config/removal";
import { NodeRemoval, nodeRemovals } from "../plan/removal";
import { scriptFileText, scriptPath } from "../talos/scripts";
import { ciliumValues } from "../k8s/cilium";
import { KubernetesObject } from "../k8s/kubernetesObject";
import { renderedObjectFileName, SECRET_MARKER } from "../k8s/manifests";
import { Phase } from "../config/types";

/** Every Kubernetes object and Helm release of the plan, in creation order, secrets as markers. */
export function planKubernetesObjects(plan: Plan): { phase: Phase; object: KubernetesObject }[] {
  return plan.steps.flatMap((s) =>
    s.kind === "k8s"
      ? [{ phase: s.phase, object: s.object }]
      : s.kind === "helm"
        ? [{ phase: s.phase, object: s.release }]
        : [],
  );
}

/**
 * A command step's environment as the program sends it: the plan's values, plus what the
 * components add (the 1Password CLI's authentication, a secret; the talosctl preflight's minor on
 * root steps), secrets as the render's marker.
 */
export function renderedEnv(step: CommandStep, minor: string): Record<string, string> {
  return {
    ...step.env,
    ...(step.onePasswordAuth ? { OP_SERVICE_ACCOUNT_TOKEN: SECRET_MARKER } : {}),
    ...(step.dependsOn.length === 0 ? { TALOSCTL_MINOR: minor } : {}),
  };
}

/**
 * plan.json: for every step its id, phase, node, description and dependencies, in order; for a
 * command step also the script it runs, its environment and where its stdin comes from, so a
 * reviewer sees everything that will run (the scripts themselves are under scripts/); for a Helm
 * release its mark and create hook; for what Flux takes over, where to change it afterwards.
 */
export function planJson(plan: Plan, minor: string, removals: readonly NodeRemoval[] = []): string {
  const steps = plan.steps.map((s: Step) => ({
    id: s.id,
    phase: s.phase,
    kind: s.kind,
    ...(s.node ? { node: s.node } : {}),
    description: s.description,
    ...(s.kind === "command"
      ? {
          script: scriptPath(s.script),
          ...(s.deleteScript ? { deleteScript: scriptPath(s.deleteScript) } : {}),
          ...(s.argv ? { argv: s.argv } : {}),
          env: renderedEnv(s, minor),
          ...(s.stdinFrom ? { stdinFrom: STDIN_PRODUCER[s.stdinFrom] } : {}),
        }
      : {}),
    ...(s.kind === "helm"
      ? {
          // Its Helm description (this stack's mark) and what runs before its create.
          marker: s.marker,
          beforeCreate:
            "adopt this stack's release, unlock a stale interrupted one, else refuse (components/helmGuard.ts)",
        }
      : {}),
    ...((s.kind === "helm" || s.kind === "k8s") && s.handOff ? { handOff: s.handOff } : {}),
    dependsOn: s.dependsOn,
  }));
  return (
    JSON.stringify(
      {
        stack: plan.stack,
        schematicId: plan.schematicId,
        installerImage: plan.installerImage,
        phases: plan.phases,
        // What runs (the stack's previous outputs) and the path the upgrade steps carry out.
        ...(plan.upgrade.running !== undefined || plan.upgrade.path.hops.length > 0
          ? {
              upgrade: {
                running: plan.upgrade.running ?? null,
                target: plan.upgrade.target,
                planned: plan.upgrade.planned,
                hops: plan.upgrade.path.hops,
              },
            }
          : {}),
        // The nodes leaving the stack (against the previous outputs) and what their deletes run.
        ...(removals.length > 0 ? { removals } : {}),
        settings: plan.settings,
        steps,
      },
      null,
      2,
    ) + "\n"
  );
}

function yamlDoc(value: unknown): string {
  return stringify(value, { lineWidth: 0, sortMapEntries: false });
}

/**
 * relative path -> content; `previous` (the stack's outputs, `pulumi stack output --json`) adds
 * the upgrade path from what runs.
 */
export function renderStackFiles(
  cfg: StackConfig,
  previous?: PreviousDeployment,
  deployed?: DeployedNodes,
): Map<string, string> {
  const plan = buildPlan(cfg, undefined, stackHistory(previous?.phasesCompleted), {
    upgrade: upgradeSummary(cfg, previous),
  });
  const files = new Map<string, string>();
  for (const node of cfg.nodes) files.set(`nodes/${node.hostname}.yaml`, renderNodePatchYaml(cfg, node));
  files.set("plan.json", planJson(plan, cfg.talos.minor, deployed ? nodeRemovals(cfg, deployed) : []));
  files.set("settings.env", settingsFileText(plan.settings));
  for (const step of plan.steps) {
    if (step.kind !== "command") continue;
    files.set(`scripts/${step.id}.sh`, scriptFileText(step.script));
    if (step.deleteScript) files.set(`scripts/${step.id}.delete.sh`, scriptFileText(step.deleteScript));
  }
  if (plan.phases.includes("cni")) files.set("cilium-values.yaml", yamlDoc(ciliumValues(cfg)));
  planKubernetesObjects(plan).forEach(({ object }, i) =>
    files.set(`kubernetes/${renderedObjectFileName(i, object)}`, yamlDoc(object)),
  );
  return files;
}
