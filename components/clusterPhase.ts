import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { Plan, stepIds } from "../talos/plan";
import { kubeconfigCertExpiry } from "../talos/credentials";
import { createSteps, StepContext, stdoutOf } from "./steps";

export interface ClusterPhaseArgs {
  /** The plan; this phase creates its `cluster` steps. */
  readonly plan: Plan;
  /** Shared step context; needs `talos-secrets`, fills `kubeconfig` and the Kubernetes provider. */
  readonly context: StepContext;
}

/**
 * Phase 2: bootstrap etcd exactly once (protected), fetch the kubeconfig, wait until the API
 * answers through the VIP with every node registered. Builds the one explicit Kubernetes provider
 * later phases use, from this kubeconfig and only after that gate.
 */
export class ClusterPhase extends pulumi.ComponentResource {
  /** Admin kubeconfig (secret). */
  public readonly kubeconfig: pulumi.Output<string>;
  /** Expiry of the kubeconfig client certificate (not secret). */
  public readonly kubeconfigExpiry: pulumi.Output<string>;
  /** The explicit Kubernetes provider (never an ambient kubeconfig). */
  public readonly provider: k8s.Provider;
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
    this.provider = new k8s.Provider(
      `${name}-kubernetes`,
      {
        // Gated by data on the API being ready; unknown during a first preview, which is fine.
        kubeconfig: pulumi.secret(pulumi.all([this.kubeconfig, this.ready]).apply(([kc]) => kc)),
        enableServerSideApply: true,
      },
      { parent: this },
    );
    context.k8sProvider = this.provider;
    this.registerOutputs({ kubeconfig: this.kubeconfig, ready: this.ready });
  }
}
