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
 * - upsertExistingObjects is not set: @pulumi/kubernetes 4.25.0 (the pinned provider) has no such
 *   input. Its provider creates with server-side apply as a PATCH, never a POST, so a create of an
 *   object that already exists (after lost state, a retained destroy or an interrupted create)
 *   adopts it (provider/pkg/await/await.go at v4.25.0); from v4.29 that needs the input.
 * - enablePatchForce is not set either: 4.25.0 has no such input. Its provider forces a conflicting
 *   apply only for the pulumi.com/patchForce annotation (unused here) or when the provider's own
 *   environment has PULUMI_K8S_ENABLE_PATCH_FORCE (patchForce in provider/pkg/await/await.go at
 *   v4.25.0), which no input can override.
 */
export function kubernetesProviderArgs(args: KubernetesProviderArgs): k8s.ProviderArgs {
  return {
    kubeconfig: pulumi.secret(pulumi.all([args.kubeconfig, args.apiReady]).apply(([kc]) => kc)),
    clusterIdentifier: args.config.cluster.name,
    enableServerSideApply: true,
    deleteUnreachable: false,
    skipUpdateUnreachable: false,
    enableConfigMapMutable: false,
    enableSecretMutable: false,
    suppressDeprecationWarnings: false,
    suppressHelmHookWarnings: false,
  };
}
