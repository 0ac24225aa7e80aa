/**
 * Every talosctl invocation the program can run, as argv builders. Values are parameter
 * references (see shell.ts); scratch files live under `${WORK}`. Node-addressed commands always
 * carry --nodes/--endpoints explicitly (never an ambient talosconfig context); local commands
 * (gen, validate) never do, because talosctl v1.11 rejects node flags there.
 */
import { Arg } from "./shell";

export const FILES = {
  secrets: "${WORK}/secrets.yaml",
  patch: "${WORK}/patch.yaml",
  machineConfig: "${WORK}/machineconfig.yaml",
  talosconfig: "${WORK}/talosconfig",
  kubeconfig: "${WORK}/kubeconfig",
} as const;

/** Talos v1.14's system volumes that may live on partitions of their own (NOTES §7.6). */
export const V114_SYSTEM_VOLUMES = ["ETCD", "CRI", "KUBELET", "LOG"] as const;

/** Target one node directly: it is both the endpoint and the node. */
function target(address: Arg): Arg[] {
  return ["--nodes", address, "--endpoints", address];
}
const authenticated: Arg[] = ["--talosconfig", FILES.talosconfig];
/** `gen config` of this cluster from the secrets bundle (what differs is the output type). */
const genConfigFromBundle: Arg[] = [
  "gen",
  "config",
  "${CLUSTER_NAME}",
  "${CLUSTER_ENDPOINT}",
  "--with-secrets",
  FILES.secrets,
];

