import { strict as assert } from "assert";
import { NEW_STACK, parsePreviousDeployment, PreviousOutputsUnreadable } from "../config/previousDeployment";

const A = "a".repeat(64);
const B = "b".repeat(64);

describe("previous deployment (config/previousDeployment.ts)", () => {
  it("a new stack (no outputs) has nothing running and no path", () => {
    assert.deepEqual(parsePreviousDeployment(undefined), NEW_STACK);
    assert.equal(NEW_STACK.running, undefined);
  });

  it("reads the running versions per node and the last completed path", () => {
    const hop = {
      kind: "talos",
      from: "v1.10.5",
      to: "v1.12.6",
      minor: "v1.12",
      fromSchematic: A,
      schematic: B,
      kubernetes: "v1.31.1",
    };
    const p = parsePreviousDeployment({
      phasesDeclared: ["talos", "cluster"],
      phasesCompleted: ["talos", "cluster"],
      running: { talos: { mini01: { version: "v1.12.6", schematic: B } }, kubernetes: "1.31.1" },
      upgradePath: { nodes: ["mini01"], hops: [hop] },
    });
    assert.deepEqual(p.running, { talos: { mini01: { version: "v1.12.6", schematic: B } }, kubernetes: "v1.31.1" });
    assert.deepEqual(p.lastPath, { nodes: ["mini01"], hops: [hop] });
    assert.deepEqual(p.phasesCompleted, ["talos", "cluster"]);
  });

  it("reads what an older program wrote (one version for every node listed)", () => {
    const p = parsePreviousDeployment({
      phasesCompleted: ["talos"],
      talosVersion: "v1.10.5",
      schematicId: A,
      kubernetesVersion: "v1.31.1",
      nodes: [{ hostname: "mini01" }, { hostname: "mini02" }],
    });
    assert.deepEqual(p.running, {
      talos: { mini01: { version: "v1.10.5", schematic: A }, mini02: { version: "v1.10.5", schematic: A } },
      kubernetes: "v1.31.1",
    });
    assert.deepEqual(p.lastPath, { nodes: [], hops: [] });
  });

  it("the component versions only of the phases that completed", () => {
    const p = parsePreviousDeployment({
      phasesCompleted: ["talos", "cluster", "cni"],
      ciliumVersion: "1.17.6",
      fluxVersion: "2.8.0",
    });
    assert.deepEqual(p.deployed, { cilium: "1.17.6" });
  });

  it("refuses outputs it cannot read, naming the output, never guessing", () => {
    const bad: [unknown, RegExp][] = [
      [{ running: { talos: { mini01: { version: "1.10", schematic: A } }, kubernetes: "v1.31.1" } }, /running.*mini01/],
      [{ running: { talos: { mini01: { version: "v1.10.5", schematic: "x" } }, kubernetes: "v1.31.1" } }, /schematic/],
      [{ running: { talos: {}, kubernetes: 31 } }, /Kubernetes version/],
      [{ talosVersion: "v1.10.5", schematicId: A, kubernetesVersion: "v1.31.1", nodes: "x" }, /'nodes'/],
      [{ upgradePath: { nodes: [], hops: [{ kind: "talos", from: "v1.10.5" }] } }, /upgradePath.*hop 1/],
      [{ upgradePath: { nodes: [], hops: [{ kind: "other" }] } }, /neither a talos nor a kubernetes hop/],
    ];
    for (const [outputs, message] of bad) {
      assert.throws(
        () => parsePreviousDeployment(outputs),
        (e: unknown) => e instanceof PreviousOutputsUnreadable && message.test(e.message),
        JSON.stringify(outputs),
      );
    }
  });
});
