/**
 * Nodes leaving the stack, judged against what the stack deployed before (its previous `nodes`
 * and `removedNodes` outputs, read by components/previousDeployment.ts). A node dropped from
 * `homeops:nodes` on a running cluster is taken out of etcd and Kubernetes by its removal step
 * (plan/removal.ts); these rules refuse, before anything runs, a change that would leave etcd
 * without a safe quorum or the cluster without its bootstrap mark, and one that gives a removed
 * node's address to another node in the same change. Pure.
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

/** What the stack's earlier updates deployed and removed (empty on a new stack or after lost state). */
export interface DeployedNodes {
  /** The nodes the last successful update configured (output `nodes`). */
  readonly nodes: readonly DeployedNode[];
  /** Nodes earlier updates took out of the cluster (output `removedNodes`). */
  readonly removed: readonly DeployedNode[];
}

export const NO_DEPLOYED_NODES: DeployedNodes = { nodes: [], removed: [] };

/** Why a hostname is leaving: dropped by this change, or taken out by an earlier update. */
export interface LeavingNode extends DeployedNode {
  /** Dropped from homeops:nodes by this change (false: removed by an earlier update). */
  readonly now: boolean;
}

/**
 * The nodes whose removal step the plan declares: every deployed node no longer in
 * `homeops:nodes` (removed by this change) and every node an earlier update removed (its step
 * stays declared, with the same inputs, so a second `up` changes nothing), unless the hostname is
 * back in `homeops:nodes`. Ordered as the outputs list them, each hostname once.
 */
export function nodesLeaving(deployed: DeployedNodes, hostnames: readonly string[]): LeavingNode[] {
  const kept = new Set(hostnames);
  const seen = new Set<string>();
  const out: LeavingNode[] = [];
  for (const [list, now] of [
    [deployed.nodes, true],
    [deployed.removed, false],
  ] as const) {
    for (const node of list) {
      if (kept.has(node.hostname) || seen.has(node.hostname)) continue;
      seen.add(node.hostname);
      out.push({ ...node, now });
    }
  }
  return out;
}

/** The leaving nodes for a config view (hostnames that passed their own checks). */
export function leavingOfView(view: ConfigView, deployed: DeployedNodes): LeavingNode[] {
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
 *   control plane's etcd serves members, talos/scripts/bootstrap.ts);
 * - a removed node's address given to another node in the same change: its removal would act on
 *   the new node (remove it in one change, add the other in the next).
 */
export function checkNodeRemoval(view: ConfigView, deployed: DeployedNodes, report: Report): void {
  const nodes = view.nodes ?? [];
  if (nodes.length === 0 || nodes.some((n) => n?.hostname === undefined)) return;
  const removed = leavingOfView(view, deployed).filter((n) => n.now);
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
  if (removedControlPlanes.length > 0 && stayingMembers.length === 0 && nodes.every((n) => n?.role !== undefined)) {
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
  for (const gone of removed) {
    const taker = nodes.find((n) => n?.address === gone.address);
    if (taker === undefined) continue;
    report.invalid(
      path,
      hostnames,
      `removes ${gone.hostname} (${gone.address}) and gives its address to ${taker.hostname ?? "another node"} in the same change: ` +
        `the removal would act on the node now at that address; remove ${gone.hostname} in one change (pulumi up), then add ${taker.hostname ?? "the new node"}`,
    );
  }
}
