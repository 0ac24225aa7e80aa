/**
 * Kubernetes-side pins: Cilium never accelerates on these nodes (XDP breaks on the Mac mini
 * NIC), and no Kubernetes provider falls back to an ambient kubeconfig (it would deploy to
 * whatever cluster the runner's ~/.kube/config or KUBECONFIG points at).
 */
import { TYPES } from "../names";
import { isSecret, isUnknown, plainString, Props, valueAt } from "../values";

/** The Cilium release (by release name or chart) has values.loadBalancer.acceleration exactly "disabled". */
export function validateCiliumAcceleration(type: string, props: Props): string[] {
  if (type !== TYPES.helmRelease || (props.name !== "cilium" && props.chart !== "cilium")) return [];
  const problems: string[] = [];
  const acceleration = valueAt(props, ["values", "loadBalancer", "acceleration"]);
  if (acceleration !== "disabled") {
    const found = plainString(acceleration) ?? (acceleration === undefined ? "absent" : "not a plain string");
    problems.push(
      `values.loadBalancer.acceleration must be "disabled" on these nodes (found: ${found.slice(0, 40)}); the chart default is not guaranteed`,
    );
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
