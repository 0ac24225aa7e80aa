/**
 * What an update does to a node leaving the stack, as the preview says and the offline render
 * writes it (plan/removal.ts): per node, in order, the etcd and Kubernetes steps of its removal,
 * the reset only when operations.resetOnDestroy lists it (the wipe set of the stack's minor), and
 * the talosconfig endpoints that remain.
 */
import { strict as assert } from "assert";
import { parseStackConfig } from "../config/index";
import { DeployedNodes, deployedNodesFromOutputs } from "../config/removal";
import { RawConfig } from "../config/types";
import { describeRemoval, nodeRemovals } from "../plan/removal";
import { renderStackFiles } from "../render/files";
import { homeOpsRawConfig } from "./helpers/badInputs";

const DEPLOYED: DeployedNodes = deployedNodesFromOutputs([
  { hostname: "mini01", address: "172.29.51.11", role: "controlplane", bootstrap: true },
  { hostname: "mini02", address: "172.29.51.12", role: "controlplane", bootstrap: false },
  { hostname: "mini03", address: "172.29.51.13", role: "controlplane", bootstrap: false },
]);

function config(edit: (raw: Record<string, any>) => void, keep = false) {
  const raw = homeOpsRawConfig() as Record<string, any>;
  if (!keep) raw.nodes = (raw.nodes as { hostname: string }[]).filter((n) => n.hostname !== "mini03");
  edit(raw);
  return parseStackConfig(raw as RawConfig, "home-ops", { deployed: DEPLOYED }).config;
}

describe("plan: what a node's removal runs", () => {
  it("a control plane: forfeit, leave (or remove-member), cordon/drain/delete; no reset unless listed", () => {
    const cfg = config(() => undefined);
    const [r, ...more] = nodeRemovals(cfg, DEPLOYED);
    assert.equal(more.length, 0);
    assert.equal(r.step, "talos-apply-mini03");
    assert.deepEqual(r.actions, [
      "etcd forfeit-leadership on it",
      "etcd leave on it (when it does not answer: etcd remove-member <its id> through a remaining control plane)",
      "kubectl cordon, drain (not when it does not answer) and delete node",
      "no reset: it keeps running",
    ]);
    assert.equal(r.wipes, null);
    assert.deepEqual(r.endpointsAfter, ["172.29.51.11", "172.29.51.12"]);
    assert.match(
      describeRemoval(r),
      /^removing mini03 \(172\.29\.51\.13, control plane\) from the cluster: the delete of talos-apply-mini03 runs/,
    );
    assert.match(describeRemoval(r), /list it in homeops:operations\.resetOnDestroy/);
    assert.deepEqual(
      nodeRemovals(
        config(() => undefined, true),
        DEPLOYED,
      ),
      [],
      "nothing leaves",
    );
  });

  it("listed for reset: the wipe set of the stack's minor, never a user volume", () => {
    const cfg = config((raw) => (raw.operations = { ...(raw.operations ?? {}), resetOnDestroy: ["mini03"] }));
    const [r] = nodeRemovals(cfg, DEPLOYED);
    const expected =
      cfg.talos.minor === "v1.14" ? ["STATE", "EPHEMERAL", "ETCD", "CRI", "KUBELET", "LOG"] : ["STATE", "EPHEMERAL"];
    assert.deepEqual(r.wipes, expected);
    assert.match(r.actions[3], new RegExp(`^talosctl reset \\(wipes ${expected.join(", ")}; `));
    assert.doesNotMatch(describeRemoval(r), /resetOnDestroy/);
  });

  it("v1.14 wipes the dedicated system volumes too", () => {
    const listed = config((raw) => (raw.operations = { ...(raw.operations ?? {}), resetOnDestroy: ["mini03"] }));
    // (only the minor matters; a whole v1.14 stack needs other versions too)
    const cfg = { ...listed, talos: { ...listed.talos, minor: "v1.14" as const } };
    assert.deepEqual(nodeRemovals(cfg, DEPLOYED)[0].wipes, ["STATE", "EPHEMERAL", "ETCD", "CRI", "KUBELET", "LOG"]);
  });

  it("the offline render writes them in plan.json (with the previous outputs), and nothing without", () => {
    const cfg = config(() => undefined);
    const plan = JSON.parse(renderStackFiles(cfg, undefined, DEPLOYED).get("plan.json")!);
    assert.deepEqual(
      plan.removals.map((r: { hostname: string; step: string }) => [r.hostname, r.step]),
      [["mini03", "talos-apply-mini03"]],
    );
    assert.equal(JSON.parse(renderStackFiles(cfg).get("plan.json")!).removals, undefined);
  });
});
