/**
 * Hand-off names between this program and the GitOps repository. Flux later re-owns what these
 * name (ESO's HelmRelease, the Connect manifests, its own root objects), so every value here must
 * match the GitOps side exactly: a rename orphans a resource or, for immutable fields such as the
 * Deployment selector, makes Flux's apply fail.
 */

export const CILIUM = {
  releaseName: "cilium",
  namespace: "kube-system",
  /** The chart and its official source (`homeops:charts.cilium` replaces the source). */
  chart: { name: "cilium", source: "https://helm.cilium.io/" },
} as const;

export const CONNECT = {
  namespace: "onepassword-connect",
  credentialsSecretName: "onepassword-connect-credentials",
  credentialsSecretKey: "1password-credentials.json",
  tokenSecretName: "onepassword-connect-token",
  tokenSecretKey: "token",
  deploymentName: "onepassword-connect",
  /** The Deployment's selector; immutable once created. */
  selectorLabels: { app: "onepassword-connect" } as Readonly<Record<string, string>>,
  apiServiceName: "onepassword-connect",
  apiPort: 8080,
  syncServiceName: "onepassword-connect-sync",
  syncPort: 8081,
  apiImage: "1password/connect-api",
  syncImage: "1password/connect-sync",
} as const;

export const EXTERNAL_SECRETS = {
  releaseName: "external-secrets",
  namespace: "external-secrets-system",
  /** The chart and its official source (`homeops:charts.externalSecrets` replaces the source). */
  chart: { name: "external-secrets", source: "https://charts.external-secrets.io" },
  clusterSecretStoreName: "onepassword-connect",
} as const;

export const FLUX = {
  namespace: "flux-system",
  operatorReleaseName: "flux-operator",
  /**
   * The chart and its official source, an OCI registry: Helm takes the full `oci://…/<chart>` URL
   * as the chart, no repo (`homeops:charts.fluxOperator` replaces the source).
   */
  operatorChart: { name: "flux-operator", source: "oci://ghcr.io/controlplaneio-fluxcd/charts" },
  /** The operator only reconciles a FluxInstance of this name, in its own namespace. */
  instanceName: "flux",
  /** The operator names the root GitRepository/Kustomization after the namespace. */
  rootObjectName: "flux-system",
  gitCredentialsSecretName: "flux-system",
  registry: "ghcr.io/fluxcd",
} as const;

/** In-cluster URL of the Connect API, as External Secrets reaches it. */
export function connectApiUrl(dnsDomain = "cluster.local"): string {
  return `http://${CONNECT.apiServiceName}.${CONNECT.namespace}.svc.${dnsDomain}:${CONNECT.apiPort}`;
}
