/**
 * The whole stack as an ordered list of steps: a pure function of the validated config. The
 * components turn each step into one resource (a command, a Helm release, a Kubernetes object, a
 * 1Password read), the offline renderer writes it as plan.json, and the simulated-execution tests
 * run the command steps against fake executables in this order. One source for all three.
 */
import { createHash } from "crypto";
import { NodeConfig, Phase, PHASES, StackConfig } from "../config/types";
import { installerImage, schematicId, schematicYaml } from "./schematic";
import { renderNodePatchYaml } from "./machineconfig";
import * as scripts from "./scripts";
import { Arg, displayArgv } from "./shell";
import { talosctl } from "./talosctl";
import { ciliumRelease } from "../k8s/cilium";
import { CONNECT, EXTERNAL_SECRETS, FLUX } from "../k8s/names";
import { HelmReleaseDescriptor, KubernetesObject } from "../k8s/kubernetesObject";
import {
  connectNamespace,
  connectCredentialsSecret,
  connectTokenSecret,
  connectDeployment,
  connectServices,
} from "../k8s/connect";
import { externalSecretsNamespace, externalSecretsRelease, clusterSecretStore } from "../k8s/externalSecrets";
import { fluxNamespace, fluxOperatorRelease, fluxInstance, gitCredentialsSecret } from "../k8s/flux";
import { SECRET_MARKER } from "../k8s/manifests";

export type K8sObject = KubernetesObject;

/** Where a secret comes from at apply time. */
export type SecretSource = "talos-secrets" | "kubeconfig" | "connect-credentials" | "connect-token" | "git-credentials";

interface StepBase {
  /** Stable, unique id; also the suffix of the resource name. */
  readonly id: string;
  readonly phase: Phase;
  /** Hostname, for per-node steps. */
  readonly node?: string;
  readonly description: string;
  readonly dependsOn: readonly string[];
}

export interface CommandStep extends StepBase {
  readonly kind: "command";
  readonly script: string;
  /** Non-secret parameters. */
  readonly env: Readonly<Record<string, string>>;
  /** Environment keys that must not re-run the step when they change (waits, not config). */
  readonly envIgnoredForChanges: readonly string[];
  /** Run once, never again on input changes (the bundle: its inputs matter only for the mint). */
  readonly runOnce: boolean;
  /** Secret the script reads on stdin (the stdout of another step). */
  readonly stdinFrom?: "talos-secrets" | "kubeconfig";
  /** stdout is a secret (bundle, talosconfig, kubeconfig). */
  readonly secretStdout: boolean;
  /** Needs the 1Password CLI credentials in its environment. */
  readonly onePasswordAuth: boolean;
  readonly deleteScript?: string;
  /** Protect the resource (bundle, bootstrap). */
  readonly protect: boolean;
  /** The main talosctl invocation as a human reads it (no secrets). */
  readonly argv?: readonly string[];
  /** Hash of the normalised inputs that define this step's effect (per-node apply). */
  readonly configHash?: string;
}

export interface HelmStep extends StepBase {
  readonly kind: "helm";
  /** Chart, repository, version and values, as the offline render shows them. */
  readonly release: HelmReleaseDescriptor;
  /** Kept on `pulumi destroy` (Flux adopts it, or it is the cluster's network). */
  readonly retainOnDelete: boolean;
}

export interface ObjectStep extends StepBase {
  readonly kind: "k8s";
  /** The object; secret values are the SECRET_MARKER, filled at apply time from `secrets`. */
  readonly object: K8sObject;
  /** stringData key -> where its secret value comes from. */
  readonly secrets?: Readonly<Record<string, SecretSource | `git-credentials:${string}`>>;
  readonly retainOnDelete: boolean;
}

export interface ReadStep extends StepBase {
  readonly kind: "1password";
  readonly item: string;
  readonly provides: SecretSource;
}

export type Step = CommandStep | HelmStep | ObjectStep | ReadStep;

export interface Plan {
  readonly stack: string;
  readonly schematicId: string;
  readonly installerImage: string;
  readonly phases: readonly Phase[];
  readonly steps: readonly Step[];
}

/** Phases that `stopAfter` lets run, in order. */
export function activePhases(cfg: StackConfig): Phase[] {
  return PHASES.slice(0, PHASES.indexOf(cfg.stopAfter) + 1);
}