export const talosctl = {
  genSecrets: (): Arg[] => ["gen", "secrets", "--output-file", FILES.secrets],
  genMachineConfig: (): Arg[] => [
    ...genConfigFromBundle,
    "--config-patch",
    `@${FILES.patch}`,
    "--output-types",
    "${NODE_ROLE}",
    "--output",
    FILES.machineConfig,
    "--kubernetes-version",
    "${KUBERNETES_VERSION}",
    // The pinned machine-config contract, never the installed minor (config/types.ts talos.contract).
    "--talos-version",
    "${TALOS_CONTRACT}",
    "--install-image",
    "${INSTALL_IMAGE}",
    "--additional-sans",
    "${CLUSTER_VIP}",
    "--dns-domain",
    "${DNS_DOMAIN}",
    "--with-docs=false",
    "--with-examples=false",
    "--force",
  ],
  genTalosconfig: (): Arg[] => [
    ...genConfigFromBundle,
    "--output-types",
    "talosconfig",
    "--output",
    FILES.talosconfig,
    "--force",
  ],
  configEndpoint: (): Arg[] => [...authenticated, "config", "endpoint", "@{TALOS_ENDPOINTS}"],
  configNode: (): Arg[] => [...authenticated, "config", "node", "@{TALOS_NODES}"],
  validate: (): Arg[] => ["validate", "--config", FILES.machineConfig, "--mode", "metal"],
  /**
   * The probe maintenance mode answers: a LAN client of the maintenance service is a reader, and
   * MachineStatus is readable (internal/app/machined/pkg/controllers/runtime/maintenance_service.go
   * authz.ReadOnlyWithAdminOnSiderolink; Version needs admin and answers Unimplemented there).
   */
  machineStageInsecure: (address: Arg): Arg[] => [
    "get",
    "machinestatus",
    ...target(address),
    "--insecure",
    "--output",
    "jsonpath={.spec.stage}",
  ],
  applyInsecure: (address: Arg): Arg[] => [
    "apply-config",
    ...target(address),
    "--insecure",
    "--file",
    FILES.machineConfig,
  ],
  applyAuthenticated: (address: Arg): Arg[] => [
    "apply-config",
    ...target(address),
    ...authenticated,
    "--file",
    FILES.machineConfig,
    "--mode",
    "auto",
  ],
  /** `<stage> <ready>` of a configured node (stage booting/running/...; ready: every check met). */
  machineStatus: (address: Arg): Arg[] => [
    "get",
    "machinestatus",
    ...target(address),
    ...authenticated,
    "--output",
    "jsonpath={.spec.stage} {.spec.status.ready}",
  ],
  /**
   * Does the node run exactly this config? The dry run answers "Config diff: ... No changes." on
   * stderr when the running config equals the file (v1alpha1_server.go ApplyConfiguration/
   * generateDiff; talosctl helpers/mode.go PrintApplyResults prints ModeDetails to stderr).
   */
  applyDryRun: (address: Arg): Arg[] => [...talosctl.applyAuthenticated(address), "--dry-run"],
  /** Health of the addressed node's etcd member (exit 0 with a status row when it serves). */
  etcdStatus: (address: Arg): Arg[] => ["etcd", "status", ...target(address), ...authenticated],
  etcdMembers: (address: Arg): Arg[] => ["etcd", "members", ...target(address), ...authenticated],
  bootstrap: (address: Arg): Arg[] => ["bootstrap", ...target(address), ...authenticated],
  kubeconfig: (address: Arg): Arg[] => ["kubeconfig", "-", "--merge=false", ...target(address), ...authenticated],
  health: (address: Arg): Arg[] => [
    "health",
    ...target(address),
    ...authenticated,
    "--control-plane-nodes",
    "${HEALTH_CONTROL_PLANES}",
    "--wait-timeout",
    "${HEALTH_ATTEMPT_TIMEOUT}",
  ],
  healthWithWorkers: (address: Arg): Arg[] => [...talosctl.health(address), "--worker-nodes", "${HEALTH_WORKERS}"],
  /**
   * The control-plane static pods Talos last rendered for the kubelet of the addressed node
   * (StaticPods.kubernetes.talos.dev, namespace k8s; ControlPlaneStaticPodController @ v1.10.5),
   * one `<id> <config-version> <secrets-version>` per pod, each result on a line of its own
   * (output/jsonpath.go). The annotations change exactly when the pod must be replaced: the
   * config resource's version moves only when its content changes.
   */
  staticPodVersions: (address: Arg): Arg[] => [
    "get",
    "staticpods",
    ...target(address),
    ...authenticated,
    "--output",
    "jsonpath={.metadata.id} {.spec.pod.metadata.annotations.talos\\.dev/config-version} {.spec.pod.metadata.annotations.talos\\.dev/secrets-version}",
  ],
  /**
   * etcd membership (talos @ v1.14.1 v1alpha1_server.go EtcdForfeitLeadership, EtcdLeaveCluster,
   * EtcdRemoveMemberByID; the same server code from v1.10.5 on): forfeit is a no-op on a follower;
   * leave takes exactly one node and removes its own member; remove-member takes the member's hex
   * ID (as `etcd members` prints it), called through a healthy control plane.
   */
  etcdForfeitLeadership: (address: Arg): Arg[] => ["etcd", "forfeit-leadership", ...target(address), ...authenticated],
  etcdLeave: (address: Arg): Arg[] => ["etcd", "leave", ...target(address), ...authenticated],
  etcdRemoveMember: (through: Arg, memberId: Arg): Arg[] => [
    "etcd",
    "remove-member",
    memberId,
    ...target(through),
    ...authenticated,
  ],
  /** `<id> <type>` of every volume (type partition: a volume of its own; directory: on EPHEMERAL). */
  volumeTypes: (address: Arg): Arg[] => [
    "get",
    "volumestatus",
    ...target(address),
    ...authenticated,
    "--output",
    "jsonpath={.metadata.id} {.spec.type}",
  ],
  /**
   * Safe reset: STATE and EPHEMERAL only, and reboot (never a label-less wipe). Graceful (leave
   * etcd, drain) while other etcd members remain; the last member cannot leave. On Talos v1.14
   * (`v114SystemVolumes`) also ETCD, CRI, KUBELET and LOG: v1.14 can keep them on partitions of
   * their own that a STATE+EPHEMERAL reset leaves behind (etcd data would survive), and accepts
   * them when they are directories on EPHEMERAL, since EPHEMERAL is wiped too (talos @ v1.14.1
   * v1alpha1_server.go Reset label checks; NOTES §7.6). Before v1.14 ETCD is a directory that
   * reset refuses ("is not located"). Never a user volume (`u-<name>`).
   */
  safeReset: (address: Arg, v114SystemVolumes = false): Arg[] => [
    "reset",
    ...target(address),
    ...authenticated,
    "--system-labels-to-wipe",
    "STATE",
    "--system-labels-to-wipe",
    "EPHEMERAL",
    ...(v114SystemVolumes ? V114_SYSTEM_VOLUMES.flatMap((label) => ["--system-labels-to-wipe", label]) : []),
    "--reboot",
    "--graceful=${RESET_GRACEFUL}",
    "--wait=false",
  ],
  /**
   * The node's own version as protojson, one object per node (the hidden `--json`, in every minor
   * v1.10–v1.14: cmd/talosctl/cmd/talos/version.go printVersionResponse, protojson.Marshal):
   * `.version.tag` is the Talos it booted, so an A/B fallback shows as the old tag (NOTES §7.3).
   */
  versionJson: (address: Arg): Arg[] => ["version", ...target(address), ...authenticated, "--json"],
  /**
   * `<name>=<version>` of every extension the node booted, one per line; Image Factory adds the
   * virtual extension `schematic` whose version is the schematic ID (pkg/machinery/constants
   * ImageFactorySchematicExtensionName @ v1.14.1; ExtensionStatuses.runtime.talos.dev, spec =
   * extensions.Layer { image, metadata { name, version } }).
   */
  extensions: (address: Arg): Arg[] => [
    "get",
    "extensions",
    ...target(address),
    ...authenticated,
    "--output",
    "jsonpath={.spec.metadata.name}={.spec.metadata.version}",
  ],
  /**
   * The node's active machine config, every document, as one YAML text (MachineConfigs.config.
   * talos.dev id v1alpha1; `{.spec}` is the multi-document YAML: resources/config/machine_config.go
   * MarshalYAML; sensitive, so admin only: internal/app/resources/access.go). NOTES §7.7.
   */
  activeMachineConfig: (address: Arg): Arg[] => [
    "get",
    "machineconfig",
    "v1alpha1",
    ...target(address),
    ...authenticated,
    "--output",
    "jsonpath={.spec}",
  ],
  /**
   * One node's Talos upgrade with talosctl ≤1.12: MachineService.Upgrade (the node pulls the
   * installer, on a control plane takes the etcd upgrade mutex and refuses an unhealthy or
   * two-member etcd, then cordons and drains itself, installs and reboots: talos @ v1.12.6
   * v1alpha1_server.go Server.Upgrade, etcd.go ValidateForUpgrade). --wait follows the node until
   * its boot ID changed and it runs ready (action/tracker.go); it does not notice an A/B fallback,
   * so the script compares the version itself. Never more than one -n.
   */
  upgradeLegacy: (address: Arg): Arg[] => [
    "upgrade",
    ...target(address),
    ...authenticated,
    "--image",
    "${INSTALL_IMAGE}",
    "--wait",
    "--timeout",
    "${UPGRADE_WAIT}",
  ],
  /**
   * One node's Talos upgrade with talosctl ≥1.13: LifecycleService when the node runs ≥1.13 (pull,
   * install with no server-side etcd check and no mutex, drain by default, reboot, uncordon once
   * Ready), the legacy call for an older node (talos @ v1.14.1 cmd/talosctl/cmd/talos/upgrade.go
   * upgradeViaLifecycleService). Several -n run in parallel there, so exactly one, and the
   * script's own etcd gate replaces the check the new API dropped (NOTES §7.3).
   */
  upgradeLifecycle: (address: Arg): Arg[] => [
    "upgrade",
    ...target(address),
    ...authenticated,
    "--image",
    "${INSTALL_IMAGE}",
    "--wait",
    "--timeout",
    "${UPGRADE_WAIT}",
    "--drain=true",
    "--drain-timeout",
    "${DRAIN_WAIT}",
  ],
  /**
   * One Kubernetes hop, through one control plane (exactly one -n: upgrade-k8s.go
   * BuildClientEnforceSingleNode). The configs stay as compact as the apply renders them
   * (--with-docs/--with-examples default to re-encoding every node's config with comments).
   */
  upgradeKubernetes: (address: Arg): Arg[] => [
    "upgrade-k8s",
    ...target(address),
    ...authenticated,
    "--from",
    "${FROM_VERSION}",
    "--to",
    "${TO_VERSION}",
    "--with-docs=false",
    "--with-examples=false",
  ],
  /**
   * A graceful reboot of one node, drained first (talosctl ≥1.13 only: `reboot --drain`, default
   * false; cmd/talosctl/cmd/talos/reboot.go @ v1.14.1), waiting until it is back.
   */
  rebootDrained: (address: Arg): Arg[] => [
    "reboot",
    ...target(address),
    ...authenticated,
    "--wait",
    "--timeout",
    "${UPGRADE_WAIT}",
    "--drain",
    "--drain-timeout",
    "${DRAIN_WAIT}",
  ],
};

