/**
 * Turns plan steps into resources: one command per command step, a Helm release per Helm step,
 * one Kubernetes object per object step. Shared by the phase components so that every phase
 * creates its children the same way (names, parents, secrets, retain/protect, ordering).
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import { CommandStep, HelmStep, ObjectStep, Step } from "../plan";
import { scriptPath } from "../talos/scripts";
import { helmHooks } from "./helmGuard";

/** What steps of later phases need from earlier ones. */
export interface StepContext {
  /** Resources created so far, by step id (for `dependsOn`). */
  readonly resources: Map<string, pulumi.Resource>;
  /** Secret stdin sources. */
  readonly stdin: Partial<Record<NonNullable<CommandStep["stdinFrom"]>, pulumi.Output<string>>>;
  /** Secret values for object steps, by source (`git-credentials:<key>` included). */
  readonly secretValues: Record<string, pulumi.Output<string>>;
  /** 1Password CLI authentication for steps that use `op`. */
  readonly onePasswordEnv: Record<string, pulumi.Input<string>>;
  /** The explicit Kubernetes provider (set by the cluster phase, from its kubeconfig). */
  k8sProvider?: k8s.Provider;
  /**
   * The talosctl preflight's result (the matching minor); root steps take it as an input, so a
   * mismatched talosctl fails the update before any step runs.
   */
  readonly preflight?: pulumi.Output<string>;
  /** The run-time settings (the Helm create hook's kubectl and bounds). */
  readonly settings?: Readonly<Record<string, string>>;
  /** `homeops:operations.adoptHelmReleases` (read by the Helm create hook). */
  readonly adoptHelmReleases?: readonly string[];
  /**
   * The gitops phase completed in an earlier update: Flux owns what it takes over (a step's
   * `handOff`), so the stack keeps it in its state and stops changing it.
   */
  readonly handedOff?: boolean;
}

/**
 * Once Flux owns a resource: every input keeps its stored value (pulumi v3.248.0
 * step_generator.go processIgnoreChanges resets the `*` path to the old inputs before Check and
 * Diff), so a changed setting updates nothing. "version" as well, because the Helm provider's own
 * Diff honours only that path of ignoreChanges against a refreshed state (pulumi-kubernetes
 * v4.25.0 provider/pkg/provider/helm_release.go Diff).
 */
function handOffIgnore(step: HelmStep | ObjectStep, ctx: StepContext): string[] | undefined {
  if (!step.handOff || !ctx.handedOff) return undefined;
  return step.kind === "helm" ? ["*", "version"] : ["*"];
}

function dependsOn(step: Step, ctx: StepContext): pulumi.Resource[] {
  return step.dependsOn.map((id) => ctx.resources.get(id)).filter((r): r is pulumi.Resource => r !== undefined);
}

/** The options of a Helm release or Kubernetes object: the explicit provider, order, retention, hand-off. */
function kubernetesOpts(
  parent: pulumi.Resource,
  step: HelmStep | ObjectStep,
  ctx: StepContext,
): pulumi.CustomResourceOptions {
  return {
    parent,
    provider: ctx.k8sProvider,
    dependsOn: dependsOn(step, ctx),
    retainOnDelete: step.retainOnDelete,
    ignoreChanges: handOffIgnore(step, ctx),
  };
}

export function createCommandStep(
  parent: pulumi.Resource,
  name: string,
  step: CommandStep,
  ctx: StepContext,
): command.local.Command {
  const stdin = step.stdinFrom ? ctx.stdin[step.stdinFrom] : undefined;
  if (step.stdinFrom && !stdin)
    throw new Error(`step ${step.id} needs ${step.stdinFrom}, which no earlier phase provides`);
  const env: Record<string, pulumi.Input<string>> = {
    ...step.env,
    ...(step.onePasswordAuth ? ctx.onePasswordEnv : {}),
    ...(step.dependsOn.length === 0 && ctx.preflight ? { TALOSCTL_MINOR: ctx.preflight } : {}),
  };
  const cmd = new command.local.Command(
    `${name}-${step.id}`,
    {
      // The script file's path: constant, so a fixed script reaches this step on its next run
      // without being a diffed (or, with ignoreChanges, frozen) input. `update` is unset: the
      // provider runs `create` again on an update.
      create: scriptPath(step.script),
      delete: step.deleteScript ? scriptPath(step.deleteScript) : undefined,
      environment: env,
      stdin: stdin ? pulumi.secret(stdin) : undefined,
      interpreter: ["/bin/sh"],
      // Outputs of secret-bearing steps never reach the engine's log.
      logging: step.secretStdout || step.stdinFrom ? "none" : "stderr",
      // Previous outputs in the environment would put a secret stdout into the next run's env.
      addPreviousOutputInEnv: false,
    },
    {
      parent,
      // Ordering by the plan's edges (data flows through stdin where a secret is involved).
      dependsOn: dependsOn(step, ctx),
      additionalSecretOutputs: step.secretStdout ? ["stdout", "stderr"] : ["stderr"],
    },
  );
  ctx.resources.set(step.id, cmd);
  return cmd;
}