export const stepIds = {
  secrets: "talos-secrets",
  schematic: "schematic",
  talosconfig: "talosconfig",
  apply: (hostname: string) => `apply-${hostname}`,
  bootstrap: "bootstrap",
  kubeconfig: "kubeconfig",
  apiReady: "api-ready",
};

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The normalised inputs that define what a node runs; its hash drives re-apply. */
export function nodeConfigInputs(cfg: StackConfig, node: NodeConfig): Record<string, string> {
  return {
    CLUSTER_NAME: cfg.cluster.name,
    CLUSTER_ENDPOINT: cfg.cluster.endpoint,
    CLUSTER_VIP: cfg.cluster.vip,
    DNS_DOMAIN: cfg.cluster.dnsDomain,
    KUBERNETES_VERSION: cfg.kubernetes.version.replace(/^v/, ""),
    TALOS_MINOR: cfg.talos.minor,
    INSTALL_IMAGE: installerImage(cfg),
    NODE_ROLE: node.role,
    NODE_HOSTNAME: node.hostname,
    NODE_ADDRESS: node.address,
    NODE_PATCH: renderNodePatchYaml(cfg, node),
  };
}

export function nodeConfigHash(cfg: StackConfig, node: NodeConfig): string {
  const inputs = nodeConfigInputs(cfg, node);
  return sha256(
    JSON.stringify(
      Object.keys(inputs)
        .sort()
        .map((k) => [k, inputs[k]]),
    ),
  );
}

function common(cfg: StackConfig, id: string): Record<string, string> {
  return {
    STEP_ID: id,
    TALOSCTL: cfg.talos.talosctl,
    KUBECTL: "kubectl",
    POLL_SECONDS: String(cfg.timeouts.poll),
  };
}

/** Env keys that tune waits; changing them must not re-run anything. */
const WAIT_KEYS = [
  "POLL_SECONDS",
  "NODE_TIMEOUT",
  "API_TIMEOUT",
  "HEALTH_TIMEOUT",
  "WAIT_TIMEOUT",
  "TALOSCTL",
  "KUBECTL",
];

function command(
  cfg: StackConfig,
  s: Omit<
    CommandStep,
    "kind" | "env" | "envIgnoredForChanges" | "argv" | "secretStdout" | "onePasswordAuth" | "protect" | "runOnce"
  > & {
    runOnce?: boolean;
    env: Record<string, string>;
    argv?: Arg[];
    secretStdout?: boolean;
    onePasswordAuth?: boolean;
    protect?: boolean;
  },
): CommandStep {
  const env = { ...common(cfg, s.id), ...s.env };
  return {
    ...s,
    kind: "command",
    env,
    envIgnoredForChanges: WAIT_KEYS.filter((k) => k in env),
    argv: s.argv ? ["talosctl", ...displayArgv(s.argv, env)] : undefined,
    secretStdout: s.secretStdout ?? false,
    onePasswordAuth: s.onePasswordAuth ?? false,
    protect: s.protect ?? false,
    runOnce: s.runOnce ?? false,
  };
}

