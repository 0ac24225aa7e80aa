/**
 * The plan's vocabulary: the stack as ordered steps, each becoming exactly one resource (a
 * command, a Helm release, a Kubernetes object, a 1Password read). Pure data: the components
 * create the resources, the offline render writes plan.json and scripts/, and the simulated
 * execution runs the command steps, all from the same plan.
 */
import { Phase } from "../config/types";
import { HelmReleaseDescriptor, KubernetesObject } from "../k8s/kubernetesObject";
import { ScriptName } from "../talos/scripts";
import type { UpgradeSummary } from "./upgrades";

export type K8sObject = KubernetesObject;

/** Where a secret comes from at apply time. */
export type SecretSource = "talos-secrets" | "kubeconfig" | "connect-credentials" | "connect-token" | "git-credentials";

interface StepBase {
  /** Stable, unique id; also the suffix of the resource name. */
  readonly id: string;
  readonly phase: Phase;
  /** Hostname, for per-node steps. */
  readonly node?: string;
  readonly description: string;
  readonly dependsOn: readonly string[];
}

export interface CommandStep extends StepBase {
  readonly kind: "command";
  /** The script file the step runs (`steps/<script>.sh`); never an input that changes. */
  readonly script: ScriptName;
  /** The script its delete runs (with the inputs stored at the last create/update). */
  readonly deleteScript?: ScriptName;
  /**
   * Non-secret parameters: configuration only, so that the step re-runs exactly when its
   * configuration changes. Tools, waits and the node inventory are run-time settings instead.
   */
  readonly env: Readonly<Record<string, string>>;
  /** Secret the script reads on stdin (the stdout of another step). */
  readonly stdinFrom?: "talos-secrets" | "kubeconfig";
  /** stdout is a secret (bundle, talosconfig, kubeconfig). */
  readonly secretStdout: boolean;
  /** Needs the 1Password CLI credentials in its environment. */
  readonly onePasswordAuth: boolean;
  /** The main talosctl invocation as a human reads it (no secrets). */
  readonly argv?: readonly string[];
  /** Hash of the normalised inputs that define this step's effect (per-node apply). */
  readonly configHash?: string;
}

export interface HelmStep extends StepBase {
  readonly kind: "helm";
  /** Chart, repository, version and values, as the offline render shows them. */
  readonly release: HelmReleaseDescriptor;
  /** Kept on `pulumi destroy` (Flux adopts it, or it is the cluster's network). */
  readonly retainOnDelete: boolean;
  /** How long Helm waits for the release's workloads (seconds; Helm's own default is 300). */
  readonly timeoutSeconds: number;
  /**
   * This stack's ownership mark: the release's Helm description, stored with every revision it
   * installs or upgrades; its create hook adopts a release that carries it (k8s/helmAdoption.ts).
   */
  readonly marker: string;
  /** Flux takes it over after the gitops phase. */
  readonly handOff?: HandOff;
}

/**
 * Pulumi installs, Flux owns: after the gitops phase completed, the stack keeps the resource in
 * its state but no longer changes it (components: ignoreChanges), and a changed setting only
 * warns where to make the change instead.
 */
export interface HandOff {
  /** Where to change it once Flux owns it. */
  readonly changeIn: string;
  /** The stack setting whose later changes no longer reach it, and its value now. */
  readonly setting?: { readonly key: string; readonly value: string };
}

export interface ObjectStep extends StepBase {
  readonly kind: "k8s";
  /** The object; secret values are the SECRET_MARKER, filled at apply time from `secrets`. */
  readonly object: K8sObject;
  /** stringData key -> where its secret value comes from. */
  readonly secrets?: Readonly<Record<string, SecretSource | `git-credentials:${string}`>>;
  readonly retainOnDelete: boolean;
  /** Flux takes it over after the gitops phase. */
  readonly handOff?: HandOff;
}

export interface ReadStep extends StepBase {
  readonly kind: "1password";
  readonly item: string;
  readonly provides: SecretSource;
}

export type Step = CommandStep | HelmStep | ObjectStep | ReadStep;

export interface Plan {
  readonly stack: string;
  readonly schematicId: string;
  readonly installerImage: string;
  readonly phases: readonly Phase[];
  readonly steps: readonly Step[];
  /** What the scripts read at run time (see plan/settings.ts). */
  readonly settings: Readonly<Record<string, string>>;
  /** What runs, the target, and the upgrade path the steps carry out (plan/upgrades.ts). */
  readonly upgrade: UpgradeSummary;
}

export const stepIds = {
  secrets: "talos-secrets",
  schematic: "schematic",
  talosconfig: "talosconfig",
  apply: (hostname: string) => `apply-${hostname}`,
  bootstrap: "bootstrap",
  kubeconfig: "kubeconfig",
  apiReady: "api-ready",
};

/** The step whose stdout feeds a stdin source. */
export const STDIN_PRODUCER: Record<NonNullable<CommandStep["stdinFrom"]>, string> = {
  "talos-secrets": stepIds.secrets,
  kubeconfig: stepIds.kubeconfig,
};
