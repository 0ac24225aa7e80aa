/**
 * External Secrets Operator (Helm release, later adopted by Flux as a HelmRelease of the same name
 * and namespace) and the ClusterSecretStore that reads 1Password through Connect.
 */
import type { StackConfig } from "../config/types";
import { helmReleaseDescriptor } from "./helmRelease";
import type { HelmReleaseDescriptor, KubernetesObject } from "./kubernetesObject";
import { CONNECT, EXTERNAL_SECRETS, connectApiUrl } from "./names";

/** A type alias (not an interface) so it is assignable to `Record<string, unknown>`. */
export type ExternalSecretsValues = {
  readonly installCRDs: boolean;
  readonly webhook: { readonly create: boolean };
  readonly certController: { readonly create: boolean };
};

/** Chart defaults for replicas and resources; CRDs, webhook and cert controller explicitly on. */
export function externalSecretsValues(_cfg: StackConfig): ExternalSecretsValues {
  return {
    installCRDs: true,
    webhook: { create: true },
    // The webhook's serving certificate comes from the cert controller.
    certController: { create: true },
  };
}

export function externalSecretsRelease(cfg: StackConfig): HelmReleaseDescriptor {
  return helmReleaseDescriptor({
    name: EXTERNAL_SECRETS.releaseName,
    namespace: EXTERNAL_SECRETS.namespace,
    chart: EXTERNAL_SECRETS.chart,
    source: cfg.charts.externalSecrets,
    version: cfg.externalSecrets.version,
    values: externalSecretsValues(cfg),
  });
}

export function externalSecretsNamespace(): KubernetesObject {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name: EXTERNAL_SECRETS.namespace } };
}

/** `external-secrets.io/v1` ClusterSecretStore reading the stack's vault through Connect. */
export function clusterSecretStore(cfg: StackConfig): KubernetesObject {
  return {
    apiVersion: "external-secrets.io/v1",
    kind: "ClusterSecretStore",
    metadata: { name: EXTERNAL_SECRETS.clusterSecretStoreName },
    spec: {
      provider: {
        onepassword: {
          connectHost: connectApiUrl(cfg.cluster.dnsDomain),
          // Vault name → search priority (1 = first).
          vaults: { [cfg.onepassword.vault]: 1 },
          auth: {
            secretRef: {
              connectTokenSecretRef: {
                name: CONNECT.tokenSecretName,
                key: CONNECT.tokenSecretKey,
                // Required for a ClusterSecretStore: the token lives in Connect's namespace.
                namespace: CONNECT.namespace,
              },
            },
          },
        },
      },
    },
  };
}