function talosSteps(cfg: StackConfig): Step[] {
  const controlPlanes = cfg.nodes.filter((n) => n.role === "controlplane");
  const steps: Step[] = [
    command(cfg, {
      id: stepIds.secrets,
      phase: "talos",
      description: `Talos secrets bundle from 1Password '${cfg.onepassword.talosSecretsItem}' (minted once if absent and no node is configured)`,
      dependsOn: [],
      script: scripts.secretsBundleScript,
      env: {
        OP_VAULT: cfg.onepassword.vault,
        OP_ITEM: cfg.onepassword.talosSecretsItem,
        OP_FIELD: cfg.onepassword.talosSecretsField,
        NODE_ADDRESSES: cfg.nodes.map((n) => n.address).join(" "),
      },
      secretStdout: true,
      onePasswordAuth: true,
      protect: true,
      runOnce: true,
      argv: talosctl.genSecrets(),
    }),
    command(cfg, {
      id: stepIds.schematic,
      phase: "talos",
      description: `register schematic ${schematicId(cfg)} with Image Factory (extensions and kernel args of the installer image)`,
      dependsOn: [],
      script: scripts.registerSchematicScript,
      env: {
        SCHEMATIC_YAML: schematicYaml(cfg),
        SCHEMATIC_ID: schematicId(cfg),
        IMAGE_FACTORY: "https://factory.talos.dev",
        FACTORY_TIMEOUT: String(cfg.timeouts.apiReady),
        CURL: "curl",
      },
    }),
    command(cfg, {
      id: stepIds.talosconfig,
      phase: "talos",
      description: "talosconfig for the operator (secret output)",
      dependsOn: [stepIds.secrets],
      script: scripts.talosconfigScript,
      env: {
        CLUSTER_NAME: cfg.cluster.name,
        CLUSTER_ENDPOINT: cfg.cluster.endpoint,
        TALOS_ENDPOINTS: controlPlanes.map((n) => n.address).join(" "),
        TALOS_NODES: controlPlanes.map((n) => n.address).join(" "),
      },
      stdinFrom: "talos-secrets",
      secretStdout: true,
      argv: talosctl.genTalosconfig(),
    }),
  ];
  for (const node of cfg.nodes) {
    const inputs = nodeConfigInputs(cfg, node);
    const configHash = nodeConfigHash(cfg, node);
    steps.push(
      command(cfg, {
        id: stepIds.apply(node.hostname),
        phase: "talos",
        node: node.hostname,
        description: `configure ${node.hostname} (${node.address}): generate, validate, apply, wait until running`,
        dependsOn: [stepIds.secrets, stepIds.schematic],
        script: scripts.applyNodeScript,
        deleteScript: scripts.nodeDeleteScript,
        env: {
          ...inputs,
          CONFIG_SHA256: configHash,
          NODE_TIMEOUT: String(cfg.timeouts.nodeReady),
          RESET_ON_DESTROY: cfg.operations.resetOnDestroy.includes(node.hostname) ? "yes" : "no",
        },
        stdinFrom: "talos-secrets",
        configHash,
        argv: talosctl.applyAuthenticated("${NODE_ADDRESS}"),
      }),
    );
  }
  return steps;
}

function clusterSteps(cfg: StackConfig): Step[] {
  const boot = cfg.nodes.find((n) => n.bootstrap);
  if (!boot) throw new Error("no bootstrap node (config validation should have caught this)");
  const bootEnv = {
    CLUSTER_NAME: cfg.cluster.name,
    CLUSTER_ENDPOINT: cfg.cluster.endpoint,
    BOOTSTRAP_HOSTNAME: boot.hostname,
    BOOTSTRAP_ADDRESS: boot.address,
    API_TIMEOUT: String(cfg.timeouts.apiReady),
  };
  const applies = cfg.nodes.map((n) => stepIds.apply(n.hostname));
  return [
    command(cfg, {
      id: stepIds.bootstrap,
      phase: "cluster",
      node: boot.hostname,
      description: `bootstrap etcd on ${boot.hostname}, once for the cluster's life`,
      dependsOn: applies,
      script: scripts.bootstrapScript,
      env: bootEnv,
      stdinFrom: "talos-secrets",
      protect: true,
      argv: talosctl.bootstrap("${BOOTSTRAP_ADDRESS}"),
    }),
    command(cfg, {
      id: stepIds.kubeconfig,
      phase: "cluster",
      node: boot.hostname,
      description: "fetch the admin kubeconfig (secret output)",
      dependsOn: [stepIds.bootstrap],
      script: scripts.kubeconfigScript,
      env: bootEnv,
      stdinFrom: "talos-secrets",
      secretStdout: true,
      argv: talosctl.kubeconfig("${BOOTSTRAP_ADDRESS}"),
    }),
    command(cfg, {
      id: stepIds.apiReady,
      phase: "cluster",
      description: `wait until the API answers through ${cfg.cluster.endpoint} and every node registered`,
      dependsOn: [stepIds.kubeconfig],
      script: scripts.apiReadyScript,
      env: {
        CLUSTER_ENDPOINT: cfg.cluster.endpoint,
        EXPECTED_NODES: cfg.nodes.map((n) => n.hostname).join(" "),
        API_TIMEOUT: String(cfg.timeouts.apiReady),
      },
      stdinFrom: "kubeconfig",
    }),
  ];
}

function kubeGate(
  cfg: StackConfig,
  id: string,
  phase: Phase,
  description: string,
  dependsOn: string[],
  waitFor: string[],
  timeout: number,
): CommandStep {
  return command(cfg, {
    id,
    phase,
    description,
    dependsOn,
    script: scripts.kubeWaitScript,
    env: { GATE_NAME: id, WAIT_FOR: waitFor.join(" "), WAIT_TIMEOUT: String(timeout) },
    stdinFrom: "kubeconfig",
  });
}

