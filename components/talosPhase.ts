import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../config/types";
import { Plan, stepIds } from "../plan";
import { talosconfigCertExpiry } from "../talos/credentials";
import { createSteps, StepContext, stdoutOf } from "./steps";

export interface TalosPhaseArgs {
  /** The validated stack config. */
  readonly config: StackConfig;
  /** The plan; this phase creates its `talos` steps. */
  readonly plan: Plan;
  /** Shared step context (resources by id, secret sources); this phase fills `talos-secrets`. */
  readonly context: StepContext;
}

/**
 * Phase 1: the secrets bundle (1Password first, minted once), the operator's talosconfig, and per
 * node the generate → validate → apply → wait-running command. Nodes run in parallel.
 */
export class TalosPhase extends pulumi.ComponentResource {
  /** The Talos secrets bundle (secret). */
  public readonly secretsBundle: pulumi.Output<string>;
  /** talosconfig for the operator (secret). */
  public readonly talosconfig: pulumi.Output<string>;
  /** Expiry of the talosconfig client certificate (not secret). */
  public readonly talosconfigExpiry: pulumi.Output<string>;
  /** Per hostname, the apply command's stdout (`<host> configured (<hash>)`). */
  public readonly nodes: Record<string, pulumi.Output<string>>;
  /** Resolves once every node runs its config. */
  public readonly ready: pulumi.Output<string>;

  constructor(name: string, args: TalosPhaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("homeops:talos:TalosPhase", name, {}, opts);
    const { config, plan, context } = args;
    const steps = plan.steps.filter((s) => s.phase === "talos");
    createSteps(this, name, steps.slice(0, 1), context);
    this.secretsBundle = pulumi.secret(stdoutOf(context, stepIds.secrets));
    context.stdin["talos-secrets"] = this.secretsBundle;
    createSteps(this, name, steps.slice(1), context);

    this.talosconfig = pulumi.secret(stdoutOf(context, stepIds.talosconfig));
    this.talosconfigExpiry = pulumi.unsecret(this.talosconfig.apply(talosconfigCertExpiry));
    this.nodes = Object.fromEntries(
      config.nodes.map((n) => [n.hostname, stdoutOf(context, stepIds.apply(n.hostname))]),
    );
    this.ready = pulumi.all(Object.values(this.nodes)).apply((lines) => lines.join("\n"));
    this.registerOutputs({ talosconfig: this.talosconfig, nodes: this.nodes, ready: this.ready });
  }
}
