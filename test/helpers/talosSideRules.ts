/**
 * What Talos itself refuses in a rendered patch, beyond its JSON Schema, per minor and contract:
 * a typed document next to the legacy field it replaces (V1Alpha1ConflictValidate of each kind,
 * run by pkg/machinery/config/container/validate.go in every mode), the v1alpha1 warnings that
 * `validate --strict` turns into errors (v1alpha1_validation.go Config.Validate), and the checks
 * whose other half gen config supplies (the generated HostnameConfig `auto`, the generated
 * `install.grubUseUKICmdline`). The real `talosctl validate --mode metal --strict` of each minor
 * (test/e2e/talosctl.e2e.ts) is the authority; this model is what runs where that binary does not.
 * Sources: talos @ v1.12.6, v1.13.9, v1.14.1 (pkg/machinery/config/types/...; v1.11.5 has no
 * conflict checks at all), contracts/NOTES.md §7.1.
 */
import type { TalosDocument } from "../../talos/machineconfig";
import { SUPPORTED_TALOS_MINORS, type TalosMinor } from "../../config/types";

const atLeast = (a: TalosMinor, b: TalosMinor): boolean =>
  SUPPORTED_TALOS_MINORS.indexOf(a) >= SUPPORTED_TALOS_MINORS.indexOf(b);

function at(doc: unknown, dottedPath: string): unknown {
  return dottedPath.split(".").reduce<unknown>((value, key) => {
    if (typeof value !== "object" || value === null) return undefined;
    return (value as Record<string, unknown>)[key];
  }, doc);
}

interface Conflict {
  /** The document kind (and, for VolumeConfig, a predicate on the document). */
  readonly kind: string;
  readonly applies?: (doc: TalosDocument) => boolean;
  /** The legacy v1alpha1 fields it cannot stand next to. */
  readonly legacy: readonly string[];
  /** First minor that refuses the pair. */
  readonly since: TalosMinor;
  readonly source: string;
}

const hasEncryption = (doc: TalosDocument): boolean =>
  ["STATE", "EPHEMERAL"].includes(String(doc.name)) && doc.encryption !== undefined;

/** Every pair a rendered document could hit. */
export const CONFLICTS: readonly Conflict[] = [
  {
    kind: "HostnameConfig",
    legacy: ["machine.network.hostname", "machine.features.stableHostname"],
    since: "v1.12",
    source: "network/hostname.go",
  },
  {
    kind: "ResolverConfig",
    legacy: ["machine.network.nameservers", "machine.network.searchDomains", "machine.network.disableSearchDomain"],
    since: "v1.12",
    source: "network/resolver.go",
  },
  { kind: "ResolverConfig", legacy: ["machine.features.hostDNS"], since: "v1.14", source: "network/resolver.go" },
  {
    kind: "VolumeConfig",
    applies: hasEncryption,
    legacy: ["machine.systemDiskEncryption"],
    since: "v1.12",
    source: "block/volume_config.go",
  },
  { kind: "KubePrismConfig", legacy: ["machine.features.kubePrism"], since: "v1.14", source: "k8s/kubeprism.go" },
  { kind: "KubeletConfig", legacy: ["machine.kubelet"], since: "v1.14", source: "k8s/kubelet.go" },
  { kind: "KubeProxyConfig", legacy: ["cluster.proxy"], since: "v1.14", source: "k8s/proxy.go" },
  { kind: "KubeNetworkConfig", legacy: ["cluster.network"], since: "v1.14", source: "k8s/network.go" },
  { kind: "KubeFlannelCNIConfig", legacy: ["cluster.network"], since: "v1.14", source: "k8s/flannel.go" },
  { kind: "KubeAPIServerConfig", legacy: ["cluster.apiServer"], since: "v1.14", source: "k8s/apiserver.go" },
  {
    kind: "KubeAdmissionControlConfig",
    legacy: ["cluster.apiServer.admissionControl"],
    since: "v1.14",
    source: "k8s/admission_control.go",
  },
  {
    kind: "KubeAuditPolicyConfig",
    legacy: ["cluster.apiServer.auditPolicy"],
    since: "v1.14",
    source: "k8s/audit_policy.go",
  },
  {
    kind: "KubeControllerManagerConfig",
    legacy: ["cluster.controllerManager"],
    since: "v1.14",
    source: "k8s/controller_manager.go",
  },
  { kind: "KubeSchedulerConfig", legacy: ["cluster.scheduler"], since: "v1.14", source: "k8s/scheduler.go" },
  {
    kind: "KubeNodeConfig",
    legacy: ["cluster.allowSchedulingOnControlPlanes"],
    since: "v1.14",
    source: "k8s/node.go",
  },
  {
    kind: "UnattendedInstallConfig",
    legacy: ["machine.install"],
    since: "v1.14",
    source: "runtime/unattended_install.go",
  },
  {
    kind: "DiscoveryServiceConfig",
    legacy: ["cluster.discovery"],
    since: "v1.14",
    source: "cluster/discovery_service.go",
  },
];

