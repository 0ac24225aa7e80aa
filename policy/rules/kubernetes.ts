/**
 * Kubernetes-side pins: Cilium never accelerates on these nodes (XDP breaks on the Mac mini
 * NIC), and no Kubernetes provider falls back to an ambient kubeconfig (it would deploy to
 * whatever cluster the runner's ~/.kube/config or KUBECONFIG points at).
 */
import { assertCiliumValuesSafe } from "../../k8s/cilium";
import { TYPES } from "../names";
import { isSecret, isUnknown, Props } from "../values";

function opaque(value: unknown): boolean {
  if (isSecret(value) || isUnknown(value)) return true;
  if (Array.isArray(value)) return value.some(opaque);
  return value !== null && typeof value === "object" && Object.values(value).some(opaque);
}

/**
 * The Cilium release (by release name or chart): its values pass the program's own check of
 * every acceleration and XDP route (k8s/cilium.ts assertCiliumValuesSafe), here applied to what
 * is really registered. `loadBalancer.acceleration` must be exactly "disabled": absent fails too,
 * the chart default is not guaranteed.
 */
export function validateCiliumAcceleration(type: string, props: Props): string[] {
  if (type !== TYPES.helmRelease || (props.name !== "cilium" && props.chart !== "cilium")) return [];
  const problems: string[] = [];
  if (opaque(props.values)) {
    problems.push("values must be plain and known at preview, or the acceleration cannot be checked");
  } else {
    try {
      assertCiliumValuesSafe(props.values ?? {});
    } catch (e) {
      const lines = (e as Error).message.split("\n").filter((l) => l.startsWith("  - "));
      problems.push(...lines.map((l) => l.slice(4)));
    }
  }
  const files = props.valueYamlFiles;
  if (Array.isArray(files) && files.length > 0) {
    problems.push("valueYamlFiles could override the acceleration: set Cilium's values only in `values`");
  }
  return problems;
}

/** Every Kubernetes provider, including a default one, has an explicit, non-empty kubeconfig. */
export function validateKubernetesProvider(type: string, props: Props): string[] {
  if (type !== TYPES.kubernetesProvider) return [];
  const kubeconfig = isSecret(props.kubeconfig) ? props.kubeconfig.value : props.kubeconfig;
  // Unknown during a preview: computed from the cluster phase, which is explicit.
  if (isUnknown(kubeconfig) || (typeof kubeconfig === "string" && kubeconfig.trim() !== "")) return [];
  return [
    "no explicit kubeconfig: it would use the ambient ~/.kube/config or KUBECONFIG; pass the cluster's kubeconfig",
  ];
}
