/** The cni, secrets and gitops phases as steps. */
import { StackConfig } from "../config/types";
import { talosctl } from "../talos/talosctl";
import { ciliumRelease } from "../k8s/cilium";
import { CONNECT, EXTERNAL_SECRETS, FLUX } from "../k8s/names";
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
import { commandStep, kubeGate } from "./command";
import { helmMarker } from "../k8s/helmAdoption";
import { HelmStep, K8sObject, ObjectStep, Step, stepIds } from "./types";

/**
 * A Helm release step, marked as this stack's (its description) so that its create hook can
 * adopt it after a lost state (components/helmGuard.ts): no guard step, no `import`.
 */
function helmRelease(
  cfg: StackConfig,
  step: Omit<HelmStep, "kind" | "marker" | "dependsOn">,
  dependsOn: string[],
): HelmStep {
  return { ...step, kind: "helm", dependsOn, marker: helmMarker(cfg.stack, step.id) };
}

/** Where a change goes once Flux owns a handed-off resource. */
function inGitops(cfg: StackConfig, what: string): string {
  return `the GitOps repository (${cfg.gitops.url} ${cfg.gitops.branch}, ${cfg.gitops.path}): ${what}`;
}

/** What Flux re-owns after the gitops phase (ESO's HelmRelease, the Connect manifests). */
export const HANDED_OFF_STEPS = [
  "external-secrets",
  "connect-deployment",
  `service-${CONNECT.apiServiceName}`,
  `service-${CONNECT.syncServiceName}`,
] as const;

/**
 * The steps without those `operations.handedOffToFlux` says Flux owns: a step that depended on
 * one depends on what it depended on instead.
 */
export function withoutHandedOff(cfg: StackConfig, steps: Step[]): Step[] {
  if (!cfg.operations.handedOffToFlux) return steps;
  const gone = new Map<string, readonly string[]>(
    steps.filter((s) => (HANDED_OFF_STEPS as readonly string[]).includes(s.id)).map((s) => [s.id, s.dependsOn]),
  );
  const resolve = (id: string): string[] => (gone.has(id) ? gone.get(id)!.flatMap(resolve) : [id]);
  return steps
    .filter((s) => !gone.has(s.id))
    .map((s) => ({ ...s, dependsOn: [...new Set(s.dependsOn.flatMap(resolve))] }));
}

function objectStep(
  id: string,
  phase: ObjectStep["phase"],
  description: string,
  dependsOn: string[],
  object: K8sObject,
  secrets?: ObjectStep["secrets"],
  handOff?: ObjectStep["handOff"],
): ObjectStep {
  return { kind: "k8s", id, phase, description, dependsOn, object, secrets, retainOnDelete: true, handOff };
}

export function cniSteps(cfg: StackConfig): Step[] {
  const boot = cfg.nodes.find((n) => n.bootstrap)!;
  const addresses = (role: string) =>
    cfg.nodes
      .filter((n) => n.role === role)
      .map((n) => n.address)
      .join(",");
  return [
    helmRelease(
      cfg,
      {
        id: "cilium",
        phase: "cni",
        description: `Cilium ${cfg.cilium.version} (Helm release cilium in kube-system); owned by this program only`,
        release: ciliumRelease(cfg),
        retainOnDelete: true,
        timeoutSeconds: cfg.timeouts.health,
      },
      [stepIds.apiReady],
    ),
    kubeGate(cfg, {
      id: "nodes-ready",
      phase: "cni",
      description: "wait until every node is Ready",
      dependsOn: ["cilium"],
      waitFor: ["Ready::nodes"],
      timeout: "TIMEOUT_HEALTH",
    }),
    commandStep(cfg, {
      id: "talos-health",
      phase: "cni",
      description: "talosctl health (etcd, control plane, all nodes Ready)",
      dependsOn: ["nodes-ready"],
      script: "talos-health",
      env: {
        CLUSTER_NAME: cfg.cluster.name,
        CLUSTER_ENDPOINT: cfg.cluster.endpoint,
        BOOTSTRAP_ADDRESS: boot.address,
        HEALTH_CONTROL_PLANES: addresses("controlplane"),
        HEALTH_WORKERS: addresses("worker"),
      },
      stdinFrom: "talos-secrets",
      argv: talosctl.health("${BOOTSTRAP_ADDRESS}"),
    }),
  ];
}

