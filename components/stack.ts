/**
 * The five phases in dependency order over one plan. `index.ts` calls this with the loaded
 * config; tests call it under Pulumi mocks with any config.
 */
import * as pulumi from "@pulumi/pulumi";
import * as onepassword from "@1password/pulumi-onepassword";
import * as command from "@pulumi/command";
import { talosctlMismatch } from "../talos/credentials";
import { Phase, PHASES, StackConfig, TalosMinor } from "../config/types";
import { talosctlMinorsOf } from "../config/upgradePath";
import {
  buildPlan,
  describePath,
  IssuedCredentials,
  issuedCredentials,
  phasesThrough,
  Plan,
  renewalsDue,
  renewalTime,
  runningOutput,
  stackHistory,
  upgradeSummary,
  UpgradeSummary,
} from "../plan";
import type { PreviousDeployment } from "../config/previousDeployment";
import { OUTPUTS } from "../config/previousDeployment";
import { handOffState } from "../plan/handOff";
import { durationMs } from "../config/duration";
import { installerImage } from "../talos/schematic";
import { StepContext } from "./steps";
import { TalosPhase } from "./talosPhase";
import { ClusterPhase } from "./clusterPhase";
import { CniPhase } from "./cniPhase";
import { SecretsPhase } from "./secretsPhase";
import { GitopsPhase } from "./gitopsPhase";
import { assertStepFilesCurrent, writeRuntimeSettings } from "./runtimeFiles";
import type { StackSecrets } from "../config/pulumi";
import { DeployedNodes, NO_DEPLOYED_NODES, removedNodesOutput } from "../config/removal";
import { describeRemoval, nodeRemovals } from "../plan/removal";
import { cutPromiseStacks } from "./promiseStacks";

export type { StackSecrets };

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
  return phasesThrough(PHASES[last]);
}

export interface StackOutputs {
  readonly plan: Plan;
  readonly phases: {
    talos: TalosPhase;
    cluster?: ClusterPhase;
    cni?: CniPhase;
    secrets?: SecretsPhase;
    gitops?: GitopsPhase;
  };
  readonly outputs: Record<string, unknown>;
}

