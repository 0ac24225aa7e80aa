import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { StackConfig } from "../config/types";
import { Plan } from "../plan";
import { createSteps, StepContext, stdoutOf } from "./steps";
import { kubernetesProviderArgs } from "./kubernetesProvider";

export interface CniPhaseArgs {
  /** The validated stack config. */
  readonly config: StackConfig;
  /** The plan; this phase creates its `cni` steps. */
  readonly plan: Plan;
  /** Shared step context (kubeconfig, API gate, talos-secrets); this phase sets the provider. */
  readonly context: StepContext;
  /** Resolves once the API is ready (the cluster phase's gate). */
  readonly apiReady: pulumi.Output<string>;
  /** Earlier identities of the Kubernetes provider (it used to belong to the cluster phase). */
  readonly providerAliases?: pulumi.Input<pulumi.Alias>[];
}

/**
 * Phase 3: the stack's Kubernetes provider (first used here), Cilium as Helm release `cilium`
 * (this program is its only owner; XDP acceleration off), then the gate: every node Ready and
 * `talosctl health` passing.
 */
export class CniPhase extends pulumi.ComponentResource {
  /** The explicit Kubernetes provider of this and later phases. */
  public readonly provider: k8s.Provider;
  /** Resolves once all nodes are Ready and talosctl health passed. */
  public readonly ready: pulumi.Output<string>;

  constructor(name: string, args: CniPhaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("homeops:cni:CniPhase", name, {}, opts);
    const kubeconfig = args.context.stdin.kubeconfig;
    if (!kubeconfig) throw new Error("the cni phase needs the cluster phase's kubeconfig");
    this.provider = new k8s.Provider(
      `${name}-kubernetes`,
      kubernetesProviderArgs({ config: args.config, kubeconfig, apiReady: args.apiReady }),
      { parent: this, aliases: args.providerAliases },
    );
    args.context.k8sProvider = this.provider;
    createSteps(
      this,
      name,
      args.plan.steps.filter((s) => s.phase === "cni"),
      args.context,
    );
    this.ready = stdoutOf(args.context, "talos-health");
    this.registerOutputs({ ready: this.ready });
  }
}