/**
 * Argv builders that only some talosctl minors accept, with the oldest one: the scripts that use
 * them run only with those (test/talosctl-contract.test.ts checks each against its minors).
 */
export const MINOR_SPECIFIC_TALOSCTL: Readonly<Record<string, { oldest: string; argv: (a: Arg) => Arg[] }>> = {
  upgradeLifecycle: { oldest: "v1.13", argv: talosctl.upgradeLifecycle },
  rebootDrained: { oldest: "v1.13", argv: talosctl.rebootDrained },
};

/** Every talosctl argv the program can produce, for the CLI-reference contract test. */
export function allTalosctlInvocations(): Arg[][] {
  const a = "${NODE_ADDRESS}";
  return [
    talosctl.genSecrets(),
    talosctl.genMachineConfig(),
    talosctl.genTalosconfig(),
    talosctl.configEndpoint(),
    talosctl.configNode(),
    talosctl.validate(),
    talosctl.machineStageInsecure(a),
    talosctl.applyInsecure(a),
    talosctl.applyAuthenticated(a),
    talosctl.machineStatus(a),
    talosctl.applyDryRun(a),
    talosctl.etcdMembers(a),
    talosctl.etcdStatus(a),
    talosctl.bootstrap(a),
    talosctl.kubeconfig(a),
    talosctl.health(a),
    talosctl.healthWithWorkers(a),
    talosctl.safeReset(a),
    talosctl.safeReset(a, true),
    talosctl.staticPodVersions(a),
    talosctl.etcdForfeitLeadership(a),
    talosctl.etcdLeave(a),
    talosctl.etcdRemoveMember(a, "${MEMBER_ID}"),
    talosctl.volumeTypes(a),
    talosctl.versionJson(a),
    talosctl.extensions(a),
    talosctl.activeMachineConfig(a),
    talosctl.upgradeLegacy(a),
    talosctl.upgradeKubernetes(a),
  ];
}

