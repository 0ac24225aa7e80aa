/**
 * The offline render: every file `npm run render` writes for a stack, as a pure function of the
 * validated config (no secrets, no network, no clock): same input, byte-identical output.
 */
import { stringify } from "yaml";
import { StackConfig } from "../config/types";
import { renderNodePatchYaml } from "../talos/machineconfig";
import { buildPlan, Plan, Step } from "../plan";
import { ciliumValues } from "../k8s/cilium";
import { KubernetesObject } from "../k8s/kubernetesObject";
import { renderedObjectFileName } from "../k8s/manifests";
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

/** plan.json: ids, phases, nodes, talosctl argv (no secrets) and dependencies, in order. */
export function planJson(plan: Plan): string {
  const steps = plan.steps.map((s: Step) => ({
    id: s.id,
    phase: s.phase,
    kind: s.kind,
    ...(s.node ? { node: s.node } : {}),
    description: s.description,
    ...(s.kind === "command" && s.argv ? { argv: s.argv } : {}),
    dependsOn: s.dependsOn,
  }));
  return (
    JSON.stringify(
      {
        stack: plan.stack,
        schematicId: plan.schematicId,
        installerImage: plan.installerImage,
        phases: plan.phases,
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

/** relative path -> content */
export function renderStackFiles(cfg: StackConfig): Map<string, string> {
  const plan = buildPlan(cfg);
  const files = new Map<string, string>();
  for (const node of cfg.nodes) files.set(`nodes/${node.hostname}.yaml`, renderNodePatchYaml(cfg, node));
  files.set("plan.json", planJson(plan));
  if (plan.phases.includes("cni")) files.set("cilium-values.yaml", yamlDoc(ciliumValues(cfg)));
  planKubernetesObjects(plan).forEach(({ object }, i) =>
    files.set(`kubernetes/${renderedObjectFileName(i, object)}`, yamlDoc(object)),
  );
  return files;
}
