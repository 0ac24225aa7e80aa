/**
 * Contract v1.14: the machine config is mostly typed documents. `gen config --talos-version v1.14`
 * generates the Kubernetes settings as Kube* documents, the install as an UnattendedInstallConfig,
 * hostDNS as a ResolverConfig and a SecurityProfileConfig (talos @ v1.14.1 :
 * pkg/machinery/config/generate/init.go, kubernetes.go, security_profile.go). Every home-ops
 * setting is a patch of the document that now owns it, and none stays in its legacy field: Talos
 * refuses a document next to its legacy field (V1Alpha1ConflictValidate of each kind,
 * pkg/machinery/config/container/validate.go). A patch document merges onto the generated one with
 * the same kind and name (configpatcher/strategic.go StrategicMerge); `$patch: delete` removes a
 * document or a field (configloader/internal/decoder/delete.go).
 *
 * What stays in the v1alpha1 patch: `machine.network.interfaces` (no contract generates link
 * documents, gen config's network.go moves only the hostname; the legacy field is decoded without
 * a warning through v1.14.1, NOTES §7.1), `machine.features.diskQuotaSupport` and `cluster.etcd`
 * (still v1alpha1 fields in the v1.14 schema).
 *
 * Decisions (and why):
 * - SecurityProfileConfig `workloadIsolation: false`. gen config turns it on for new v1.14
 *   clusters, which moves CRI, the kubelet and every pod into sandboxd's PID and mount namespace;
 *   the in-tree iSCSI plugin then cannot reach the host's iscsid (CHANGELOG 1.14.0 "Workload
 *   Isolation", "In-tree Volume Plugins Deprecated"). Longhorn (v1 data engine over the
 *   iscsi-tools extension) logs its engine into iSCSI with iscsiadm run in the namespaces of its
 *   nearest containerd ancestor (longhorn/go-iscsi-helper util/process.go GetHostNamespacePath),
 *   which under isolation is the sandbox, not the host where ext-iscsid runs. Unverified either
 *   way, so the cluster keeps the behaviour every upgraded cluster has; turning it on is a
 *   separate, tested change.
 * - UnattendedInstallConfig instead of `machine.install` (the contract's own form; `.machine.install`
 *   next to it is refused): the installer image, `wipe: false` as gen config writes it, and the
 *   disk selector as the same CEL Talos derives from the legacy selector (installDisk.ts). It has
 *   no kernel arguments: those every node has are in the Image Factory schematic, and config
 *   validation refuses node-only ones under this contract (config/talosRules.ts).
 * - Dedicated ETCD/CRI/KUBELET/LOG volumes: not used (the default, directories on EPHEMERAL).
 *   EPHEMERAL is LUKS2-encrypted, so they inherit its encryption; dedicated partitions would need
 *   their own, and a safe reset (STATE + EPHEMERAL) would keep etcd's data on them (NOTES §7.6),
 *   and their backing can never change afterwards.
 * - FilesystemTrimConfig (weekly) and the generated EPHEMERAL `mount.secure: true` are kept.
 */
import type { NodeConfig, StackConfig } from "../../config/types";
import { installerImage } from "../schematic";
import {
  API_SERVER_ADMISSION_PLUGINS,
  auditPolicy,
  ETCD_EXTRA_ARGS,
  kubeletConfiguration,
  LEADER_ELECTION_ARGS,
  nodeCidrMaskSizes,
  nodeInterface,
  podSecurityConfiguration,
  sortedSysctls,
  talosDocument,
  type TalosDocument,
} from "./common";
import { installDiskCel } from "./installDisk";

/** The v1alpha1 patch under contract v1.14: only fields no v1.14 document owns. */
export function renderV114NodePatch(cfg: StackConfig, node: NodeConfig): TalosDocument {
  return {
    machine: {
      network: { interfaces: [nodeInterface(cfg, node)] },
      features: { diskQuotaSupport: true },
    },
    // etcd settings on control planes only (Talos refuses them on a worker: v1alpha1.ts withoutEtcd).
    ...(node.role === "controlplane" ? { cluster: { etcd: { extraArgs: { ...ETCD_EXTRA_ARGS } } } } : {}),
  };
}

