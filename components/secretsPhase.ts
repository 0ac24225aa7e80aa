import * as pulumi from "@pulumi/pulumi";
import * as onepassword from "@1password/pulumi-onepassword";
import { StackConfig } from "../config/types";
import { Plan, ReadStep } from "../plan";
import { decodeConnectCredentials } from "../k8s/connect";
import { connectCredentialsText, itemField, OnePasswordItem } from "../k8s/onepasswordItems";
import { createSteps, StepContext, stdoutOf } from "./steps";

export interface SecretsPhaseArgs {
  /** The validated stack config (1Password vault and item names). */
  readonly config: StackConfig;
  /** The plan; this phase creates its `secrets` steps. */
  readonly plan: Plan;
  /** Shared step context (Kubernetes provider, kubeconfig). */
  readonly context: StepContext;
  /** The authenticated 1Password provider (service account or signed-in account). */
  readonly onePassword: onepassword.Provider;
}

/** Reads one item by title from the configured vault, as a secret. */
export function readItem(
  cfg: StackConfig,
  title: string,
  provider: onepassword.Provider,
  parent: pulumi.Resource,
): pulumi.Output<OnePasswordItem> {
  const vault = onepassword.getVaultOutput({ name: cfg.onepassword.vault }, { provider, parent });
  return pulumi.secret(
    onepassword.getItemOutput({ vault: vault.uuid, title }, { provider, parent }) as pulumi.Output<OnePasswordItem>,
  );
}

/**
 * Phase 4: 1Password Connect (its two Secrets, Deployment, Services, exactly the identity Flux
 * later adopts) and External Secrets, then the ClusterSecretStore; gate: the store is Ready.
 * Everything here is retained on `pulumi destroy`, because Flux takes it over.
 */
export class SecretsPhase extends pulumi.ComponentResource {
  /** Resolves once ClusterSecretStore onepassword-connect is Ready. */
  public readonly ready: pulumi.Output<string>;

  constructor(name: string, args: SecretsPhaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("homeops:secrets:SecretsPhase", name, {}, opts);
    const { config, plan, context } = args;
    const steps = plan.steps.filter((s) => s.phase === "secrets");
    for (const read of steps.filter((s): s is ReadStep => s.kind === "1password")) {
      const item = readItem(config, read.item, args.onePassword, this);
      context.secretValues[read.provides] =
        read.provides === "connect-credentials"
          ? pulumi.secret(item.apply((i) => decodeConnectCredentials(connectCredentialsText(i, read.item))))
          : pulumi.secret(item.apply((i) => itemField(i, config.onepassword.connectTokenField, read.item)));
    }
    createSteps(this, name, steps, context);
    this.ready = stdoutOf(context, "store-ready");
    this.registerOutputs({ ready: this.ready });
  }
}
