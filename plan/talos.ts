/** The talos and cluster phases as steps. */
import { createHash } from "crypto";
import { NodeConfig, StackConfig } from "../config/types";
import { installerImage, schematicId, schematicYaml } from "../talos/schematic";
import { renderNodePatchYaml } from "../talos/machineconfig";
import { talosctl } from "../talos/talosctl";
import { commandStep } from "./command";
import { Step, stepIds } from "./types";
import { NO_RENEWALS, renewalEnv, Renewals } from "./renewal";
import { NO_PATH, upgradeSteps } from "./upgrades";
import type { CompletedPath } from "../config/previousDeployment";

/** The normalised inputs that define what a node runs; its hash drives re-apply. */
export function nodeConfigInputs(cfg: StackConfig, node: NodeConfig): Record<string, string> {
  return {
    CLUSTER_NAME: cfg.cluster.name,
    CLUSTER_ENDPOINT: cfg.cluster.endpoint,
    CLUSTER_VIP: cfg.cluster.vip,
    DNS_DOMAIN: cfg.cluster.dnsDomain,
    KUBERNETES_VERSION: cfg.kubernetes.version.replace(/^v/, ""),
    TALOS_MINOR: cfg.talos.minor,
    TALOS_CONTRACT: cfg.talos.contract,
    INSTALL_IMAGE: installerImage(cfg),
    NODE_ROLE: node.role,
    NODE_HOSTNAME: node.hostname,
    NODE_ADDRESS: node.address,
    NODE_PATCH: renderNodePatchYaml(cfg, node),
  };
}

export function nodeConfigHash(cfg: StackConfig, node: NodeConfig): string {
  return configHashOf(nodeConfigInputs(cfg, node));
}

/** The hash of a node's config inputs (nodeConfigInputs), rendered once by the caller. */
function configHashOf(inputs: Record<string, string>): string {
  const pairs = Object.keys(inputs)
    .sort()
    .map((k) => [k, inputs[k]]);
  return createHash("sha256").update(JSON.stringify(pairs)).digest("hex");
}

const controlPlanes = (cfg: StackConfig) => cfg.nodes.filter((n) => n.role === "controlplane");

/**
 * The talos phase: secrets, schematic, talosconfig, the upgrade path's steps (plan/upgrades.ts),
 * then every node's apply, rendered for the target, after the last hop: upgrade-k8s has then
 * written the same Kubernetes versions the apply renders, so it stays a no-op for them.
 * `renewals`: the certificate renewal counts (plan/renewal.ts), inputs of the minting steps.
 */