/** Environment for the `op` CLI in scripts, matching the provider's authentication. */
export function onePasswordCliEnv(cfg: StackConfig, secrets: StackSecrets): Record<string, pulumi.Input<string>> {
  if (cfg.onepassword.auth === "account") return { OP_ACCOUNT: cfg.onepassword.account ?? "" };
  if (!secrets.onePasswordServiceAccountToken) {
    throw new Error(
      "homeops:onepasswordServiceAccountToken is not set: run `pulumi config set --secret homeops:onepasswordServiceAccountToken <token>` (or set homeops:onepassword.auth to account)",
    );
  }
  return { OP_SERVICE_ACCOUNT_TOKEN: pulumi.secret(secrets.onePasswordServiceAccountToken) };
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
 * phases are built (index.ts), the plugins start while the program builds its plan and declares
 * its resources, instead of after: the preflight first, since the talos phase waits for its
 * answer; the 1Password provider is first needed by the secrets phase.
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

export function deployStack(
  cfg: StackConfig,
  secrets: StackSecrets,
  options: DeployOptions,
  head?: EngineHeadStart,
): StackOutputs {
  cutPromiseStacks();
  if (!head) {
    assertStepFilesCurrent(options.projectDir);
    const first = preflightStart(cfg, options);
    head = { ...first, onePassword: onePasswordStart(cfg, secrets, first.phases) };
  }
  const { renewals, due } = renewalsDue(
    options.credentialsBefore ?? issuedCredentials({}),
    renewalTime(),
    durationMs(cfg.operations.renewBefore) ?? 0,
  );
  for (const credential of due)
    void pulumi.log.warn(
      `the ${credential} client certificate expires ${options.credentialsBefore?.[credential].expiry} (within homeops:operations.renewBefore ${cfg.operations.renewBefore}): this update mints it anew`,
    );
  const upgrade = head.upgrade;
  const plan = buildPlan(cfg, head.phases, stackHistory(options.completedBefore), {
    renewals,
    upgrade,
  });
  if (upgrade.planned) {
    const runs = upgrade.running!;
    void pulumi.log.info(
      `upgrade path from Talos ${Object.values(runs.talos)[0].version} + Kubernetes ${runs.kubernetes} to ` +
        `${cfg.talos.version} + ${cfg.kubernetes.version}, node by node (steps talos-upgrade-*, kubernetes-upgrade-*):\n` +
        describePath(upgrade).join("\n"),
    );
  }
  if (plan.phases.length > PHASES.indexOf(cfg.stopAfter) + 1) {
    void pulumi.log.warn(
      `homeops:stopAfter is ${cfg.stopAfter}, but an earlier update deployed phases up to ${plan.phases[plan.phases.length - 1]}: ` +
        "they stay declared (stopAfter never deletes what an earlier up built). To remove them on purpose, use pulumi destroy --target.",
    );
  }
  for (const removal of nodeRemovals(cfg, options.nodesBefore ?? NO_DEPLOYED_NODES))
    void pulumi.log.warn(describeRemoval(removal));
  const handOff = handOffState(plan, options.completedBefore ?? [], options.fluxHandOffBefore ?? {});
  for (const warning of handOff.warnings) void pulumi.log.warn(warning);
  writeRuntimeSettings(options.projectDir, plan);
  const active = (p: Phase) => plan.phases.includes(p);
  const onePasswordEnv = onePasswordCliEnv(cfg, secrets);
  const context: StepContext = {
    resources: new Map(),
    stdin: {},
    secretValues: {},
    onePasswordEnv,
    preflight: head.preflight,
    settings: plan.settings,
    adoptHelmReleases: cfg.operations.adoptHelmReleases,
    handedOff: handOff.handedOff,
  };

  const talos = new TalosPhase("talos", { config: cfg, plan, context });
  const cluster = active("cluster") ? new ClusterPhase("cluster", { plan, context }) : undefined;
  const phases: StackOutputs["phases"] = { talos, cluster };
  const onePassword = head.onePassword;
  if (active("cni"))
    phases.cni = new CniPhase("cni", {
      config: cfg,
      plan,
      context,
      apiReady: cluster!.ready,
      providerAliases: [{ name: "cluster-kubernetes", parent: cluster }],
    });
  if (active("secrets"))
    phases.secrets = new SecretsPhase("secrets", { config: cfg, plan, context, onePassword: onePassword! });
  if (active("gitops"))
    phases.gitops = new GitopsPhase("gitops", { config: cfg, plan, context, onePassword: onePassword! });

  const readies = plan.phases.map((p) => phases[p]!.ready.apply(() => p));
  const image = installerImage(cfg);
  const outputs: Record<string, unknown> = {
    clusterName: cfg.cluster.name,
    endpoint: cfg.cluster.endpoint,
    vip: cfg.cluster.vip,
    nodes: cfg.nodes.map((n) => ({
      hostname: n.hostname,
      address: n.address,
      ipv6: n.ipv6 ?? null,
      role: n.role,
      bootstrap: n.bootstrap,
      installerImage: image,
    })),
    removedNodes: removedNodesOutput(
      options.nodesBefore ?? NO_DEPLOYED_NODES,
      cfg.nodes.map((n) => n.hostname),
    ),
    schematicId: plan.schematicId,
    installerImage: image,
    talosVersion: cfg.talos.version,
    kubernetesVersion: cfg.kubernetes.version,
    ciliumVersion: cfg.cilium.version,
    externalSecretsVersion: cfg.externalSecrets.version,
    connectVersion: cfg.connect.version,
    fluxVersion: cfg.flux.version,
    fluxOperatorVersion: cfg.flux.operatorVersion,
    gitopsSource: { url: cfg.gitops.url, branch: cfg.gitops.branch, path: cfg.gitops.path },
    longhornSsdMountPath: cfg.usbSsd.mountPath,
    phasesDeclared: plan.phases,
    // Read back by the next update (config/previousDeployment.ts): written only when it succeeds.
    [OUTPUTS.running]: runningOutput(cfg),
    [OUTPUTS.upgradePath]: plan.upgrade.path,
    phasesCompleted: pulumi.all(readies),
    fluxHandOff: handOff.record,
    talosconfigExpiry: talos.talosconfigExpiry,
    credentialRenewals: renewals,
    kubeconfigExpiry: cluster ? cluster.kubeconfigExpiry : null,
    talosconfig: talos.talosconfig,
    kubeconfig: cluster ? cluster.kubeconfig : null,
  };
  return { plan, phases, outputs };
}