function cniSteps(cfg: StackConfig): Step[] {
  const boot = cfg.nodes.find((n) => n.bootstrap)!;
  const addresses = (role: string) =>
    cfg.nodes
      .filter((n) => n.role === role)
      .map((n) => n.address)
      .join(",");
  return [
    {
      kind: "helm",
      id: "cilium",
      phase: "cni",
      description: `Cilium ${cfg.cilium.version} (Helm release cilium in kube-system); owned by this program only`,
      dependsOn: [stepIds.apiReady],
      release: ciliumRelease(cfg),
      retainOnDelete: true,
    },
    kubeGate(
      cfg,
      "nodes-ready",
      "cni",
      "wait until every node is Ready",
      ["cilium"],
      ["Ready::nodes"],
      cfg.timeouts.health,
    ),
    command(cfg, {
      id: "talos-health",
      phase: "cni",
      description: "talosctl health (etcd, control plane, kubelet, all nodes Ready)",
      dependsOn: ["nodes-ready"],
      script: scripts.talosHealthScript,
      env: {
        CLUSTER_NAME: cfg.cluster.name,
        CLUSTER_ENDPOINT: cfg.cluster.endpoint,
        BOOTSTRAP_ADDRESS: boot.address,
        CONTROL_PLANE_ADDRESSES: addresses("controlplane"),
        WORKER_ADDRESSES: addresses("worker"),
        HEALTH_TIMEOUT: String(cfg.timeouts.health),
      },
      stdinFrom: "talos-secrets",
      argv: talosctl.health("${BOOTSTRAP_ADDRESS}"),
    }),
  ];
}

function objectStep(
  id: string,
  phase: Phase,
  description: string,
  dependsOn: string[],
  object: K8sObject,
  secrets?: ObjectStep["secrets"],
): ObjectStep {
  return { kind: "k8s", id, phase, description, dependsOn, object, secrets, retainOnDelete: true };
}

function secretsSteps(cfg: StackConfig): Step[] {
  const store = clusterSecretStore(cfg);
  const services = connectServices(cfg);
  return [
    {
      kind: "1password",
      id: "read-connect-credentials",
      phase: "secrets",
      description: "read the Connect credentials (version 2) from 1Password",
      dependsOn: [],
      item: cfg.onepassword.connectCredentialsItem,
      provides: "connect-credentials",
    },
    {
      kind: "1password",
      id: "read-connect-token",
      phase: "secrets",
      description: "read the Connect token from 1Password",
      dependsOn: [],
      item: cfg.onepassword.connectTokenItem,
      provides: "connect-token",
    },
    objectStep("connect-namespace", "secrets", `namespace ${CONNECT.namespace}`, ["talos-health"], connectNamespace()),
    objectStep(
      "connect-credentials",
      "secrets",
      `Secret ${CONNECT.credentialsSecretName}`,
      ["connect-namespace", "read-connect-credentials"],
      connectCredentialsSecret(SECRET_MARKER),
      { [CONNECT.credentialsSecretKey]: "connect-credentials" },
    ),
    objectStep(
      "connect-token",
      "secrets",
      `Secret ${CONNECT.tokenSecretName}`,
      ["connect-namespace", "read-connect-token"],
      connectTokenSecret(SECRET_MARKER),
      { [CONNECT.tokenSecretKey]: "connect-token" },
    ),
    objectStep(
      "connect-deployment",
      "secrets",
      `Deployment ${CONNECT.deploymentName}`,
      ["connect-credentials", "connect-token"],
      connectDeployment(cfg),
    ),
    ...services.map((svc) =>
      objectStep(`service-${svc.metadata.name}`, "secrets", `Service ${svc.metadata.name}`, ["connect-namespace"], svc),
    ),
    objectStep(
      "eso-namespace",
      "secrets",
      `namespace ${EXTERNAL_SECRETS.namespace}`,
      ["talos-health"],
      externalSecretsNamespace(),
    ),
    {
      kind: "helm",
      id: "external-secrets",
      phase: "secrets",
      description: `External Secrets ${cfg.externalSecrets.version} (Helm release ${EXTERNAL_SECRETS.releaseName} in ${EXTERNAL_SECRETS.namespace}); Flux adopts it`,
      dependsOn: ["eso-namespace"],
      release: externalSecretsRelease(cfg),
      retainOnDelete: true,
    },
    kubeGate(
      cfg,
      "eso-ready",
      "secrets",
      "wait until the ESO CRDs are Established and its webhook is Available",
      ["external-secrets"],
      [
        "Established::customresourcedefinition/clustersecretstores.external-secrets.io",
        `Available:${EXTERNAL_SECRETS.namespace}:deployment/${EXTERNAL_SECRETS.releaseName}-webhook`,
      ],
      cfg.timeouts.storeReady,
    ),
    objectStep(
      `cluster-secret-store`,
      "secrets",
      `ClusterSecretStore ${store.metadata.name}`,
      ["eso-ready", "connect-deployment", ...services.map((s) => `service-${s.metadata.name}`)],
      store,
    ),
    kubeGate(
      cfg,
      "store-ready",
      "secrets",
      `wait until ClusterSecretStore ${store.metadata.name} is Ready`,
      ["cluster-secret-store"],
      [`Ready::clustersecretstore/${store.metadata.name}`],
      cfg.timeouts.storeReady,
    ),
  ];
}