/** The kube-apiserver of one control plane, by its own address (its certificate names it). */
const ownApiServer = (address: Arg): Arg[] => ["--kubeconfig", FILES.kubeconfig, "--server", `https://${address}:6443`];

export const kubectl = {
  readyz: (): Arg[] => ["--kubeconfig", FILES.kubeconfig, "get", "--raw", "/readyz"],
  /** The addressed control plane's own kube-apiserver is ready (not another one behind the endpoint). */
  readyzOf: (address: Arg): Arg[] => [...ownApiServer(address), "get", "--raw", "/readyz"],
  /**
   * The mirror pods of a control plane's static pods (`<pod>-<node name>`, with the static pod's
   * annotations: kubelet pkg/kubelet/pod/mirror_client.go), read from its own API server:
   * `<name> <config-version> <secrets-version> <Ready>` each.
   */
  mirrorPods: (address: Arg, nodeName: Arg): Arg[] => [
    ...ownApiServer(address),
    "get",
    "pods",
    "--namespace",
    "kube-system",
    `kube-apiserver-${nodeName}`,
    `kube-controller-manager-${nodeName}`,
    `kube-scheduler-${nodeName}`,
    "--output",
    'jsonpath={range .items[*]}{.metadata.name} {.metadata.annotations.talos\\.dev/config-version} {.metadata.annotations.talos\\.dev/secrets-version} {.status.conditions[?(@.type=="Ready")].status} {end}',
  ],
  nodeNames: (): Arg[] => ["--kubeconfig", FILES.kubeconfig, "get", "nodes", "-o", "name"],
  /** A leaving node: cordon, drain (DaemonSets stay, mirror pods are skipped by drain), delete. */
  cordon: (): Arg[] => ["--kubeconfig", FILES.kubeconfig, "cordon", "${NODE_HOSTNAME}"],
  drain: (): Arg[] => [
    "--kubeconfig",
    FILES.kubeconfig,
    "drain",
    "${NODE_HOSTNAME}",
    "--ignore-daemonsets",
    "--delete-emptydir-data",
    "--timeout=${DRAIN_SECONDS}s",
  ],
  deleteNode: (): Arg[] => [
    "--kubeconfig",
    FILES.kubeconfig,
    "delete",
    "node",
    "${NODE_HOSTNAME}",
    "--ignore-not-found",
    "--wait=false",
  ],
  /** `true` when the Node is cordoned (spec.unschedulable), empty otherwise. */
  nodeUnschedulable: (nodeName: Arg): Arg[] => [
    "--kubeconfig",
    FILES.kubeconfig,
    "get",
    "node",
    nodeName,
    "--output",
    "jsonpath={.spec.unschedulable}",
  ],
  /** `<node>=<Ready status>` (True, False, Unknown) of every registered Node, space-separated. */
  nodeReadiness: (): Arg[] => [
    "--kubeconfig",
    FILES.kubeconfig,
    "get",
    "nodes",
    "--output",
    'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}',
  ],
  /** `<node>=<kubelet version>` of every registered Node, space-separated. */
  kubeletVersions: (): Arg[] => [
    "--kubeconfig",
    FILES.kubeconfig,
    "get",
    "nodes",
    "--output",
    "jsonpath={range .items[*]}{.metadata.name}={.status.nodeInfo.kubeletVersion} {end}",
  ],
  /** One control plane's own kube-apiserver version (`/version`: JSON with gitVersion). */
  apiServerVersionOf: (address: Arg): Arg[] => [...ownApiServer(address), "get", "--raw", "/version"],
  /** One bounded attempt of a condition wait on one object (or `nodes --all`). */
  waitOnce: (): Arg[] => [
    "--kubeconfig",
    FILES.kubeconfig,
    "wait",
    "--for=condition=${COND}",
    "@{TARGET}",
    "--namespace",
    "${NS}",
    "--timeout=${ATTEMPT}s",
  ],
  conditionMessage: (): Arg[] => [
    "--kubeconfig",
    FILES.kubeconfig,
    "get",
    "${OBJ}",
    "--namespace",
    "${NS}",
    "-o",
    'jsonpath={.status.conditions[?(@.type=="${COND}")].message}',
  ],
};
