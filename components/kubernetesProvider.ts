/** The one explicit Kubernetes provider of the stack (never an ambient kubeconfig). */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { StackConfig } from "../config/types";

export interface KubernetesProviderArgs {
  readonly config: StackConfig;
  /** The admin kubeconfig (secret). */
  readonly kubeconfig: pulumi.Output<string>;
  /** Resolves once the API answers and every node registered: the provider waits for it. */
  readonly apiReady: pulumi.Output<string>;
}

/**
 * Every input is set explicitly, so PULUMI_K8S_* or KUBECONFIG in the operator's shell cannot
 * change the provider's inputs (the SDK fills unset ones from the environment:
 * @pulumi/kubernetes provider.js) and so cause a diff or a different cluster.
 * - clusterIdentifier: the kubeconfig is a command's stdout, unknown in a preview whenever that
 *   command updates; without a stable identifier pulumi-kubernetes' DiffConfig then plans the
 *   provider, and with it every Kubernetes resource, for replacement (provider/pkg/provider/
 *   provider.go). The cluster name identifies the cluster.
 * - upsertExistingObjects: from v4.29 a create of an object that already exists fails with
 *   AlreadyExists unless this is set (provider/pkg/await/await.go, v4.32.0); after lost state, a
 *   retained destroy or an interrupted create the objects exist, and server-side apply adopts them.
 */
export function kubernetesProviderArgs(args: KubernetesProviderArgs): k8s.ProviderArgs {
  return {
    kubeconfig: pulumi.secret(pulumi.all([args.kubeconfig, args.apiReady]).apply(([kc]) => kc)),
    clusterIdentifier: args.config.cluster.name,
    enableServerSideApply: true,
    upsertExistingObjects: true,
    enablePatchForce: false,
    deleteUnreachable: false,
    skipUpdateUnreachable: false,
    enableConfigMapMutable: false,
    enableSecretMutable: false,
    suppressDeprecationWarnings: false,
    suppressHelmHookWarnings: false,
  };
}
