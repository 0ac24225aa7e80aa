/**
 * What the program asks of the engine before it declares the phases (engineHeadStart), and what
 * that needs. Kept apart from components/stack.ts, which loads every phase and the Kubernetes SDK:
 * index.ts loads this module and sends the head start first, and loads the rest while the engine
 * starts the plugins it asked for.
 */
import * as pulumi from "@pulumi/pulumi";
import * as onepassword from "@1password/pulumi-onepassword";
import * as command from "@pulumi/command";
import { talosctlMismatch } from "../talos/credentials";
import { Phase, PHASES, StackConfig, TalosMinor } from "../config/types";
import { talosctlMinorsOf } from "../config/upgradePath";
import type { PreviousDeployment } from "../config/previousDeployment";
import type { StackSecrets } from "../config/pulumi";
import type { DeployedNodes } from "../config/removal";
import type { IssuedCredentials } from "../plan/renewal";
import { upgradeSummary, UpgradeSummary } from "../plan/upgrades";
import { assertStepFilesCurrent } from "./runtimeFiles";
import { cutPromiseStacks } from "./promiseStacks";

export interface DeployOptions {
  /**
   * The project directory: the command provider runs the step scripts relative to it, and the
   * run-time settings are written under it. Tests pass a scratch copy.
   */
  readonly projectDir: string;
  /**
   * Phases an earlier update of this stack declared (its `phasesDeclared` output). They stay
   * declared whatever `stopAfter` says now: the engine deletes whatever a program stops
   * declaring, so lowering `stopAfter` would otherwise delete phases an earlier `up` built.
   */
  readonly declaredBefore?: readonly string[];
  /**
   * Phases an earlier update of this stack completed (its `phasesCompleted` output): once the
   * cluster phase completed, the rolling gate never takes a silent etcd for a cluster that does
   * not run (run-time setting CLUSTER_WAS_RUNNING).
   */
  readonly completedBefore?: readonly string[];
  /**
   * The stack's last successful update (components/previousDeployment.ts): what the nodes run,
   * from which the upgrade path is planned, and the last completed path (kept while nothing moves).
   * Absent on a new stack.
   */
  readonly previous?: PreviousDeployment;
  /** Setting values at the hand-off to Flux (its `fluxHandOff` output). */
  readonly fluxHandOffBefore?: Readonly<Record<string, string>>;
  /** The nodes an earlier update deployed and removed (its `nodes` and `removedNodes` outputs). */
  readonly nodesBefore?: DeployedNodes;
  /**
   * The client certificates an earlier update minted (its expiry and `credentialRenewals`
   * outputs): one inside `operations.renewBefore` of its expiry is minted anew (plan/renewal.ts).
   */
  readonly credentialsBefore?: IssuedCredentials;
}

/** The phases to declare: those `stopAfter` lets run, extended to any declared before. */
export function phasesToDeclare(cfg: StackConfig, declaredBefore: readonly string[] = []): Phase[] {
  const known = declaredBefore.filter((p): p is Phase => (PHASES as readonly string[]).includes(p));
  const last = Math.max(PHASES.indexOf(cfg.stopAfter), ...known.map((p) => PHASES.indexOf(p)));
  return PHASES.slice(0, last + 1);
}

/**
 * The 1Password provider's inputs, every one set: the SDK fills unset ones from OP_* variables of
 * the operator's shell (@1password/pulumi-onepassword provider.js), which would cause a diff or
 * point it at a Connect server. Empty strings must be Outputs for the token fields, which the SDK
 * drops when falsy.
 */
export function onePasswordProviderArgs(cfg: StackConfig, secrets: StackSecrets): onepassword.ProviderArgs {
  const none = pulumi.secret(pulumi.output(""));
  if (cfg.onepassword.auth === "account") {
    return { account: cfg.onepassword.account, serviceAccountToken: none, url: "", token: none, opCliPath: "op" };
  }
  return {
    account: "",
    serviceAccountToken: secrets.onePasswordServiceAccountToken,
    url: "",
    token: none,
    opCliPath: "op",
  };
}

