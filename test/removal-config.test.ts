/**
 * Removing a node is refused before anything runs when it is unsafe (config/removal.ts): judged
 * against the nodes the stack's last update deployed (its `nodes` output), never against guesses.
 */
import { strict as assert } from "assert";
import { parseStackConfig } from "../config/index";
import {
  DeployedNodes,
  deployedNodesFromOutputs,
  NO_DEPLOYED_NODES,
  nodesLeaving,
  removedNodesOutput,
} from "../config/removal";
import { ConfigError, RawConfig } from "../config/types";
import { homeOpsRawConfig } from "./helpers/badInputs";

type RawNode = { hostname: string; address: string; role: string; bootstrap?: boolean; [k: string]: unknown };

/** What the home-ops stack's `nodes` output holds after its first up (three control planes). */
const DEPLOYED: DeployedNodes = deployedNodesFromOutputs([
  { hostname: "mini01", address: "172.29.51.11", role: "controlplane", bootstrap: true, installerImage: "x" },
  { hostname: "mini02", address: "172.29.51.12", role: "controlplane", bootstrap: false, installerImage: "x" },
  { hostname: "mini03", address: "172.29.51.13", role: "controlplane", bootstrap: false, installerImage: "x" },
]);

/** The home-ops raw config with its nodes edited. */
function withNodes(edit: (nodes: RawNode[]) => RawNode[]): RawConfig {
  const raw = homeOpsRawConfig();
  raw.nodes = edit(raw.nodes as RawNode[]);
  return raw as RawConfig;
}

function problems(raw: RawConfig, deployed: DeployedNodes): string[] {
  try {
    parseStackConfig(raw, "home-ops", { deployed });
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return [...error.problems];
  }
  return [];
}

const without = (...hosts: string[]) => withNodes((nodes) => nodes.filter((n) => !hosts.includes(n.hostname)));

describe("config: removing nodes from a running stack", () => {
  it("reads the deployed nodes from the `nodes` output, skipping what this program did not write", () => {
    assert.deepEqual(
      DEPLOYED.nodes.map((n) => [n.hostname, n.role, n.bootstrap]),
      [
        ["mini01", "controlplane", true],
        ["mini02", "controlplane", false],
        ["mini03", "controlplane", false],
      ],
    );
    assert.deepEqual(deployedNodesFromOutputs(undefined), NO_DEPLOYED_NODES);
    assert.deepEqual(
      deployedNodesFromOutputs(
        [
          { hostname: "a", address: "1", role: "worker" },
          { hostname: "b" },
          "c",
          { hostname: "d", address: "2", role: "x" },
        ],
        ["old", 3],
      ),
      { nodes: [{ hostname: "a", address: "1", role: "worker" }], removed: ["old"] },
    );
  });

  it("a node dropped from homeops:nodes is leaving; one kept or re-added is not", () => {
    assert.deepEqual(
      nodesLeaving(DEPLOYED, ["mini01", "mini02"]).map((n) => n.hostname),
      ["mini03"],
    );
    assert.deepEqual(nodesLeaving(DEPLOYED, ["mini01", "mini02", "mini03", "mini04"]), []);
    assert.deepEqual(nodesLeaving(NO_DEPLOYED_NODES, ["mini01"]), []);
  });

  it("removedNodes accumulates the removed hostnames and forgets one that is back", () => {
    const earlier = { ...DEPLOYED, removed: ["mini09"] };
    assert.deepEqual(removedNodesOutput(earlier, ["mini01", "mini02"]), ["mini03", "mini09"]);
    assert.deepEqual(removedNodesOutput(earlier, ["mini01", "mini02", "mini03", "mini09"]), []);
  });

  it("accepts removing one control plane (not the bootstrap node)", () => {
    assert.deepEqual(problems(without("mini03"), DEPLOYED), []);
  });

  it("without previous outputs (new stack, lost state) nothing counts as removed", () => {
    assert.deepEqual(problems(without("mini02", "mini03"), NO_DEPLOYED_NODES), []);
  });

  it("refuses two control planes in one change, naming both and the fix", () => {
    const found = problems(without("mini02", "mini03"), DEPLOYED);
    assert.equal(found.length, 1, found.join("\n"));
    assert.match(found[0], /^homeops:nodes = .*removes 2 control planes in one change \(mini02, mini03\)/);
    assert.match(found[0], /remove one control plane per change/);
  });

  it("refuses removing the last control plane that is an etcd member (all replaced by new ones at once)", () => {
    const deployed = deployedNodesFromOutputs([
      { hostname: "mini01", address: "172.29.51.11", role: "controlplane", bootstrap: true },
      { hostname: "mini02", address: "172.29.51.12", role: "worker", bootstrap: false },
      { hostname: "mini03", address: "172.29.51.13", role: "worker", bootstrap: false },
    ]);
    // mini01 goes; mini02 becomes the bootstrap control plane: no etcd member stays.
    const raw = withNodes((nodes) =>
      nodes
        .filter((n) => n.hostname !== "mini01")
        .map((n) => (n.hostname === "mini02" ? { ...n, bootstrap: true } : n)),
    );
    const found = problems(raw, deployed);
    assert.equal(found.length, 1, found.join("\n"));
    assert.match(found[0], /removes mini01, and no control plane that is already an etcd member stays/);
  });

  it("refuses removing the bootstrap node without moving the mark, and accepts it with the mark moved", () => {
    const found = problems(without("mini01"), DEPLOYED);
    assert.ok(
      found.some((p) =>
        /removes mini01, the node marked bootstrap: true, without moving the mark.*\(mini02 or mini03\)/.test(p),
      ),
      found.join("\n"),
    );
    const moved = withNodes((nodes) =>
      nodes
        .filter((n) => n.hostname !== "mini01")
        .map((n) => (n.hostname === "mini02" ? { ...n, bootstrap: true } : n)),
    );
    assert.deepEqual(problems(moved, DEPLOYED), []);
  });

  it("the reset list may name the node this change removes; a node removed earlier only warns; a typo is refused", () => {
    const listing = (names: string[], deployed: DeployedNodes, drop: string[] = ["mini03"]) => {
      const raw = without(...drop) as Record<string, unknown>;
      raw.operations = { resetOnDestroy: names };
      return { raw: raw as RawConfig, deployed };
    };
    const now = listing(["mini03"], DEPLOYED);
    assert.deepEqual(problems(now.raw, now.deployed), []);
    const afterRemoval = deployedNodesFromOutputs(
      DEPLOYED.nodes.filter((n) => n.hostname !== "mini03"),
      ["mini03"],
    );
    const later = listing(["mini03"], afterRemoval);
    const { warnings } = parseStackConfig(later.raw, "home-ops", { deployed: later.deployed });
    assert.ok(
      warnings.some((w) => /resetOnDestroy\[0\] = "mini03": was removed from the cluster by an earlier update/.test(w)),
      warnings.join("\n"),
    );
    const typo = listing(["mini3"], DEPLOYED);
    assert.match(
      problems(typo.raw, typo.deployed).join("\n"),
      /"mini3": is not a configured node; allowed: mini01, mini02, mini03/,
    );
  });
});
