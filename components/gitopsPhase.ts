import * as pulumi from "@pulumi/pulumi";
import * as onepassword from "@1password/pulumi-onepassword";
import { StackConfig } from "../config/types";
import { Plan, ReadStep } from "../plan";
import { gitCredentialsFromItem } from "../k8s/onepasswordItems";
import { readItem } from "./secretsPhase";
import { createSteps, StepContext, stdoutOf } from "./steps";

export interface GitopsPhaseArgs {
  /** The validated stack config (GitOps repository). */
  readonly config: StackConfig;
  /** The plan; this phase creates its `gitops` steps. */
  readonly plan: Plan;
  /** Shared step context (Kubernetes provider, kubeconfig). */
  readonly context: StepContext;
  /** The authenticated 1Password provider (for a private repository's credentials). */
  readonly onePassword: onepassword.Provider;
}

/**
 * Phase 5: Flux through flux-operator and one FluxInstance syncing the configured repository.
 * Idempotent: nothing is committed to the repository and no key is rotated on re-run.
 * Gate: the root Kustomization flux-system is Ready.
 */
export class GitopsPhase extends pulumi.ComponentResource {
  /** Resolves once Kustomization flux-system is Ready. */
  public readonly ready: pulumi.Output<string>;

  constructor(name: string, args: GitopsPhaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("homeops:gitops:GitopsPhase", name, {}, opts);
    const { config, plan, context } = args;
    const steps = plan.steps.filter((s) => s.phase === "gitops");
    for (const read of steps.filter((s): s is ReadStep => s.kind === "1password")) {
      const auth = config.gitops.auth;
      if (auth === "none") continue;
      const creds = readItem(config, read.item, args.onePassword, this).apply((i) =>
        gitCredentialsFromItem(auth, i, read.item),
      );
      const keys = auth === "ssh" ? ["identity", "identity.pub", "known_hosts"] : ["username", "password"];
      for (const key of keys)
        context.secretValues[`git-credentials:${key}`] = pulumi.secret(creds.apply((c) => c[key]));
    }
    createSteps(this, name, steps, context);
    this.ready = stdoutOf(context, "flux-ready");
    this.registerOutputs({ ready: this.ready });
  }
}
