/**
 * What an update does to the nodes leaving `homeops:nodes` (config/removal.ts judged the change
 * safe): the engine deletes each one's apply step, whose delete script (talos/scripts/reset.ts and
 * removal.ts) takes it out of the cluster. A preview shows that delete as one step; this says what
 * it will run, node by node, so the preview and the offline render (plan.json `removals`) show the
 * removal before anything happens. Pure.
 */
import { DeployedNodes, nodesLeaving } from "../config/removal";
import { StackConfig } from "../config/types";
import { V114_SYSTEM_VOLUMES } from "../talos/talosctl";

export interface NodeRemoval {
  readonly hostname: string;
  readonly address: string;
  readonly role: "controlplane" | "worker";
  /** The step whose delete removes it. */
  readonly step: string;
  /** What the delete runs, in order. */
  readonly actions: readonly string[];
  /** The system volumes a reset wipes (operations.resetOnDestroy names it), else null: it keeps running. */
  readonly wipes: readonly string[] | null;
  /** The talosconfig's endpoints after the update (the control planes that stay). */
  readonly endpointsAfter: readonly string[];
}

/** The wipe set of a safe reset on the stack's Talos minor (talosctl.ts safeReset; never a user volume). */
export function wipeSet(cfg: StackConfig): string[] {
  return ["STATE", "EPHEMERAL", ...(cfg.talos.minor === "v1.14" ? V114_SYSTEM_VOLUMES : [])];
}

/** The removals this update carries out, in the order of the previous `nodes` output. */
export function nodeRemovals(cfg: StackConfig, deployed: DeployedNodes): NodeRemoval[] {
  const endpointsAfter = cfg.nodes.filter((n) => n.role === "controlplane").map((n) => n.address);
  return nodesLeaving(
    deployed,
    cfg.nodes.map((n) => n.hostname),
  ).map((n) => {
    const reset = cfg.operations.resetOnDestroy.includes(n.hostname);
    const actions = [
      ...(n.role === "controlplane"
        ? [
            "etcd forfeit-leadership on it",
            "etcd leave on it (when it does not answer: etcd remove-member <its id> through a remaining control plane)",
          ]
        : []),
      "kubectl cordon, drain (not when it does not answer) and delete node",
      reset
        ? `talosctl reset (wipes ${wipeSet(cfg).join(", ")}; reboots into maintenance mode)`
        : "no reset: it keeps running",
    ];
    return {
      hostname: n.hostname,
      address: n.address,
      role: n.role,
      step: `talos-apply-${n.hostname}`,
      actions,
      wipes: reset ? wipeSet(cfg) : null,
      endpointsAfter,
    };
  });
}

/** One sentence per removal, for the preview. */
export function describeRemoval(r: NodeRemoval): string {
  return (
    `removing ${r.hostname} (${r.address}, ${r.role === "controlplane" ? "control plane" : "worker"}) from the cluster: ` +
    `the delete of ${r.step} runs, under the rolling lock: ${r.actions.join("; ")}; ` +
    `the talosconfig's endpoints become ${r.endpointsAfter.join(", ")}` +
    (r.wipes === null ? ` (to reset it too, list it in homeops:operations.resetOnDestroy)` : "")
  );
}