/** Node settings that moved out of `.machine` (sysctls, udev, hostDNS, install, kubelet, KubePrism). */
function machineDocuments(cfg: StackConfig, node: NodeConfig): TalosDocument[] {
  return [
    ...(Object.keys(node.sysctls).length > 0 ? [talosDocument("SysctlConfig", { params: sortedSysctls(node) })] : []),
    ...(cfg.machine.udevRules.length > 0
      ? [talosDocument("UdevRulesConfig", { rules: [...cfg.machine.udevRules] })]
      : []),
    talosDocument("ResolverConfig", { hostDNS: { enabled: true, forwardKubeDNSToHost: true } }),
    talosDocument("UnattendedInstallConfig", {
      installer: { image: installerImage(cfg) },
      provisioning: { diskSelector: { match: installDiskCel(node.installDisk) }, wipe: false },
    }),
    talosDocument("SecurityProfileConfig", { workloadIsolation: false }),
    talosDocument("KubeletConfig", { config: kubeletConfiguration(cfg) }),
    talosDocument("KubePrismConfig", { port: cfg.machine.kubePrismPort }),
  ];
}

/** KubeNetworkConfig: the ranges, the DNS domain and the per-node mask sizes matched to Cilium. */
function kubeNetworkDocument(cfg: StackConfig): TalosDocument {
  const sizes = nodeCidrMaskSizes(cfg);
  return talosDocument("KubeNetworkConfig", {
    dnsDomain: cfg.cluster.dnsDomain,
    podSubnets: [...cfg.network.podCidrs],
    serviceSubnets: [...cfg.network.serviceCidrs],
    nodeCIDRMaskSizeIPv4: sizes.ipv4,
    ...(sizes.ipv6 !== undefined ? { nodeCIDRMaskSizeIPv6: sizes.ipv6 } : {}),
  });
}

/**
 * Control-plane-only documents: gen config writes these kinds only into control-plane configs
 * (kubernetes.go generateKubernetesControlplaneConfigs), so a worker gets none of their patches.
 */
function controlPlaneDocuments(): TalosDocument[] {
  return [
    // Cilium is the CNI (installed by the program) and replaces kube-proxy
    // (siderolabs/docs public/kubernetes-guides/cni/deploying-cilium.mdx).
    talosDocument("KubeFlannelCNIConfig", { $patch: "delete" }),
    talosDocument("KubeProxyConfig", { enabled: false }),
    talosDocument("KubeAPIServerConfig", {
      extraArgs: { "enable-admission-plugins": API_SERVER_ADMISSION_PLUGINS.join(",") },
    }),
    talosDocument("KubeAdmissionControlConfig", { name: "PodSecurity", configuration: podSecurityConfiguration() }),
    talosDocument("KubeAuditPolicyConfig", { configuration: auditPolicy() }),
    talosDocument("KubeControllerManagerConfig", { extraArgs: { ...LEADER_ELECTION_ARGS } }),
    talosDocument("KubeSchedulerConfig", { extraArgs: { ...LEADER_ELECTION_ARGS } }),
  ];
}

/** Every document of contract v1.14 but the shared ones (hostname, volumes, LLDPD, USB SSD). */
export function renderV114Documents(cfg: StackConfig, node: NodeConfig): TalosDocument[] {
  const controlPlane = node.role === "controlplane";
  return [
    ...machineDocuments(cfg, node),
    kubeNetworkDocument(cfg),
    // gen config taints control planes unless told otherwise (kubernetes.go
    // generateKubernetesUniversalConfigs): remove the taint where workloads may run there.
    ...(controlPlane && cfg.cluster.allowSchedulingOnControlPlanes
      ? [talosDocument("KubeNodeConfig", { taints: { $patch: "delete" } })]
      : []),
    ...(controlPlane ? controlPlaneDocuments() : []),
  ];
}
