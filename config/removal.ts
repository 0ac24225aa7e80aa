/**
 * Nodes leaving the stack, judged against what the stack deployed before (its previous `nodes`
 * output, read by components/previousDeployment.ts). A node dropped from `homeops:nodes` on a
 * running cluster is taken out of etcd and Kubernetes by the delete of its apply step
 * (talos/scripts/removal.ts); these rules refuse, before anything runs, a change that would leave
 * etcd without a safe quorum or the cluster without its bootstrap mark. Pure.
 */
import { keyPath, Report } from "./problems";
import type { ConfigView } from "./rules";

/** A node an earlier update of the stack deployed, as its outputs record it. */
export interface DeployedNode {
  readonly hostname: string;
  readonly address: string;
  readonly role: "controlplane" | "worker";
  /** `bootstrap: true` (undefined when the outputs predate the field). */
  readonly bootstrap?: boolean;
}

/** What the stack's last successful update deployed (empty on a new stack or after lost state). */
export interface DeployedNodes {
  /** The nodes the last successful update configured (output `nodes`). */
  readonly nodes: readonly DeployedNode[];
  /** Hostnames earlier updates removed from the cluster (output `removedNodes`). */
  readonly removed: readonly string[];
}

export const NO_DEPLOYED_NODES: DeployedNodes = { nodes: [], removed: [] };

/**
 * The `nodes` output of an earlier update (components/stack.ts writes it). An entry this program
 * did not write (no hostname, address or role) is skipped: it cannot be judged, and the removal
 * itself still refuses at run time what is unsafe (the delete script checks etcd).
 */
export function deployedNodesFromOutputs(nodes: unknown, removedNodes?: unknown): DeployedNodes {
  const removed = Array.isArray(removedNodes) ? removedNodes.filter((h): h is string => typeof h === "string") : [];
  if (!Array.isArray(nodes)) return { nodes: [], removed };
  const out: DeployedNode[] = [];
  for (const n of nodes as unknown[]) {
    if (typeof n !== "object" || n === null) continue;
    const { hostname, address, role, bootstrap } = n as Record<string, unknown>;
    if (typeof hostname !== "string" || typeof address !== "string") continue;
    if (role !== "controlplane" && role !== "worker") continue;
    out.push({ hostname, address, role, ...(typeof bootstrap === "boolean" ? { bootstrap } : {}) });
  }
  return { nodes: out, removed };
}

/**
 * The `removedNodes` output of this update: every hostname an update of this stack removed from
 * the cluster (earlier ones and this change's), unless it is in homeops:nodes again. It lets a
 * reset-list entry for a node removed earlier be told from a typo.
 */
export function removedNodesOutput(deployed: DeployedNodes, hostnames: readonly string[]): string[] {
  const kept = new Set(hostnames);
  const all = [...deployed.removed, ...nodesLeaving(deployed, hostnames).map((n) => n.hostname)];
  return [...new Set(all)].filter((h) => !kept.has(h)).sort();
}

/** The deployed nodes no longer in `homeops:nodes` (this change removes them), in output order. */
export function nodesLeaving(deployed: DeployedNodes, hostnames: readonly string[]): DeployedNode[] {
  const kept = new Set(hostnames);
  return deployed.nodes.filter((n) => !kept.has(n.hostname));
}

/** The leaving nodes for a config view (hostnames that passed their own checks). */
export function leavingOfView(view: ConfigView, deployed: DeployedNodes): DeployedNode[] {
  const hostnames = (view.nodes ?? []).flatMap((n) => (n?.hostname === undefined ? [] : [n.hostname]));
  return nodesLeaving(deployed, hostnames);
}

const names = (nodes: readonly { hostname?: string }[]) => nodes.map((n) => n.hostname ?? "?").join(", ");

/**
 * The refusals (each on `homeops:nodes`, naming the nodes and the fix):
 * - more than one control plane removed in one change: etcd would lose two members at once
 *   (three members tolerate one missing, never two); remove one per `pulumi up`;
 * - a removal that keeps no control plane that is already an etcd member (the last control
 *   plane, or all of them replaced by new ones in one change);
 * - the node marked `bootstrap: true` removed without the mark moving to a node that stays
 *   (moving it never bootstraps again: the bootstrap step calls `talosctl bootstrap` only when no
 *   control plane's etcd serves members, talos/scripts/bootstrap.ts).
 * A hostname gone while its address stays in homeops:nodes is a rename, not a removal: the delete
 * script leaves etcd and Kubernetes alone then (talos/scripts/removal.ts).
 */
export function checkNodeRemoval(view: ConfigView, deployed: DeployedNodes, report: Report): void {
  const nodes = view.nodes ?? [];
  if (nodes.length === 0 || nodes.some((n) => n?.hostname === undefined)) return;
  const removed = leavingOfView(view, deployed);
  if (removed.length === 0) return;
  const path = keyPath(["nodes"]);
  const hostnames = nodes.map((n) => n?.hostname ?? null);
  const removedControlPlanes = removed.filter((n) => n.role === "controlplane");
  const wasMember = new Set(deployed.nodes.filter((n) => n.role === "controlplane").map((n) => n.hostname));
  const stayingMembers = nodes.filter((n) => n?.role === "controlplane" && wasMember.has(n.hostname ?? ""));

  if (removedControlPlanes.length > 1) {
    report.invalid(
      path,
      hostnames,
      `removes ${removedControlPlanes.length} control planes in one change (${names(removedControlPlanes)}): etcd would lose ` +
        `${removedControlPlanes.length} of its ${wasMember.size} members at once and, with one of the others down, its quorum; ` +
        `remove one control plane per change (keep all but one of them in homeops:nodes, pulumi up, then remove the next)`,
    );
  }
  if (removedControlPlanes.length > 0 && stayingMembers.length === 0) {
    report.invalid(
      path,
      hostnames,
      `removes ${names(removedControlPlanes)}, and no control plane that is already an etcd member stays: ` +
        "etcd and the Kubernetes API would go with it; keep at least one running control plane, and add a new one " +
        "in a change before the one that removes the last old one",
    );
  }
  const bootstrapRemoved = removed.find((n) => n.bootstrap === true);
  if (bootstrapRemoved !== undefined && !nodes.some((n) => n?.bootstrap === true)) {
    const candidates = stayingMembers.map((n) => n?.hostname ?? "?");
    report.invalid(
      path,
      hostnames,
      `removes ${bootstrapRemoved.hostname}, the node marked bootstrap: true, without moving the mark: set bootstrap: true ` +
        `on a control plane that stays${candidates.length ? ` (${candidates.join(" or ")})` : ""} in the same change; ` +
        "moving it never bootstraps etcd again (the bootstrap step sees etcd serving)",
    );
  }
}
