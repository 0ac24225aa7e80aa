/**
 * The Node objects of the fake cluster, as a Talos node's kubelet registers them and Talos labels
 * and taints them; kwok (annotation kwok.x-k8s.io/node=fake) then reports them Ready.
 */

export interface NodeSpec {
  /** The Node name: the machine's hostname (mini01). */
  readonly name: string;
  /** Its address, reported as InternalIP (127.0.0.11 in the e2e stack). */
  readonly address?: string;
  /** controlplane (default) or worker. */
  readonly role?: "controlplane" | "worker";
  /** Further labels (machine.nodeLabels, extension labels, ...). */
  readonly labels?: Readonly<Record<string, string>>;
}

export interface NodeObject {
  apiVersion: "v1";
  kind: "Node";
  metadata: { name: string; labels: Record<string, string>; annotations: Record<string, string> };
  spec: { taints?: { key: string; effect: string }[] };
  status: { addresses?: { type: string; address: string }[] };
}

export const CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane";

/** The Node as registered: labels and taints of kubelet and of Talos. */
export function nodeObject(n: NodeSpec, allowSchedulingOnControlPlanes: boolean): NodeObject {
  const controlPlane = (n.role ?? "controlplane") === "controlplane";
  const labels: Record<string, string> = {
    // kubelet's own (k8s v1.31.14 pkg/kubelet/kubelet_node_status.go initialNode).
    "kubernetes.io/hostname": n.name,
    "kubernetes.io/os": "linux",
    "kubernetes.io/arch": "amd64",
    "beta.kubernetes.io/os": "linux",
    "beta.kubernetes.io/arch": "amd64",
  };
  if (controlPlane) {
    // Talos v1.10.5: NodeLabelSpecController labels every control plane with the role label
    // (internal/app/machined/pkg/controllers/k8s/node_label_spec.go), and `gen config` puts
    // exclude-from-external-load-balancers into a control plane's machine.nodeLabels
    // (pkg/machinery/config/generate/init.go, VersionContract.AddExcludeFromExternalLoadBalancer).
    labels[CONTROL_PLANE_LABEL] = "";
    labels["node.kubernetes.io/exclude-from-external-load-balancers"] = "";
  }
  Object.assign(labels, n.labels ?? {});
  // Talos v1.10.5 NodeTaintSpecController (node_taint_spec.go): a control plane gets
  // node-role.kubernetes.io/control-plane:NoSchedule unless the cluster allows scheduling on it.
  const taints =
    controlPlane && !allowSchedulingOnControlPlanes ? [{ key: CONTROL_PLANE_LABEL, effect: "NoSchedule" }] : [];
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: n.name, labels, annotations: { "kwok.x-k8s.io/node": "fake" } },
    spec: taints.length ? { taints } : {},
    status: n.address
      ? {
          addresses: [
            { type: "InternalIP", address: n.address },
            { type: "Hostname", address: n.name },
          ],
        }
      : {},
  };
}