/**
 * Every talosctl the update runs must be of its minor (another minor renders other configs and
 * takes other flags): the stack's own, and the one of each other minor a planned upgrade path
 * runs (homeops:talos.talosctls). Checked on `up` only: a preview runs no command, so it needs no
 * talosctl.
 */
export function talosctlPreflight(cfg: StackConfig, pathMinors: readonly TalosMinor[] = []): pulumi.Output<string> {
  if (pulumi.runtime.isDryRun()) return pulumi.output(cfg.talos.minor);
  const minors = [cfg.talos.minor, ...pathMinors.filter((m) => m !== cfg.talos.minor)];
  const checks = minors.map((minor) => {
    const exe = minor === cfg.talos.minor ? cfg.talos.talosctl : (cfg.talos.talosctls[minor] ?? "");
    return command.local
      .runOutput({ command: '"$TALOSCTL" version --client --short', environment: { TALOSCTL: exe } })
      .stdout.apply((out) => {
        const problem = talosctlMismatch(out, minor, exe);
        if (problem) throw new Error(problem);
        return minor;
      });
  });
  return pulumi.all(checks).apply(() => cfg.talos.minor);
}

/**
 * What the program asks of the engine before it declares the phases: the talosctl preflight (an
 * invoke of the command provider) and the 1Password provider. The engine starts a plugin when it
 * is first needed, one plugin at a time in the order asked (pulumi v3.248.0 pkg/host/host.go:
 * one goroutine serves the load requests), and nothing the program asks reaches it before
 * the program's synchronous work ends. Asked first, with a turn of the event loop before the
 * phases are loaded (index.ts), the plugins start while the program loads its phases, builds its
 * plan and declares its resources, instead of after: the preflight first, since the talos phase
 * waits for its answer; then the 1Password provider, first needed by the secrets phase. A
 * provider's plugin starts inside the engine's one loop that turns registrations into steps
 * (pulumi v3.248.0 pkg/resource/deploy/providers/registry.go: Registry.Check loads it), so every
 * registration behind it waits until it has started: asked only once the phases had loaded, the
 * 1Password provider's start held up the talos phase's first registrations (about 0.15 s, e2e
 * tier, with its stand-in provider; README, Benchmark).
 */
export interface EngineHeadStart {
  readonly upgrade: UpgradeSummary;
  readonly phases: Phase[];
  readonly preflight: pulumi.Output<string>;
  readonly onePassword?: onepassword.Provider;
}

/** The preflight and what it needs (the upgrade path's minors, the phases declared). */
function preflightStart(cfg: StackConfig, options: DeployOptions): Omit<EngineHeadStart, "onePassword"> {
  const upgrade = upgradeSummary(cfg, options.previous);
  const phases = phasesToDeclare(cfg, options.declaredBefore);
  const preflight = talosctlPreflight(cfg, upgrade.planned ? talosctlMinorsOf(upgrade.path.hops) : []);
  return { upgrade, phases, preflight };
}

function onePasswordStart(
  cfg: StackConfig,
  secrets: StackSecrets,
  phases: readonly Phase[],
): onepassword.Provider | undefined {
  if (!phases.includes("secrets")) return undefined;
  const args = onePasswordProviderArgs(cfg, secrets);
  return new onepassword.Provider("onepassword", args);
}

/** A turn of the event loop: what the SDK has to send by then is sent. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The head start, each request sent before the next is made (so the engine starts them in this order). */
export async function engineHeadStart(
  cfg: StackConfig,
  secrets: StackSecrets,
  options: DeployOptions,
): Promise<EngineHeadStart> {
  cutPromiseStacks();
  // Stale step scripts are refused before anything is asked of the engine.
  assertStepFilesCurrent(options.projectDir);
  const first = preflightStart(cfg, options);
  await nextTurn();
  const onePassword = onePasswordStart(cfg, secrets, first.phases);
  await nextTurn();
  return { ...first, onePassword };
}

/** The head start without the turns of the event loop (deployStack called without one: tests). */
export function headStartNow(cfg: StackConfig, secrets: StackSecrets, options: DeployOptions): EngineHeadStart {
  cutPromiseStacks();
  assertStepFilesCurrent(options.projectDir);
  const first = preflightStart(cfg, options);
  return { ...first, onePassword: onePasswordStart(cfg, secrets, first.phases) };
}
