import { strict as assert } from "assert";
import { parseStackConfig } from "../config/index";
import { parsePreviousDeployment, PreviousDeployment } from "../config/previousDeployment";
import { ConfigError, RawConfig } from "../config/types";
import { talosctlSetting } from "../config/upgradeRules";
import { homeOpsRawConfig } from "./helpers/badInputs";

const A = "a".repeat(64);

/** The home-ops cluster as an earlier update left it: every node on v1.10.5 + Kubernetes 1.31.1. */
function ranBefore(
  talos = "v1.10.5",
  kubernetes = "v1.31.1",
  perNode: Record<string, string> = {},
): PreviousDeployment {
  const node = (h: string) => ({ version: perNode[h] ?? talos, schematic: A });
  return parsePreviousDeployment({
    phasesDeclared: ["talos", "cluster"],
    phasesCompleted: ["talos", "cluster"],
    running: { talos: { mini01: node("mini01"), mini02: node("mini02"), mini03: node("mini03") }, kubernetes },
  });
}

function upgradeTo(talos: string, kubernetes: string, talosctls?: Record<string, string>) {
  const raw = homeOpsRawConfig();
  raw.talos.version = talos;
  raw.kubernetes.version = kubernetes;
  if (talosctls) raw.talos.talosctls = talosctls;
  // Cilium 1.19 runs every Kubernetes on the way to 1.34 (compatibility.json); 1.17.6 stops at 1.32.
  if (Number(kubernetes.split(".")[1]) > 32) raw.cilium.version = "1.19.3";
  return raw;
}

function problems(raw: RawConfig, previous?: PreviousDeployment): string[] {
  try {
    parseStackConfig(raw, "home-ops", { previous });
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return [...e.problems];
  }
  return [];
}

describe("config: the upgrade from what runs (config/upgradeRules.ts)", () => {
  it("a path needing a talosctl minor the stack does not name is a validation error naming the minor and its hops", () => {
    const found = problems(upgradeTo("v1.14.1", "v1.34.1"), ranBefore());
    assert.equal(found.length, 1, found.join("\n"));
    assert.match(found[0], /^homeops:talos\.talosctls/);
    assert.match(found[0], /runs talosctl v1\.12 \(Talos v1\.10\.5 → v1\.12\.6; Kubernetes v1\.31\.1 → v1\.32\.13\)/);
    assert.match(found[0], /homeops:talos\.talosctls\["v1\.12"\] to a talosctl v1\.12\.x/);
  });

  it("with a talosctl named for every minor the path runs, the upgrade validates and the config carries them", () => {
    const raw = upgradeTo("v1.14.1", "v1.34.1", { "v1.12": "talosctl-1.12" });
    assert.deepEqual(problems(raw, ranBefore()), []);
    const { config } = parseStackConfig(raw, "home-ops", { previous: ranBefore() });
    assert.deepEqual(config.talos.talosctls, { "v1.12": "talosctl-1.12" });
    assert.equal(talosctlSetting("v1.12"), "TALOSCTL_V1_12");
  });

  it("a new stack (nothing runs) needs no path and no other talosctl", () => {
    assert.deepEqual(problems(upgradeTo("v1.14.1", "v1.34.1")), []);
    assert.deepEqual(problems(upgradeTo("v1.14.1", "v1.34.1"), parsePreviousDeployment(undefined)), []);
  });

  it("a path through versions the cluster's own components do not run on is refused, naming the hop", () => {
    const raw = upgradeTo("v1.14.1", "v1.34.1", { "v1.12": "talosctl-1.12" });
    raw.cilium.version = "1.17.6";
    assert.match(problems(raw, ranBefore()).join("\n"), /hop 4 of 5.*Cilium 1\.17\.6 does not fit/);
  });

  it("refuses a target no path reaches, at the key and naming why", () => {
    const down = problems(upgradeTo("v1.10.5", "v1.31.1"), ranBefore("v1.12.6", "v1.32.1"));
    assert.equal(down.length, 1, down.join("\n"));
    assert.match(down[0], /^homeops:talos\.version.*never downgrades Talos/);
    const noPatch = problems(upgradeTo("v1.12.6", "v1.31.1"), ranBefore("v1.10.5", "v1.28.3"));
    assert.equal(noPatch.length, 1, noPatch.join("\n"));
    assert.match(
      noPatch[0],
      /^homeops:kubernetes\.version = "v1\.31\.1": no upgrade path .*no known Kubernetes 1\.29 patch/,
    );
  });

  it("refuses outputs that record different versions per node (never guesses which to start from)", () => {
    const found = problems(upgradeTo("v1.12.6", "v1.31.1"), ranBefore("v1.10.5", "v1.31.1", { mini02: "v1.11.5" }));
    assert.equal(found.length, 1, found.join("\n"));
    assert.match(found[0], /different Talos versions or schematics per node.*mini02: v1\.11\.5/);
  });

  it("homeops:talos.talosctls is a map of supported minor to executable, never the target minor", () => {
    const bad = problems(upgradeTo("v1.10.5", "v1.31.1", { "v1.9": "talosctl-1.9" }));
    assert.match(bad.join("\n"), /talos\.talosctls.*must be a supported Talos minor/);
    const target = problems(upgradeTo("v1.10.5", "v1.31.1", { "v1.10": "talosctl-1.10" }));
    assert.match(target.join("\n"), /talos\.talosctls\["v1\.10"\].*set homeops:talos\.talosctl instead/);
  });
});