function gitopsSteps(cfg: StackConfig): Step[] {
  const steps: Step[] = [
    objectStep("flux-namespace", "gitops", `namespace ${FLUX.namespace}`, ["store-ready"], fluxNamespace()),
  ];
  const instanceDeps = ["flux-operator"];
  if (cfg.gitops.auth !== "none") {
    const placeholder =
      cfg.gitops.auth === "ssh"
        ? { kind: "ssh" as const, identity: SECRET_MARKER, identityPub: SECRET_MARKER, knownHosts: SECRET_MARKER }
        : { kind: "token" as const, username: SECRET_MARKER, password: SECRET_MARKER };
    const secret = gitCredentialsSecret(cfg, placeholder);
    const keys = Object.keys((secret.stringData as Record<string, string>) ?? {});
    steps.push(
      {
        kind: "1password",
        id: "read-git-credentials",
        phase: "gitops",
        description: `read the Git ${cfg.gitops.auth} credentials from 1Password`,
        dependsOn: [],
        item: cfg.gitops.credentialsItem ?? "",
        provides: "git-credentials",
      },
      objectStep(
        "git-credentials",
        "gitops",
        `Secret ${FLUX.namespace}/${secret.metadata.name}`,
        ["flux-namespace", "read-git-credentials"],
        secret,
        Object.fromEntries(keys.map((k) => [k, `git-credentials:${k}` as const])),
      ),
    );
    instanceDeps.push("git-credentials");
  }
  steps.push(
    {
      kind: "helm",
      id: "flux-operator",
      phase: "gitops",
      description: `flux-operator ${cfg.flux.operatorVersion} (Helm release in ${FLUX.namespace})`,
      dependsOn: ["flux-namespace"],
      release: fluxOperatorRelease(cfg),
      retainOnDelete: true,
    },
    objectStep(
      "flux-instance",
      "gitops",
      `FluxInstance flux: Flux ${cfg.flux.version} syncing ${cfg.gitops.url} ${cfg.gitops.branch} ${cfg.gitops.path}`,
      instanceDeps,
      fluxInstance(cfg),
    ),
    kubeGate(
      cfg,
      "flux-ready",
      "gitops",
      "wait until the root Kustomization flux-system is Ready",
      ["flux-instance"],
      [`Ready:${FLUX.namespace}:kustomization/${FLUX.namespace}`],
      cfg.timeouts.fluxReady,
    ),
  );
  return steps;
}

const PHASE_STEPS: Record<Phase, (cfg: StackConfig) => Step[]> = {
  talos: talosSteps,
  cluster: clusterSteps,
  cni: cniSteps,
  secrets: secretsSteps,
  gitops: gitopsSteps,
};

/** The plan of a validated config: steps of the active phases in dependency order. */
export function buildPlan(cfg: StackConfig): Plan {
  const phases = activePhases(cfg);
  const steps = phases.flatMap((p) => PHASE_STEPS[p](cfg));
  assertOrdered(steps);
  return { stack: cfg.stack, schematicId: schematicId(cfg), installerImage: installerImage(cfg), phases, steps };
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

/** The step whose stdout feeds a stdin source. */
export const STDIN_PRODUCER: Record<NonNullable<CommandStep["stdinFrom"]>, string> = {
  "talos-secrets": stepIds.secrets,
  kubeconfig: stepIds.kubeconfig,
};