/**
 * Pairs this program never writes although Talos has no check for them (the document wins or
 * merges silently): still "a typed document together with its legacy field".
 * Talos @ v1.14.1 : config/container/container.go SysctlConfig (merged, documents win),
 * UdevRulesConfig (the document replaces the legacy rules).
 */
const UNCHECKED_PAIRS: readonly Conflict[] = [
  { kind: "SysctlConfig", legacy: ["machine.sysctls"], since: "v1.14", source: "container.go SysctlConfig" },
  { kind: "UdevRulesConfig", legacy: ["machine.udev"], since: "v1.14", source: "container.go UdevRulesConfig" },
];

/** v1alpha1 warnings that `--strict` makes errors, by the first minor that warns. */
const STRICT_WARNINGS: readonly { readonly path: string; readonly since: TalosMinor }[] = [
  { path: "machine.install.extensions", since: "v1.10" },
  { path: "machine.files", since: "v1.14" },
  { path: "machine.baseRuntimeSpecOverrides", since: "v1.14" },
];

/**
 * Problems Talos `minor` would report for the rendered documents of a node under `contract`
 * (empty = none the model knows of).
 */
export function talosSideProblems(
  minor: TalosMinor,
  contract: TalosMinor,
  documents: readonly TalosDocument[],
): string[] {
  const problems: string[] = [];
  const patch = documents.find((doc) => doc.kind === undefined) ?? {};
  const typed = documents.filter((doc) => doc.kind !== undefined);
  for (const pair of [...CONFLICTS, ...UNCHECKED_PAIRS]) {
    if (!atLeast(minor, pair.since)) continue;
    for (const doc of typed.filter((d) => d.kind === pair.kind && (pair.applies?.(d) ?? true))) {
      for (const legacy of pair.legacy.filter((p) => at(patch, p) !== undefined)) {
        problems.push(`${pair.kind}${doc.name ? ` ${String(doc.name)}` : ""} next to .${legacy} (${pair.source})`);
      }
    }
  }
  for (const warning of STRICT_WARNINGS) {
    if (atLeast(minor, warning.since) && at(patch, warning.path) !== undefined) {
      problems.push(`--strict: .${warning.path} is deprecated on ${minor}`);
    }
  }
  const interfaces = at(patch, "machine.network.interfaces");
  if (Array.isArray(interfaces) && interfaces.some((nic) => at(nic, "cidr") !== undefined)) {
    problems.push("--strict: machine.network.interfaces[].cidr is deprecated");
  }
  // gen config with a v1.12+ contract sets install.grubUseUKICmdline: true (generate/init.go);
  // Talos refuses it next to install.extraKernelArgs (v1alpha1_validation.go @ v1.12.6).
  const kernelArgs = at(patch, "machine.install.extraKernelArgs");
  if (
    atLeast(contract, "v1.12") &&
    Array.isArray(kernelArgs) &&
    kernelArgs.length > 0 &&
    at(patch, "machine.install.grubUseUKICmdline") !== false
  ) {
    problems.push("install.extraKernelArgs next to the generated install.grubUseUKICmdline: true");
  }
  // gen config with a v1.12+ contract emits HostnameConfig{auto: stable}: a hostname patch must turn it off.
  for (const hostname of typed.filter((d) => d.kind === "HostnameConfig")) {
    if (hostname.hostname !== undefined && hostname.auto !== "off") {
      problems.push("HostnameConfig: 'auto' and 'hostname' cannot be set at the same time (network/hostname.go)");
    }
  }
  return problems;
}
