import * as pulumi from "@pulumi/pulumi";
import { Plan, stepIds } from "../plan";
import { kubeconfigCertExpiry } from "../talos/credentials";
import { createSteps, StepContext, stdoutOf } from "./steps";

export interface ClusterPhaseArgs {
  /** The plan; this phase creates its `cluster` steps. */
  readonly plan: Plan;
  /** Shared step context; needs `talos-secrets`, fills `kubeconfig`. */
  readonly context: StepContext;
}

/**
 * Phase 2: bootstrap etcd once for the cluster's life (only when no control plane's etcd serves
 * members), fetch the kubeconfig, wait until the API answers through the VIP with every node
 * registered. Registers no Kubernetes provider: the cni phase does, so a stack that stops here
 * needs no Kubernetes plugin.
 */
export class ClusterPhase extends pulumi.ComponentResource {
  /** Admin kubeconfig (secret). */
  public readonly kubeconfig: pulumi.Output<string>;
  /** Expiry of the kubeconfig client certificate (not secret). */
  public readonly kubeconfigExpiry: pulumi.Output<string>;
  /** Resolves once the API is ready and all nodes registered. */
  public readonly ready: pulumi.Output<string>;

  constructor(name: string, args: ClusterPhaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("homeops:cluster:ClusterPhase", name, {}, opts);
    const { plan, context } = args;
    const steps = plan.steps.filter((s) => s.phase === "cluster");
    const kubeconfigIndex = steps.findIndex((s) => s.id === stepIds.kubeconfig);
    createSteps(this, name, steps.slice(0, kubeconfigIndex + 1), context);
    this.kubeconfig = pulumi.secret(stdoutOf(context, stepIds.kubeconfig));
    context.stdin.kubeconfig = this.kubeconfig;
    createSteps(this, name, steps.slice(kubeconfigIndex + 1), context);

    this.ready = stdoutOf(context, stepIds.apiReady);
    this.kubeconfigExpiry = pulumi.unsecret(this.kubeconfig.apply(kubeconfigCertExpiry));
    this.registerOutputs({ kubeconfig: this.kubeconfig, ready: this.ready });
  }
}
