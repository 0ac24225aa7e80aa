/**
 * What to do right before this stack creates a Helm release (its `beforeCreate` hook): a pure
 * decision over the release's Helm records, so a lost state converges without `import` and
 * without ever reinstalling or deleting a release.
 *
 * Helm facts it rests on (helm.sh/helm/v3 v3.18.6, the Helm pulumi-kubernetes v4.25.0 vendors):
 * - install refuses a name in use unless its latest revision is `failed` or `uninstalled` and
 *   `replace` is set (pkg/action/install.go availableName); with `replace` the new revision is the
 *   latest + 1 (replaceRelease), and resources that already exist with this release's
 *   meta.helm.sh/release-name/-namespace annotations are adopted and updated in place, never
 *   deleted (install.go existingResourceConflict in validate.go, then KubeClient.Update);
 * - every successful install/upgrade stores the client's description as `info.description`
 *   (install.go performInstall, upgrade.go), which is how this stack marks its own revisions;
 * - an operation in progress keeps its revision `pending-install`/`pending-upgrade`/
 *   `pending-rollback` (release/status.go IsPending) until it ends; each of its waits (the
 *   resources, and each hook, whose before-hook-creation delete waits too) is bounded by the
 *   operation's timeout (install.go performInstall, hooks.go execHook).
 */
import type { HelmRecord } from "./helmStorage";

/** The Pulumi project (Pulumi.yaml `name`; a test keeps them equal). */
export const PULUMI_PROJECT = "homeops";

/**
 * The ownership marker: the `description` of every revision this stack installs or upgrades.
 * Stable (project, stack, step), so it never causes a diff by itself.
 */
export function helmMarker(stack: string, stepId: string): string {
  return `homeops: ${PULUMI_PROJECT}/${stack} ${stepId}`;
}

/** Beyond Helm's own bounds: rendering, API calls, a slow provider start (seconds). */
export const STALE_MARGIN_SECONDS = 60;

/**
 * How old a pending revision must be before no live Helm can still be working on it: the wait
 * for the resources plus, for each hook, its delete-before-creation and its own wait, each up to
 * the timeout; plus a margin. Flux's helm-controller unlocks any pending release at once
 * (helm-controller v1.5.1 internal/reconcile/unlock.go, state.go) because it is the release's only
 * writer; here a killed `pulumi up`'s provider may still be running Helm, so wait it out.
 */
export function staleAfterSeconds(timeoutSeconds: number, hookCount: number): number {
  return timeoutSeconds * (1 + 2 * hookCount) + STALE_MARGIN_SECONDS;
}

/** Where Flux takes a release over after the gitops phase (plan: HelmStep.handOff). */
export interface HandOffInfo {
  /** Where to change it instead, e.g. "the GitOps repository's HelmRelease …". */
  readonly changeIn: string;
}

export interface AdoptionInput {
  readonly release: { readonly name: string; readonly namespace: string };
  /** The plan step (`cilium`, `external-secrets`, `flux-operator`). */
  readonly stepId: string;
  /** This stack's marker for this release. */
  readonly marker: string;
  /** The release's records, any order. */
  readonly records: readonly HelmRecord[];
  /** Helm's timeout of this release's operations (seconds). */
  readonly timeoutSeconds: number;
  readonly now: Date;
  /** `homeops:operations.adoptHelmReleases` as configured. */
  readonly adoptList: readonly string[];
  /** Flux HelmReleases (`namespace/name`) that manage this release. */
  readonly fluxClaims: readonly string[];
  /** Set for a release Flux takes over after the gitops phase. */
  readonly handOff?: HandOffInfo;
}

export type Adoption =
  /** Let Helm install (nothing there, or a failed/uninstalled latest revision `replace` installs over). */
  | { readonly action: "install"; readonly reason: string }
  /** Mark the latest revision failed first (then `replace` installs over it in place). */
  | {
      readonly action: "mark-failed";
      readonly record: HelmRecord;
      readonly description: string;
      readonly reason: string;
    }
  | { readonly action: "refuse"; readonly message: string }
  /** Let Helm upgrade (the update hook: nothing interrupted to unlock). */
  | { readonly action: "proceed"; readonly reason: string };

/** The one command that adopts a release without this stack's marker. */
export function adoptCommand(stepId: string, adoptList: readonly string[]): string {
  return `pulumi config set --path 'homeops:operations.adoptHelmReleases[${adoptList.length}]' ${stepId} && pulumi up`;
}

/**
 * The recovery of a lost state after the hand-off to Flux. With --path, the CLI stores "true" as
 * a boolean (pulumi v3.248.0 sdk/go/common/resource/config/object.go coerce), as the schema wants.
 */
export const HANDED_OFF_COMMAND = "pulumi config set --path homeops:operations.handedOffToFlux true && pulumi up";

/** What both hooks do with a pending latest revision: unlock it once stale, else say when to retry. */
function unlockStale(input: UnlockInput, last: HelmRecord): Adoption {
  const id = `${input.release.namespace}/${input.release.name}`;
  const bound = staleAfterSeconds(input.timeoutSeconds, last.hookCount);
  const since = last.startedAt;
  const ageSeconds = since ? (input.now.getTime() - since.getTime()) / 1000 : Infinity;
  if (ageSeconds >= bound) {
    return {
      action: "mark-failed",
      record: last,
      description: `Release unlocked from stale '${last.status}' state by ${input.marker} (no Helm operation runs ${bound} s)`,
      reason: `Helm release ${id} was left ${last.status} (revision ${last.revision}, started ${since?.toISOString() ?? "at an unknown time"}) by an interrupted run: unlocked, going on in place`,
    };
  }
  const retry = new Date(since!.getTime() + bound * 1000).toISOString();
  return {
    action: "refuse",
    message:
      `Helm release ${id} is ${last.status} (revision ${last.revision}, started ${since!.toISOString()}): a Helm operation may still be running on it ` +
      `(a killed pulumi up's provider keeps going until its timeout, ${input.timeoutSeconds} s per wait). Run pulumi up again after ${retry}.`,
  };
}

