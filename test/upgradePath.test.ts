import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import {
  CATALOGUE,
  describeHop,
  Hop,
  PathQuery,
  planUpgradePath,
  talosctlMinorsOf,
  VersionCatalogue,
} from "../config/upgradePath";
import { SUPPORTED_TALOS_MINORS } from "../config/types";

const A = "a".repeat(64);
const B = "b".repeat(64);

function query(running: [string, string], target: [string, string], extra: Partial<PathQuery> = {}): PathQuery {
  return {
    running: { talos: running[0], schematic: A, kubernetes: running[1] },
    target: { talos: target[0], schematic: A, kubernetes: target[1] },
    kubernetesRuns: true,
    companions: [],
    ...extra,
  };
}

function hopsOf(q: PathQuery, cat?: VersionCatalogue): string[] {
  const r = planUpgradePath(q, cat);
  assert.ok(r.ok, r.ok ? "" : r.refusal.message);
  return r.hops.map(describeHop);
}

function refusalOf(q: PathQuery, cat?: VersionCatalogue) {
  const r = planUpgradePath(q, cat);
  assert.ok(!r.ok, "expected a refusal");
  return r.refusal;
}

describe("upgrade path (config/upgradePath.ts)", () => {
  it("the issue's example: v1.10.5 + 1.31 → v1.14.1 + 1.34 interleaves so every pair is supported", () => {
    assert.deepEqual(hopsOf(query(["v1.10.5", "v1.31.1"], ["v1.14.1", "v1.34.1"])), [
      "Talos v1.10.5 → v1.12.6",
      "Kubernetes v1.31.1 → v1.32.13",
      "Talos v1.12.6 → v1.14.1",
      "Kubernetes v1.32.13 → v1.33.13",
      "Kubernetes v1.33.13 → v1.34.1",
    ]);
  });

  it("every intermediate (Talos, Kubernetes) pair is in the Talos minor's range, and every hop is allowed", () => {
    const r = planUpgradePath(query(["v1.10.5", "v1.31.1"], ["v1.14.1", "v1.37.0"]));
    assert.ok(r.ok);
    let talos = "v1.10.5";
    let kube = "v1.31.1";
    for (const h of r.hops) {
      if (h.kind === "talos") {
        assert.equal(h.from, talos);
        const entry = CATALOGUE.talos[h.minor];
        assert.ok(Number(talos.split(".")[1]) >= Number(entry.upgradeableFrom.split(".")[1]), describeHop(h));
        talos = h.to;
      } else {
        assert.equal(h.from, kube);
        assert.equal(Number(h.to.split(".")[1]), Number(kube.split(".")[1]) + 1, `one minor: ${describeHop(h)}`);
        kube = h.to;
      }
      const range = CATALOGUE.talos[`v1.${talos.split(".")[1]}`].kubernetes;
      const k = Number(kube.split(".")[1]);
      assert.ok(k >= Number(range.min.split(".")[1]) && k <= Number(range.max.split(".")[1]), `${talos} + ${kube}`);
    }
    assert.deepEqual([talos, kube], ["v1.14.1", "v1.37.0"]);
  });

  it("fewest hops: straight to the newest minor the installer allows (1.13 from 1.11, not through 1.12)", () => {
    assert.deepEqual(hopsOf(query(["v1.11.5", "v1.31.1"], ["v1.13.9", "v1.31.1"])), ["Talos v1.11.5 → v1.13.9"]);
  });

  it("tie-break: among paths as short, the Talos hop comes first", () => {
    // Both orders are two supported hops (1.12 and 1.13 run 1.31 and 1.32).
    assert.deepEqual(hopsOf(query(["v1.12.6", "v1.31.1"], ["v1.13.9", "v1.32.2"])), [
      "Talos v1.12.6 → v1.13.9",
      "Kubernetes v1.31.1 → v1.32.2",
    ]);
  });

  it("nothing to do when what runs is the target; a patch is one hop; a schematic change alone is an upgrade to the same version", () => {
    assert.deepEqual(hopsOf(query(["v1.10.5", "v1.31.1"], ["v1.10.5", "v1.31.1"])), []);
    assert.deepEqual(hopsOf(query(["v1.12.1", "v1.32.1"], ["v1.12.6", "v1.32.4"])), [
      "Talos v1.12.1 → v1.12.6",
      "Kubernetes v1.32.1 → v1.32.4",
    ]);
    const q = query(["v1.12.6", "v1.32.1"], ["v1.12.6", "v1.32.1"]);
    const r = planUpgradePath({ ...q, target: { ...q.target, schematic: B } });
    assert.ok(r.ok);
    assert.deepEqual(
      r.hops.map((h) => h.kind === "talos" && [h.from, h.to, h.fromSchematic, h.schematic]),
      [["v1.12.6", "v1.12.6", A, B]],
    );
  });

  it("a new schematic rides on the first Talos hop (no separate hop)", () => {
    const q = query(["v1.10.5", "v1.31.1"], ["v1.12.6", "v1.31.1"]);
    const r = planUpgradePath({ ...q, target: { ...q.target, schematic: B } });
    assert.ok(r.ok);
    assert.equal(r.hops.length, 1);
    assert.equal((r.hops[0] as Extract<Hop, { kind: "talos" }>).schematic, B);
  });

  it("before the cluster ran, only the Talos hops are planned (the configs simply carry the target Kubernetes)", () => {
    assert.deepEqual(hopsOf(query(["v1.10.5", "v1.31.1"], ["v1.12.6", "v1.33.1"], { kubernetesRuns: false })), [
      "Talos v1.10.5 → v1.12.6",
    ]);
  });

  it("refuses a downgrade of Talos or of Kubernetes, naming what runs", () => {
    const talos = refusalOf(query(["v1.12.6", "v1.31.1"], ["v1.10.5", "v1.31.1"]));
    assert.equal(talos.key, "talos.version");
    assert.match(talos.message, /older than the Talos v1\.12\.6 the cluster runs.*never downgrades/);
    const kube = refusalOf(query(["v1.12.6", "v1.32.1"], ["v1.12.6", "v1.31.1"]));
    assert.equal(kube.key, "kubernetes.version");
    assert.match(kube.message, /below the Kubernetes v1\.32\.1 the cluster runs/);
  });

  it("refuses a target no path reaches, naming the hop that breaks and why", () => {
    // 1.28 → 1.29 needs a 1.29 patch the catalogue does not list.
    const missing = refusalOf(query(["v1.10.5", "v1.28.3"], ["v1.14.1", "v1.34.1"]));
    assert.equal(missing.key, "kubernetes.version");
    assert.match(missing.message, /no upgrade path from Talos v1\.10\.5 \+ Kubernetes v1\.28\.3/);
    assert.match(missing.message, /Kubernetes v1\.28\.3 → v1\.29\.0 .*no known Kubernetes 1\.29 patch.*upgrades\.json/);
    // Without v1.11 and v1.12 in the catalogue, no installer takes v1.10 further (1.13 needs ≥ 1.11).
    const noTwelve: VersionCatalogue = {
      ...CATALOGUE,
      talos: Object.fromEntries(Object.entries(CATALOGUE.talos).filter(([m]) => m !== "v1.11" && m !== "v1.12")),
    };
    const blocked = refusalOf(query(["v1.10.5", "v1.31.1"], ["v1.14.1", "v1.34.1"]), noTwelve);
    assert.equal(blocked.key, "talos.version");
    assert.match(blocked.message, /no sequence of Talos hops the installers allow/);
    // A running minor the program has no contract for.
    assert.match(refusalOf(query(["v1.9.6", "v1.31.1"], ["v1.12.6", "v1.31.1"])).message, /carries no contract/);
  });

  it("the talosctl minors a path runs: a Talos hop its own minor, upgrade-k8s the minor the nodes run", () => {
    const r = planUpgradePath(query(["v1.10.5", "v1.31.1"], ["v1.14.1", "v1.34.1"]));
    assert.ok(r.ok);
    assert.deepEqual(talosctlMinorsOf(r.hops), ["v1.12", "v1.14"]);
    const k = planUpgradePath(query(["v1.10.5", "v1.31.1"], ["v1.10.5", "v1.32.4"]));
    assert.ok(k.ok);
    assert.deepEqual(talosctlMinorsOf(k.hops), ["v1.10"]);
  });
});