export function talosSteps(cfg: StackConfig, renewals: Renewals = NO_RENEWALS, path: CompletedPath = NO_PATH): Step[] {
  const cps = controlPlanes(cfg).map((n) => n.address);
  const steps: Step[] = [
    commandStep(cfg, {
      id: stepIds.secrets,
      phase: "talos",
      description: `Talos secrets bundle from 1Password '${cfg.onepassword.talosSecretsItem}' (minted once if absent and every node is in maintenance mode)`,
      dependsOn: [],
      script: "secrets-bundle",
      env: {
        OP_VAULT: cfg.onepassword.vault,
        OP_ITEM: cfg.onepassword.talosSecretsItem,
        OP_FIELD: cfg.onepassword.talosSecretsField,
      },
      secretStdout: true,
      onePasswordAuth: true,
      argv: talosctl.genSecrets(),
    }),
    commandStep(cfg, {
      id: stepIds.schematic,
      phase: "talos",
      description: `register schematic ${schematicId(cfg)} with Image Factory (extensions and kernel args of the installer image)`,
      dependsOn: [],
      script: "register-schematic",
      env: {
        SCHEMATIC_YAML: schematicYaml(cfg),
        SCHEMATIC_ID: schematicId(cfg),
        IMAGE_FACTORY: "https://factory.talos.dev",
      },
    }),
    commandStep(cfg, {
      id: stepIds.talosconfig,
      phase: "talos",
      description: "talosconfig for the operator (secret output)",
      dependsOn: [stepIds.secrets],
      script: "talosconfig",
      env: {
        CLUSTER_NAME: cfg.cluster.name,
        CLUSTER_ENDPOINT: cfg.cluster.endpoint,
        TALOS_ENDPOINTS: cps.join(" "),
        TALOS_NODES: cps.join(" "),
        ...renewalEnv(renewals.talosconfig),
      },
      stdinFrom: "talos-secrets",
      secretStdout: true,
      argv: talosctl.genTalosconfig(),
    }),
  ];
  const upgrades = upgradeSteps(cfg, path);
  steps.push(...upgrades);
  const afterUpgrades = upgrades.length ? [upgrades[upgrades.length - 1].id] : [];
  for (const node of cfg.nodes) {
    // Rendered once: the node's patch YAML is most of the plan's CPU on every run.
    const inputs = nodeConfigInputs(cfg, node);
    const configHash = configHashOf(inputs);
    steps.push(
      commandStep(cfg, {
        id: stepIds.apply(node.hostname),
        phase: "talos",
        node: node.hostname,
        description: `configure ${node.hostname} (${node.address}): generate, validate, apply (one configured node at a time), confirm it runs the config`,
        dependsOn: [stepIds.secrets, stepIds.schematic, ...afterUpgrades],
        script: "apply-node",
        deleteScript: "node-reset",
        env: {
          ...inputs,
          CONFIG_SHA256: configHash,
          // operations.reapply: the explicit way back from drift. The apply runs again once (its
          // dry run finds the hand-made change and applies the stack's config); absent otherwise.
          ...(cfg.operations.reapply.includes(node.hostname) ? { REAPPLY: "requested" } : {}),
        },
        stdinFrom: "talos-secrets",
        configHash,
        argv: talosctl.applyAuthenticated("${NODE_ADDRESS}"),
      }),
    );
  }
  return steps;
}

export function clusterSteps(cfg: StackConfig, renewals: Renewals = NO_RENEWALS): Step[] {
  const boot = cfg.nodes.find((n) => n.bootstrap);
  if (!boot) throw new Error("no bootstrap node (config validation should have caught this)");
  const clusterEnv = { CLUSTER_NAME: cfg.cluster.name, CLUSTER_ENDPOINT: cfg.cluster.endpoint };
  return [
    commandStep(cfg, {
      id: stepIds.bootstrap,
      phase: "cluster",
      node: boot.hostname,
      description: `bootstrap etcd on ${boot.hostname} when no control plane's etcd serves members (once for the cluster's life)`,
      dependsOn: cfg.nodes.map((n) => stepIds.apply(n.hostname)),
      script: "bootstrap",
      env: { ...clusterEnv, BOOTSTRAP_HOSTNAME: boot.hostname, BOOTSTRAP_ADDRESS: boot.address },
      stdinFrom: "talos-secrets",
      argv: talosctl.bootstrap("${BOOTSTRAP_ADDRESS}"),
    }),
    commandStep(cfg, {
      id: stepIds.kubeconfig,
      phase: "cluster",
      description: "fetch the admin kubeconfig from a control plane (secret output)",
      dependsOn: [stepIds.bootstrap],
      script: "kubeconfig",
      env: { ...clusterEnv, ...renewalEnv(renewals.kubeconfig) },
      stdinFrom: "talos-secrets",
      secretStdout: true,
      argv: talosctl.kubeconfig("${CONTROL_PLANE_ADDRESS}"),
    }),
    commandStep(cfg, {
      id: stepIds.apiReady,
      phase: "cluster",
      description: `wait until the API answers through ${cfg.cluster.endpoint} and every node registered`,
      dependsOn: [stepIds.kubeconfig],
      script: "api-ready",
      env: { CLUSTER_ENDPOINT: cfg.cluster.endpoint, EXPECTED_NODES: cfg.nodes.map((n) => n.hostname).join(" ") },
      stdinFrom: "kubeconfig",
    }),
  ];
}
