/**
 * Flux through the flux-operator Helm chart plus one FluxInstance. The operator then creates the
 * root GitRepository and Kustomization `flux-system/flux-system` from the instance's sync settings,
 * the same names a `flux bootstrap` uses, without pushing commits or rotating deploy keys.
 */
import type { StackConfig } from "../config/types";
import { helmReleaseDescriptor } from "./helmRelease";
import type { HelmReleaseDescriptor, KubernetesObject } from "./kubernetesObject";
import { FLUX } from "./names";

/** The controllers a default `flux bootstrap` installs (no image automation). */
export const FLUX_COMPONENTS: readonly string[] = [
  "source-controller",
  "kustomize-controller",
  "helm-controller",
  "notification-controller",
];

export type GitCredentials =
  | { readonly kind: "ssh"; readonly identity: string; readonly identityPub: string; readonly knownHosts: string }
  | { readonly kind: "token"; readonly username: string; readonly password: string };

export function fluxNamespace(): KubernetesObject {
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: FLUX.namespace,
      // As Flux's own install manifests label it.
      labels: { "pod-security.kubernetes.io/warn": "restricted", "pod-security.kubernetes.io/warn-version": "latest" },
    },
  };
}

/** Chart defaults (CRDs included) suffice: the operator runs after Cilium, on pod networking. */
export function fluxOperatorValues(_cfg: StackConfig): Record<string, never> {
  return {};
}

export function fluxOperatorRelease(cfg: StackConfig): HelmReleaseDescriptor {
  return helmReleaseDescriptor({
    name: FLUX.operatorReleaseName,
    namespace: FLUX.namespace,
    chart: FLUX.operatorChart,
    source: cfg.charts.fluxOperator,
    version: cfg.flux.operatorVersion,
    values: fluxOperatorValues(cfg),
  });
}

/** Flux distribution version as FluxInstance wants it: "2.8.1" from the stack's "v2.8.1". */
export function fluxDistributionVersion(cfg: StackConfig): string {
  return cfg.flux.version.trim().replace(/^v(?=\d)/, "");
}

export function gitRef(cfg: StackConfig): string {
  return `refs/heads/${cfg.gitops.branch}`;
}

export function gitUsesCredentials(cfg: StackConfig): boolean {
  return cfg.gitops.auth !== "none";
}

/**
 * The FluxInstance's distribution: an exact version and the image registry, and deliberately no
 * `artifact`. Without it the operator builds Flux from the manifests baked into its image
 * (controlplaneio-fluxcd/flux-operator @ v0.33.0 : internal/controller/fluxinstance_controller.go
 * `fetch` returns the storage path /data, copied from config/data/), so the flux-operator chart
 * version alone decides which Flux versions exist, and config validation checks that pair offline
 * (compatibility.json "flux-operator-carries-flux"). With `artifact` the operator pulls
 * `oci://ghcr.io/controlplaneio-fluxcd/flux-operator-manifests` (tag `latest` unless one is named;
 * its tags are `<release>-<unix time>` retagged `latest`, .github/workflows/push-manifests.yaml) on
 * every reconcile and polls it every 10 minutes (fluxinstance_artifact_controller.go,
 * `reconcileArtifactEvery`), re-building when its digest changes; a failed pull marks the
 * instance Ready=False ArtifactFailed with no fallback to the embedded manifests (`fetch`, same
 * file; still so @ v0.58.1): what gets installed would depend on a mutable tag at reconcile time,
 * an air-gapped or registry-less moment stops reconciling, and from v0.54.0 the artifact cannot add
 * a Flux minor the image does not carry anyway (internal/builder/semver.go
 * `MatchVersionWithEmbedded`, commit 79a3905). A pinned exact version is `=` in MatchVersion: the
 * operator must carry exactly it ("2.6.x" would pick the newest 2.6 it carries, silently).
 */
export function fluxDistribution(cfg: StackConfig): { readonly version: string; readonly registry: string } {
  return { version: fluxDistributionVersion(cfg), registry: FLUX.registry };
}

export function fluxInstance(cfg: StackConfig): KubernetesObject {
  return {
    apiVersion: "fluxcd.controlplane.io/v1",
    kind: "FluxInstance",
    // The operator reconciles only an instance named "flux" in its own namespace.
    metadata: { name: FLUX.instanceName, namespace: FLUX.namespace },
    spec: {
      distribution: { ...fluxDistribution(cfg) },
      components: [...FLUX_COMPONENTS],
      cluster: { type: "kubernetes", networkPolicy: true, domain: cfg.cluster.dnsDomain },
      sync: {
        kind: "GitRepository",
        url: cfg.gitops.url,
        ref: gitRef(cfg),
        path: cfg.gitops.path,
        ...(gitUsesCredentials(cfg) ? { pullSecret: FLUX.gitCredentialsSecretName } : {}),
      },
    },
  };
}

/** Secret `flux-system/flux-system` with the keys source-controller reads for SSH or HTTPS auth. */
export function gitCredentialsSecret(cfg: StackConfig, creds: GitCredentials): KubernetesObject {
  if (cfg.gitops.auth === "none") {
    throw new Error(`gitops.auth is "none": a public repository needs no git credentials Secret`);
  }
  if (cfg.gitops.auth !== creds.kind) {
    throw new Error(
      `gitops.auth is "${cfg.gitops.auth}" but ${creds.kind} credentials were given; set gitops.auth to "${creds.kind}" or supply ${cfg.gitops.auth} credentials`,
    );
  }
  const stringData =
    creds.kind === "ssh"
      ? { identity: creds.identity, "identity.pub": creds.identityPub, known_hosts: creds.knownHosts }
      : { username: creds.username, password: creds.password };
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: FLUX.gitCredentialsSecretName, namespace: FLUX.namespace },
    type: "Opaque",
    stringData,
  };
}

/**
 * The root GitRepository and Kustomization the operator derives from the FluxInstance sync settings
 * (bootstrap defaults: 1m0s / 10m0s, prune). Not applied by this program: used to prove the sync
 * settings form valid Flux objects.
 */
export function fluxRootObjectsForValidation(cfg: StackConfig): [KubernetesObject, KubernetesObject] {
  const gitRepository: KubernetesObject = {
    apiVersion: "source.toolkit.fluxcd.io/v1",
    kind: "GitRepository",
    metadata: { name: FLUX.rootObjectName, namespace: FLUX.namespace },
    spec: {
      interval: "1m0s",
      url: cfg.gitops.url,
      ref: { name: gitRef(cfg) },
      ...(gitUsesCredentials(cfg) ? { secretRef: { name: FLUX.gitCredentialsSecretName } } : {}),
    },
  };
  const kustomization: KubernetesObject = {
    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
    kind: "Kustomization",
    metadata: { name: FLUX.rootObjectName, namespace: FLUX.namespace },
    spec: {
      interval: "10m0s",
      path: cfg.gitops.path,
      prune: true,
      sourceRef: { kind: "GitRepository", name: FLUX.rootObjectName },
    },
  };
  return [gitRepository, kustomization];
}