export function secretsSteps(cfg: StackConfig): Step[] {
  const store = clusterSecretStore(cfg);
  const services = connectServices(cfg);
  return withoutHandedOff(cfg, [
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
      `Deployment ${CONNECT.deploymentName}; Flux takes it over`,
      ["connect-credentials", "connect-token"],
      connectDeployment(cfg),
      undefined,
      {
        changeIn: inGitops(cfg, `the Connect Deployment ${CONNECT.namespace}/${CONNECT.deploymentName}`),
        setting: { key: "homeops:connect.version", value: cfg.connect.version },
      },
    ),
    ...services.map((svc) =>
      objectStep(
        `service-${svc.metadata.name}`,
        "secrets",
        `Service ${svc.metadata.name}; Flux takes it over`,
        ["connect-namespace"],
        svc,
        undefined,
        { changeIn: inGitops(cfg, `the Connect Service ${CONNECT.namespace}/${svc.metadata.name}`) },
      ),
    ),
    objectStep(
      "eso-namespace",
      "secrets",
      `namespace ${EXTERNAL_SECRETS.namespace}`,
      ["talos-health"],
      externalSecretsNamespace(),
    ),
    helmRelease(
      cfg,
      {
        id: "external-secrets",
        phase: "secrets",
        description: `External Secrets ${cfg.externalSecrets.version} (Helm release ${EXTERNAL_SECRETS.releaseName} in ${EXTERNAL_SECRETS.namespace}); Flux takes it over`,
        release: externalSecretsRelease(cfg),
        retainOnDelete: true,
        timeoutSeconds: cfg.timeouts.storeReady,
        handOff: {
          changeIn: inGitops(cfg, `the HelmRelease ${EXTERNAL_SECRETS.namespace}/${EXTERNAL_SECRETS.releaseName}`),
          setting: { key: "homeops:externalSecrets.version", value: cfg.externalSecrets.version },
        },
      },
      ["eso-namespace"],
    ),
    kubeGate(cfg, {
      id: "eso-ready",
      phase: "secrets",
      description: "wait until the ESO CRDs are Established and its webhook is Available",
      dependsOn: ["external-secrets"],
      waitFor: [
        "Established::customresourcedefinition/clustersecretstores.external-secrets.io",
        `Available:${EXTERNAL_SECRETS.namespace}:deployment/${EXTERNAL_SECRETS.releaseName}-webhook`,
      ],
      timeout: "TIMEOUT_STORE_READY",
    }),
    objectStep(
      `cluster-secret-store`,
      "secrets",
      `ClusterSecretStore ${store.metadata.name}`,
      ["eso-ready", "connect-deployment", ...services.map((s) => `service-${s.metadata.name}`)],
      store,
    ),
    kubeGate(cfg, {
      id: "store-ready",
      phase: "secrets",
      description: `wait until ClusterSecretStore ${store.metadata.name} is Ready`,
      dependsOn: ["cluster-secret-store"],
      waitFor: [`Ready::clustersecretstore/${store.metadata.name}`],
      timeout: "TIMEOUT_STORE_READY",
    }),
  ]);
}

export function gitopsSteps(cfg: StackConfig): Step[] {
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
    helmRelease(
      cfg,
      {
        id: "flux-operator",
        phase: "gitops",
        description: `flux-operator ${cfg.flux.operatorVersion} (Helm release in ${FLUX.namespace})`,
        release: fluxOperatorRelease(cfg),
        retainOnDelete: true,
        timeoutSeconds: cfg.timeouts.fluxReady,
      },
      ["flux-namespace"],
    ),
    objectStep(
      "flux-instance",
      "gitops",
      `FluxInstance flux: Flux ${cfg.flux.version} syncing ${cfg.gitops.url} ${cfg.gitops.branch} ${cfg.gitops.path}`,
      instanceDeps,
      fluxInstance(cfg),
    ),
    kubeGate(cfg, {
      id: "flux-ready",
      phase: "gitops",
      description: "wait until the root Kustomization flux-system is Ready",
      dependsOn: ["flux-instance"],
      waitFor: [`Ready:${FLUX.namespace}:kustomization/${FLUX.namespace}`],
      timeout: "TIMEOUT_FLUX_READY",
    }),
  );
  return steps;
}