export function createHelmStep(
  parent: pulumi.Resource,
  name: string,
  step: HelmStep,
  ctx: StepContext,
): k8s.helm.v3.Release {
  const { metadata, spec } = step.release;
  const kubeconfig = ctx.stdin.kubeconfig;
  if (!kubeconfig || !ctx.settings) throw new Error(`step ${step.id} needs the kubeconfig and the run-time settings`);
  const resName = `${name}-${step.id}`;
  const release = new k8s.helm.v3.Release(
    resName,
    {
      // The exact release name (no auto-naming suffix): Flux adopts releases by name.
      name: metadata.name,
      namespace: metadata.namespace,
      chart: spec.chart,
      version: spec.version,
      repositoryOpts: spec.repo ? { repo: spec.repo } : undefined,
      values: spec.values as Record<string, unknown>,
      atomic: false,
      // This stack's mark: Helm stores it as the description of every revision it installs or
      // upgrades (helm pkg/action/install.go, upgrade.go); the create hook adopts what carries it.
      description: step.marker,
      // Helm installs over a release of this name whose latest revision failed or was
      // uninstalled (helm install.go availableName); the create hook leaves it so when it adopts.
      replace: true,
      // Helm's wait for the release's workloads, from the stack's timeouts (an input of the
      // release: pulumi-kubernetes has no other place for it, so a changed timeout updates the
      // release record with the same chart and values).
      timeout: step.timeoutSeconds,
      // Helm waits for the release's workloads; the phase gate then checks real conditions.
      skipAwait: false,
    },
    {
      ...kubernetesOpts(parent, step, ctx),
      // beforeCreate runs only when the engine creates the release (never for one the state holds):
      // adopts it after a lost state, unlocks a stale interrupted install, or refuses with the
      // command. beforeUpdate only unlocks a stale interrupted upgrade (components/helmGuard.ts).
      hooks: helmHooks(resName, {
        step,
        kubeconfig,
        settings: ctx.settings,
        adoptList: ctx.adoptHelmReleases ?? [],
      }),
    },
  );
  ctx.resources.set(step.id, release);
  return release;
}

/** The object with its secret markers replaced by the secret values. */
export function withSecretValues(step: ObjectStep, ctx: StepContext): Record<string, unknown> {
  if (!step.secrets) return step.object;
  const stringData: Record<string, pulumi.Input<string>> = {
    ...((step.object.stringData as Record<string, string>) ?? {}),
  };
  for (const [key, source] of Object.entries(step.secrets)) {
    const value = ctx.secretValues[source];
    if (!value) throw new Error(`step ${step.id} needs secret ${source}, which was not read`);
    stringData[key] = pulumi.secret(value);
  }
  return { ...step.object, stringData };
}

export function createObjectStep(
  parent: pulumi.Resource,
  name: string,
  step: ObjectStep,
  ctx: StepContext,
): pulumi.CustomResource {
  const opts = kubernetesOpts(parent, step, ctx);
  const obj = withSecretValues(step, ctx) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
  const resName = `${name}-${step.id}`;
  let res: pulumi.CustomResource;
  switch (`${step.object.apiVersion}/${step.object.kind}`) {
    case "v1/Namespace":
      res = new k8s.core.v1.Namespace(resName, obj, opts);
      break;
    case "v1/Secret":
      res = new k8s.core.v1.Secret(resName, obj, { ...opts, additionalSecretOutputs: ["data", "stringData"] });
      break;
    case "v1/Service":
      res = new k8s.core.v1.Service(resName, obj, opts);
      break;
    case "apps/v1/Deployment":
      res = new k8s.apps.v1.Deployment(resName, obj, opts);
      break;
    default:
      res = new k8s.apiextensions.CustomResource(resName, obj, opts);
  }
  ctx.resources.set(step.id, res);
  return res;
}

/** Creates the resources of `steps` (read steps are handled by their phase). */
export function createSteps(parent: pulumi.Resource, name: string, steps: readonly Step[], ctx: StepContext): void {
  for (const step of steps) {
    if (step.kind === "command") createCommandStep(parent, name, step, ctx);
    else if (step.kind === "helm") createHelmStep(parent, name, step, ctx);
    else if (step.kind === "k8s") createObjectStep(parent, name, step, ctx);
  }
}

/** The stdout of a step's command (the phase gate). */
export function stdoutOf(ctx: StepContext, id: string): pulumi.Output<string> {
  const r = ctx.resources.get(id);
  if (!(r instanceof command.local.Command)) throw new Error(`step ${id} is not a command`);
  return r.stdout;
}
