/**
 * The five phases in dependency order over one plan. `index.ts` calls this with the loaded
 * config; tests call it under Pulumi mocks with any config.
 */
import * as pulumi from "@pulumi/pulumi";
import { Phase, PHASES, StackConfig } from "../config/types";
import {
  buildPlan,
  describePath,
  issuedCredentials,
  Plan,
  renewalsDue,
  renewalTime,
  runningOutput,
  stackHistory,
} from "../plan";
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
import { writeRuntimeSettings } from "./runtimeFiles";
import type { StackSecrets } from "../config/pulumi";
import { NO_DEPLOYED_NODES, removedNodesOutput } from "../config/removal";
import { describeRemoval, nodeRemovals } from "../plan/removal";
import { DeployOptions, EngineHeadStart, headStartNow } from "./headStart";

export type { StackSecrets };

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

export function deployStack(
  cfg: StackConfig,
  secrets: StackSecrets,
  options: DeployOptions,
  head?: EngineHeadStart,
): StackOutputs {
  head ??= headStartNow(cfg, secrets, options);
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
