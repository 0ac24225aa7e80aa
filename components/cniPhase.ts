import * as pulumi from "@pulumi/pulumi";
import { Plan } from "../talos/plan";
import { createSteps, StepContext, stdoutOf } from "./steps";

export interface CniPhaseArgs {
  /** The plan; this phase creates its `cni` steps. */
  readonly plan: Plan;
  /** Shared step context (needs the Kubernetes provider, kubeconfig and talos-secrets). */
  readonly context: StepContext;
}

/**
 * Phase 3: Cilium as Helm release `cilium` (this program is its only owner; XDP acceleration off),
 * then the gate: every node Ready and `talosctl health` passing.
 */
export class CniPhase extends pulumi.ComponentResource {
  /** Resolves once all nodes are Ready and talosctl health passed. */
  public readonly ready: pulumi.Output<string>;

  constructor(name: string, args: CniPhaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("homeops:cni:CniPhase", name, {}, opts);
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