describe("the version catalogue (upgrades.json)", () => {
  it("lists every supported minor with a source, and the installer's minimum host versions (NOTES §7.3)", () => {
    assert.deepEqual(Object.keys(CATALOGUE.talos).sort(), [...SUPPORTED_TALOS_MINORS].sort());
    for (const entry of [...Object.values(CATALOGUE.talos), ...Object.values(CATALOGUE.kubernetes)])
      assert.ok(entry.source.length > 20, JSON.stringify(entry));
    assert.equal(CATALOGUE.talos["v1.12"].upgradeableFrom, "v1.10.0");
    assert.equal(CATALOGUE.talos["v1.13"].upgradeableFrom, "v1.11.0");
    assert.equal(CATALOGUE.talos["v1.14"].upgradeableFrom, "v1.12.0");
    assert.deepEqual(CATALOGUE.talos["v1.12"].kubernetes, { min: "1.30", max: "1.35" });
    assert.deepEqual(CATALOGUE.talos["v1.13"].kubernetes, { min: "1.31", max: "1.36" });
    assert.deepEqual(CATALOGUE.talos["v1.14"].kubernetes, { min: "1.32", max: "1.37" });
  });

  it("each Talos minor's version is the one the project builds talosctl for (test/e2e/tools)", () => {
    for (const minor of SUPPORTED_TALOS_MINORS) {
      const gomod = fs.readFileSync(path.join(__dirname, "e2e", "tools", `talosctl-${minor}`, "go.mod"), "utf8");
      const built = /github\.com\/siderolabs\/talos (v\S+)/.exec(gomod)?.[1];
      assert.equal(CATALOGUE.talos[minor].version, built, minor);
    }
  });

  it("each Kubernetes entry is a patch of its own minor", () => {
    for (const [minor, entry] of Object.entries(CATALOGUE.kubernetes))
      assert.match(entry.version, new RegExp(`^v${minor.replace(".", "\\.")}\\.\\d+$`));
  });
});