/** What the update hook reads: the release, this stack's marker, its records, Helm's timeout. */
export type UnlockInput = Pick<AdoptionInput, "release" | "marker" | "records" | "timeoutSeconds" | "now">;

/**
 * Right before this stack upgrades a release its state holds (its `beforeUpdate` hook). Never
 * refuses it over who owns it (the state says this stack does): only a pending latest revision
 * matters, which Helm's
 * upgrade refuses outright as "another operation (install/upgrade/rollback) is in progress"
 * (helm v3.18.6 pkg/action/upgrade.go prepareUpgrade, errPending) and pulumi-kubernetes v4.25.0
 * does not unlock (provider/pkg/provider/helm_release.go helmUpdate): a `pulumi up` killed during
 * an upgrade would otherwise leave the release locked for good. Stale: mark it failed, and the
 * upgrade goes on from the last deployed revision (upgrade.go: Deployed, else the failed last one);
 * younger: say when to retry.
 */
export function decideUpdate(input: UnlockInput): Adoption {
  const last = latestRecord(input.records);
  const id = `${input.release.namespace}/${input.release.name}`;
  if (last && /^pending-/.test(last.status)) return unlockStale(input, last);
  return { action: "proceed", reason: `Helm release ${id}: no interrupted operation to unlock` };
}

function latestRecord(records: readonly HelmRecord[]): HelmRecord | undefined {
  return [...records].sort((a, b) => a.revision - b.revision).pop();
}

export function decideAdoption(input: AdoptionInput): Adoption {
  const { name, namespace } = input.release;
  const id = `${namespace}/${name}`;
  const last = latestRecord(input.records);
  if (!last) return { action: "install", reason: `Helm release ${id} is new` };
  const at = `revision ${last.revision}, ${last.status}`;

  if (input.fluxClaims.length > 0) {
    const claims = input.fluxClaims.map((c) => `HelmRelease ${c}`).join(", ");
    return {
      action: "refuse",
      message: input.handOff
        ? `Helm release ${id} (${at}) is Flux's: ${claims} manages it, as the hand-off after the gitops phase intends, and this stack has no record of it (its state was lost). ` +
          `Change it in ${input.handOff.changeIn}. Tell the stack the hand-off happened, so it stops declaring what Flux owns: ${HANDED_OFF_COMMAND}`
        : `Helm release ${id} (${at}) is managed by Flux (${claims}), but this stack is its only owner (two owners fight over it). ` +
          `Remove ${claims} from the GitOps repository and let Flux prune it, then run pulumi up again.`,
    };
  }

  switch (last.status) {
    case "failed":
    case "uninstalled":
      return {
        action: "install",
        reason: `Helm release ${id} exists (${at}): installing over it in place (replace)`,
      };
    case "pending-install":
    case "pending-upgrade":
    case "pending-rollback":
      return unlockStale(input, last);
    case "deployed":
    case "superseded": {
      const ours = last.description === input.marker;
      if (ours || input.adoptList.includes(input.stepId)) {
        return {
          action: "mark-failed",
          record: last,
          description: `Superseded in place by ${input.marker}: ${ours ? "its own release" : "adopted (operations.adoptHelmReleases)"}`,
          reason: `Helm release ${id} (${at}) is ${ours ? "this stack's own" : "adopted as operations.adoptHelmReleases lists it"}: the install supersedes it in place (revision ${last.revision + 1}; nothing deleted or reinstalled)`,
        };
      }
      return {
        action: "refuse",
        message:
          `Helm release ${id} already exists (${at}, "${last.description}") without this stack's mark ("${input.marker}"): another tool installed it, or this stack did before it marked its releases, and this stack has no record of it. ` +
          `If this stack should own it, adopt it (it is upgraded in place, nothing deleted): ${adoptCommand(input.stepId, input.adoptList)}`,
      };
    }
    default:
      return {
        action: "refuse",
        message: `Helm release ${id} is ${last.status} (revision ${last.revision}): something is uninstalling it or its record is broken; look with helm history ${name} -n ${namespace}, then run pulumi up again.`,
      };
  }
}

/** A Flux HelmRelease as listed (helm.toolkit.fluxcd.io, v2 and v2beta). */
export interface FluxHelmRelease {
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly spec?: {
    readonly releaseName?: string;
    readonly targetNamespace?: string;
    readonly storageNamespace?: string;
  };
}

/**
 * `namespace/name` of each HelmRelease that manages Helm release `name` stored in `namespace`:
 * its release name is spec.releaseName, else `<targetNamespace>-<name>` with a target namespace,
 * else its own name; its storage namespace spec.storageNamespace, else its own namespace
 * (helm-controller v1.5.1 api/v2/helmrelease_types.go GetReleaseName, GetStorageNamespace).
 */
export function fluxClaims(list: unknown, name: string, namespace: string): string[] {
  const items = (list as { items?: unknown })?.items;
  if (!Array.isArray(items)) return [];
  return (items as FluxHelmRelease[])
    .filter((hr) => {
      const spec = hr.spec ?? {};
      const releaseName =
        spec.releaseName || (spec.targetNamespace ? `${spec.targetNamespace}-${hr.metadata.name}` : hr.metadata.name);
      const storage = spec.storageNamespace || hr.metadata.namespace;
      return releaseName === name && storage === namespace;
    })
    .map((hr) => `${hr.metadata.namespace}/${hr.metadata.name}`)
    .sort();
}
